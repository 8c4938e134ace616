// Passkeys (../shared/API.md, "Sign-in methods beyond the password") in Chromium with a
// virtual authenticator through the DevTools protocol's WebAuthn domain: resident keys, user
// verification, a real browser's ceremonies on the worker's own pages. The worker is reached at
// http://localhost:<port>, so its RP id is `localhost` (browsers refuse an IP address), which
// Chromium accepts on plain http as a secure context. A page served on another port, reached as
// localhost and as evil.localhost (an origin the worker allows), plays the sites that must not
// get a usable assertion.
import { check, freePort } from '../lib/harness.mjs';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { serveElsewhere } from '../lib/passkey-elsewhere.mjs';
import { forgeryRefusals } from '../lib/passkey-forgeries.mjs';
import { passkeyJourneys } from '../lib/passkey-journeys.mjs';
import { challengeRefusals, passkeyHolder } from '../lib/passkey-refusals.mjs';
import { startAuthWorker } from '../lib/worker.mjs';

export async function passkeys(ctx) {
  const s = {};
  await check(
    'a worker at http://localhost (RP id localhost); a page on another port',
    async () => {
      const port = await freePort();
      s.base = `http://localhost:${port}`;
      s.elsewhere = await serveElsewhere(await freePort());
      ctx.cleanups.push(() => s.elsewhere.close());
      s.worker = await startAuthWorker({
        name: 'passkeys',
        port,
        vars: {
          ...ctx.authVars,
          // The pages' own links (mail, landing) stay on this worker, reached as localhost.
          APP_URL: '',
          ISSUER: s.base,
          ALLOWED_ORIGINS: `${ctx.authVars.ALLOWED_ORIGINS},${s.elsewhere.origin('evil.localhost')}`,
          JWT_SIGNING_KEYS: JSON.stringify({ keys: [ctx.signingKey] }),
        },
      });
      ctx.cleanups.push(() => s.worker.stop());
      // The worker's own HTTP calls in checks go to the address it listens on.
      s.direct = s.worker.url;
      return `worker ${s.base}, elsewhere on port ${s.elsewhere.port}`;
    },
  );

  const instance = await launchChromium(ctx);
  s.browse = async (options) => {
    const { context } = await hermeticContext(instance, options);
    return { context, page: await context.newPage() };
  };

  await passkeyJourneys(s);
  const rex = await passkeyHolder(s, 'pk-rex');
  await challengeRefusals(s, rex);
  await forgeryRefusals(s, rex);
  await rex.tab.close();

  await instance.close();
  await s.worker.stop();
}
