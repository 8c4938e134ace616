// The worker's own pages (README "Pages") in Debian's Chromium, clicked through like a person
// would, on a worker of their own started through `npm run dev` WITHOUT APP_URL, so the links in
// the mails point at these pages: (1) sign up, confirm from the dev mailbox, sign in; (2) two-factor
// from a QR code read off a screenshot, then sign-in with a code and with a recovery code; (3) a
// forgotten password; (4) one browser signs out another from /account; (5) journeys 1, 3 and 6
// with JavaScript off; (6) sign-in with a mailed code; (7) the account lifecycle: email change,
// deletion, invitation. Every page state is screenshotted (light, dark, 375 px) and scanned by
// axe-core.
import assert from 'node:assert/strict';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { verifiedUser } from '../lib/flows.mjs';
import { check } from '../lib/harness.mjs';
import { PASSWORD, client, expectStatus, uniqueEmail } from '../lib/http.mjs';
import { pageAudit, shotsDir } from '../lib/page-audit.mjs';
import { emailCodeJourney } from '../lib/page-email-code.mjs';
import { lifecycleJourney } from '../lib/page-lifecycle.mjs';
import { resetJourney, signUpJourney } from '../lib/page-journeys.mjs';
import { revokeJourney } from '../lib/page-revoke.mjs';
import { twoFactorJourney } from '../lib/page-two-factor.mjs';
import { startAuthWorker } from '../lib/worker.mjs';

/** A user made over the API, for the journeys that do not start at sign-up. */
async function apiUser(base, label) {
  const email = uniqueEmail(label);
  const res = await client(base).post('/auth/register', { email, password: PASSWORD, name: label });
  expectStatus(res, 201);
  return email;
}

/** The same, its address confirmed through the mailed link (to these pages: no APP_URL). */
const confirmedUser = async (base, label) => (await verifiedUser(base, label, base)).email;

/** Opens a page of a new hermetic context and counts the requests for the pages' script. */
async function browse(instance, options) {
  const { context } = await hermeticContext(instance, options);
  const scripts = [];
  context.on('request', (r) => r.url().endsWith('/pages.js') && scripts.push(r.url()));
  return { context, page: await context.newPage(), scripts };
}

export async function pages(ctx) {
  let worker;
  let verdicts;
  await check('a worker of its own via `npm run dev`, APP_URL unset', async () => {
    // ctx.authVars point mail links at a web client (APP_URL); here they must reach the pages.
    // An empty --var also wins over an APP_URL a developer's .dev.vars may set.
    worker = await startAuthWorker({
      name: 'pages',
      vars: {
        ...ctx.authVars,
        APP_URL: '',
        JWT_SIGNING_KEYS: JSON.stringify({ keys: [ctx.signingKey] }),
      },
    });
    ctx.cleanups.push(() => worker.stop());
    return worker.url;
  });
  const base = worker.url;
  const instance = await launchChromium(ctx);
  const audit = pageAudit();
  const js = await browse(instance);
  try {
    // Journeys 1 and 2: one browser, with JavaScript, every state captured.
    await js.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    const { email } = await signUpJourney({ ...js, base, capture: audit.capture });
    await twoFactorJourney({ ...js, base, email, capture: audit.capture });

    // Journey 3 in a fresh browser, as someone who forgot the password would come back.
    const reset = { ...(await browse(instance)), email: await apiUser(base, 'pages-reset') };
    await resetJourney({ ...reset, base, capture: audit.capture });

    await revokeJourney({
      first: await browse(instance),
      second: await browse(instance),
      base,
      email: await apiUser(base, 'pages-revoke'),
      appOrigin: ctx.appPage.origin,
    });

    // Journey 6: sign in with a mailed code (confirmed addresses only).
    const coded = { ...(await browse(instance)), email: await confirmedUser(base, 'pages-code') };
    await emailCodeJourney({ ...coded, base, capture: audit.capture });

    // Journey 7: change the email, delete the account, accept an invitation.
    const life = { ...(await browse(instance)), email: await apiUser(base, 'pages-life') };
    await lifecycleJourney({ ...life, base, persistTo: worker.persistTo, capture: audit.capture });
  } finally {
    // What was captured is written even when a journey stopped early.
    verdicts = audit.verdicts();
  }

  // Journey 5: journeys 1, 3 and 6 again in browsers that run no script at all.
  for (const journey of ['sign-up', 'reset', 'email code']) {
    const noJs = await browse(instance, { javaScriptEnabled: false });
    const tag = '[no JS] ';
    if (journey === 'sign-up') await signUpJourney({ ...noJs, base, tag });
    else if (journey === 'reset') {
      await resetJourney({ ...noJs, base, tag, email: await apiUser(base, 'pages-nojs') });
    } else {
      await emailCodeJourney({
        ...noJs,
        base,
        tag,
        email: await confirmedUser(base, 'pages-nojs'),
      });
    }
    await check(
      `${tag}the ${journey} journey ran without a script (the JS one fetched it)`,
      async () => {
        assert.ok(js.scripts.length > 0, 'with JavaScript the pages load /pages.js');
        assert.deepEqual(noJs.scripts, [], 'without, Chromium fetches no script');
      },
    );
  }

  await check('every page state fits 375 px without sideways scrolling', async () => {
    assert.deepEqual(verdicts.overflow, []);
    return `screenshots in ${shotsDir}`;
  });
  await check(
    `axe-core: no serious or critical violation (${verdicts.states} states, light and dark)`,
    async () => {
      assert.deepEqual(verdicts.serious, [], 'test-output/e2e/axe.json has the details');
      const counts = Object.entries(verdicts.byImpact).map(([impact, n]) => `${n} ${impact}`);
      return counts.length ? `others: ${counts.join(', ')}` : 'none at all';
    },
  );
  await instance.close();
  await worker.stop();
}
