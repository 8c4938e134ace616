// Sign-in with identity providers (README "Sign-in with identity providers") against real
// servers on 127.0.0.1: a certified OpenID Provider (node-oidc-provider, e2e/providers/
// oidc-op.mjs) whose login and consent pages Chromium fills in; a server speaking GitHub's OAuth
// app endpoints; an OP-like server that forges ID tokens; and an issuer where nothing listens.
// The worker is reached at http://localhost:<port> and the providers at http://127.0.0.1:<port>,
// so they are different sites to the browser, as a real provider is: the SameSite rules of the
// cookies (the Strict session, the None binding cookie) are the ones that hold in production.
import { check, freePort } from '../lib/harness.mjs';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { serveForgedOp } from '../lib/forged-op.mjs';
import { serveGitHub } from '../lib/github-server.mjs';
import { federationJourneys } from '../lib/federation-journeys.mjs';
import { linkingJourneys } from '../lib/federation-linking.mjs';
import { forgeryRefusals, opRefusals, providerDown } from '../lib/federation-refusals.mjs';
import { gitHubJourneys } from '../lib/federation-github.mjs';
import { startOidcOp } from '../lib/oidc-op.mjs';
import { uniqueEmail } from '../lib/http.mjs';
import { startAuthWorker } from '../lib/worker.mjs';

/** The OP's test accounts (the login typed on its page is the `sub`). */
function opAccounts() {
  const verified = (label, name) => ({ email: uniqueEmail(label), email_verified: true, name });
  return {
    ada: verified('fed-ada', 'Ada OP'),
    lin: verified('fed-lin', 'Lin OP'),
    rita: verified('fed-rita', 'Rita OP'),
    // Claims an address it has not verified; journey 4 registers a password account with it.
    uma: { email: uniqueEmail('fed-uma'), email_verified: false, name: 'Uma OP' },
    // Verified at the OP, but a password account that never confirmed it holds the address.
    vera: verified('fed-vera', 'Vera OP'),
  };
}

export async function federation(ctx) {
  const s = { accounts: opAccounts() };
  await check('servers on 127.0.0.1: oidc-provider, GitHub, a forging OP; the worker', async () => {
    const port = await freePort();
    s.base = `http://localhost:${port}`;
    s.op = await startOidcOp({
      redirectUri: `${s.base}/auth/oauth/op/callback`,
      accounts: s.accounts,
    });
    ctx.cleanups.push(() => s.op.stop());
    const ghClient = { clientId: 'Iv1.e2e', clientSecret: 'github-secret-e2e' };
    s.github = await serveGitHub(await freePort(), ghClient);
    ctx.cleanups.push(() => s.github.close());
    const forgerClient = { clientId: 'forger-client', clientSecret: 'forger-secret-e2e' };
    s.forged = await serveForgedOp(await freePort(), forgerClient);
    ctx.cleanups.push(() => s.forged.close());
    // Nothing ever listens here: discovery fails at the start.
    const offline = `http://127.0.0.1:${await freePort()}`;
    const providers = [
      { id: 'op', type: 'oidc', client_id: s.op.clientId, issuer: s.op.issuer, name: 'Test OP' },
      { id: 'github', type: 'github', client_id: ghClient.clientId, endpoints: s.github.endpoints },
      { id: 'forger', type: 'oidc', client_id: forgerClient.clientId, issuer: s.forged.issuer },
      { id: 'offline', type: 'oidc', client_id: 'offline', issuer: offline, name: 'Offline OP' },
    ];
    s.worker = await startAuthWorker({
      name: 'federation',
      port,
      vars: {
        ...ctx.authVars,
        // The pages' own links (mail, landing) stay on this worker, reached as localhost.
        APP_URL: '',
        ISSUER: s.base,
        JWT_SIGNING_KEYS: JSON.stringify({ keys: [ctx.signingKey] }),
        IDENTITY_PROVIDERS: JSON.stringify(providers),
        IDENTITY_PROVIDER_SECRETS: JSON.stringify({
          op: s.op.clientSecret,
          github: ghClient.clientSecret,
          forger: forgerClient.clientSecret,
          offline: 'never-used',
        }),
      },
    });
    ctx.cleanups.push(() => s.worker.stop());
    // The worker's own HTTP calls in checks go to the address it listens on.
    s.direct = s.worker.url;
    return `worker ${s.base}, OP ${s.op.issuer} (pid ${s.op.pid}), GitHub ${s.github.origin}`;
  });

  const instance = await launchChromium(ctx);
  s.browse = async (options) => {
    const { context } = await hermeticContext(instance, options);
    return { context, page: await context.newPage() };
  };

  await federationJourneys(s);
  await linkingJourneys(s);
  await opRefusals(s);
  await forgeryRefusals(s);
  await gitHubJourneys(s);
  // Last: it stops the OP.
  await providerDown(s);

  await instance.close();
  await s.worker.stop();
}
