// The federation phase's GitHub journeys (OAuth 2 without OpenID Connect) against the local
// server of GitHub's documented endpoints: Chromium clicks "Continue with GitHub", signs in at
// "GitHub", authorizes, and lands signed in with the verified primary address; an account whose
// primary address GitHub has not verified is refused, even with another verified address.
import assert from 'node:assert/strict';
import { d1Snapshot, expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { REFRESH_COOKIE, uniqueEmail } from './http.mjs';
import { continueWith, expectRefusal, settleOn } from './federation-browser.mjs';
import { cookiesByName, fillIn, press } from './page-user.mjs';

/** At the GitHub server: sign in as `login`, then press Authorize. */
async function authorizeAtGitHub(page, github, login) {
  assert.equal(new URL(page.url()).origin, github.origin, page.url());
  await fillIn(page, { 'Username or email address': login });
  await press(page, 'Sign in');
  assert.match(await page.locator('h1').innerText(), /^Authorize/);
  await Promise.all([
    page.waitForURL((u) => u.origin !== github.origin),
    page.getByRole('button', { name: 'Authorize' }).click(),
  ]);
}

export async function gitHubJourneys(s) {
  const { base, github } = s;
  const octo = { login: 'octo-e2e', email: uniqueEmail('fed-github') };
  github.addUser({
    login: octo.login,
    name: 'Octo E2E',
    emails: [
      { email: uniqueEmail('fed-github-other'), primary: false, verified: true },
      { email: octo.email, primary: true, verified: true },
    ],
  });
  const unverified = { login: 'unverified-e2e', email: uniqueEmail('fed-github-unverified') };
  github.addUser({
    login: unverified.login,
    emails: [
      { email: unverified.email, primary: true, verified: false },
      { email: uniqueEmail('fed-github-secondary'), primary: false, verified: true },
    ],
  });

  await check(
    '"Continue with GitHub": sign in, Authorize, /account with the primary address',
    async () => {
      const before = await d1Snapshot(s.worker);
      const mark = github.requests.length;
      const { context, page } = await s.browse();
      await continueWith(page, base, 'GitHub');
      await authorizeAtGitHub(page, github, octo.login);
      await settleOn(page, base, '/account');
      assert.ok(await page.getByText(octo.email).first().isVisible(), page.url());
      assert.ok(await page.locator('#identities').getByText('GitHub').first().isVisible());
      assert.ok((await cookiesByName(context, base))[REFRESH_COOKIE]);
      await context.close();
      const calls = github.requests.slice(mark).filter((r) => !r.includes('authorize'));
      assert.deepEqual(calls.sort(), [
        'GET /api/v3/user',
        'GET /api/v3/user/emails',
        'POST /login/oauth/access_token',
      ]);
      const written = expectWritten(before, await d1Snapshot(s.worker), {
        users: 1,
        identities: 1,
        sessions: 1,
        refresh_tokens: 1,
        'audit:user.registered': 1,
        'audit:login.succeeded': 1,
      });
      return `${written}; the worker called ${calls.join(', ')}`;
    },
  );

  await check('GitHub with an unverified primary address: refused, nothing written', async () => {
    const before = await d1Snapshot(s.worker);
    const { context, page } = await s.browse();
    await continueWith(page, base, 'GitHub');
    await authorizeAtGitHub(page, github, unverified.login);
    const message = await expectRefusal(page, base, 'email_unverified');
    await context.close();
    return `${expectWritten(before, await d1Snapshot(s.worker))}: "${message}"`;
  });
}
