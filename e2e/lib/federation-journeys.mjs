// The federation phase's journeys with the real OP, in Chromium: (1) a new account from the
// "Continue with Test OP" button, through the OP's login and consent and the landing page; what
// /account would get from a cross-site redirect chain without that page; (2) the same person
// again; (3) with two-factor on, the provider's word is not enough: the code is asked for.
// Journeys 4 and 5 are in federation-linking.mjs.
import assert from 'node:assert/strict';
import { accountOf, d1RowsViaWrangler, d1Snapshot, expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE, client, expectStatus } from './http.mjs';
import { login, mailTo, resetToken } from './flows.mjs';
import { continueWith, navigationTrail, settleOn, signInAtOp } from './federation-browser.mjs';
import { cookiesByName, expectLanding, expectStrictCookie, fillIn, press } from './page-user.mjs';
import { totpCodes } from './totp.mjs';

const signOut = async (page) => {
  const out = await press(page, 'Sign out', page.locator('header'));
  await expectLanding(page, out, { path: '/sign-in', heading: 'Sign in' });
};

export async function federationJourneys(s) {
  const { base, op, accounts } = s;
  const ada = accounts.ada;
  const { context, page } = await s.browse();
  const nav = navigationTrail(context, base);

  await check(
    '(1) "Continue with Test OP": OP login, consent, landing page, /account',
    async () => {
      const mark = nav.trail.length;
      await continueWith(page, base, 'Test OP');
      assert.match(await page.locator('h1').first().innerText(), /Sign-in/i, 'the OP login page');
      await signInAtOp(page, op, 'ada');
      await settleOn(page, base, '/account');
      assert.ok(
        await page.getByText(ada.email).first().isVisible(),
        'the account shows the address',
      );
      assert.ok(await page.getByText('(confirmed)').isVisible(), 'confirmed by the provider');
      const jar = await cookiesByName(context, base);
      expectStrictCookie(jar[REFRESH_COOKIE], REFRESH_COOKIE);
      const trail = nav.since(mark);
      assert.match(
        trail,
        /200 \/auth\/oauth\/op\/callback \(Refresh: 0; url=\/account\) -> 200 \/account/,
      );
      return trail;
    },
  );

  await check(
    '(1) D1: a new account without a password, email verified, one identity',
    async () => {
      // Through `wrangler d1 execute` once: it must agree with the direct reads used elsewhere.
      const viaWrangler = await accountOf(s.worker, ada.email, d1RowsViaWrangler);
      assert.deepEqual(await accountOf(s.worker, ada.email), viaWrangler);
      const { user, identities } = viaWrangler;
      assert.ok(user, 'the account exists');
      assert.equal(user.no_password, 1, 'no password');
      assert.equal(user.verified, 1, 'email verified');
      assert.deepEqual(identities, [
        { provider: 'op', subject: 'ada', email: ada.email, email_verified: 1 },
      ]);
      assert.ok(
        await page.locator('#identities').getByText('Test OP').isVisible(),
        'Linked accounts',
      );
    },
  );

  await check(
    'why the landing page: a navigation another site starts reaches /account signed out',
    async () => {
      // The OP's origin starts a navigation to /account, as the callback's 302 would continue a
      // chain the OP began: Chromium does not send the SameSite=Strict session cookie.
      const csrf = async () => (await cookiesByName(context, base))['__Host-csrf']?.value;
      const csrfBefore = await csrf();
      const other = await context.newPage();
      await other.goto(`${op.issuer}/.well-known/openid-configuration`);
      await Promise.all([
        other.waitForURL((u) => u.origin === base),
        other.evaluate((to) => (location.href = to), `${base}/account`),
      ]);
      await settleOn(other, base, '/sign-in');
      // /sign-in, not sent the Strict __Host-csrf cookie either, set a new one: the form token
      // of the /account page still open in the first tab no longer matches (see below).
      const rotated = (await csrf()) !== csrfBefore;
      // The same navigation started on the worker's own page arrives signed in.
      await Promise.all([
        other.waitForURL((u) => u.pathname === '/account'),
        other.evaluate(() => (location.href = '/account')),
      ]);
      await settleOn(other, base, '/account');
      await other.close();
      return `from 127.0.0.1 (the OP): /sign-in; from localhost (the worker): /account; __Host-csrf ${rotated ? 'replaced' : 'kept'} by the cross-site visit`;
    },
  );

  await check('(2) the same person again: no OP pages, the same account', async () => {
    // Reloaded for a form token that matches the browser's __Host-csrf cookie again.
    await page.goto(`${base}/account`);
    await signOut(page);
    const before = await d1Snapshot(s.worker);
    const mark = nav.trail.length;
    await continueWith(page, base, 'Test OP');
    await settleOn(page, base, '/account');
    const trail = nav.since(mark);
    assert.doesNotMatch(trail, /\/interaction\//, 'the OP remembered the login and the consent');
    const written = expectWritten(before, await d1Snapshot(s.worker), {
      sessions: 1,
      refresh_tokens: 1,
      'audit:login.succeeded': 1,
    });
    return `${written}; ${trail}`;
  });

  await check('(3) two-factor on: the provider sign-in then asks for the code', async () => {
    // A provider-made account has no password, and turning two-factor on asks for one: set it
    // by the reset mail first (README: "a reset can set one").
    const api = client(s.direct);
    expectStatus(await api.post('/auth/password/forgot', { email: ada.email }), 202);
    const token = resetToken(await mailTo(s.direct, ada.email, /reset/i), base);
    expectStatus(await api.post('/auth/password/reset', { token, new_password: PASSWORD }), 204);
    const { access_token } = await login(s.direct, ada.email);
    const setup = expectStatus(
      await api.post('/users/me/mfa/totp/setup', { password: PASSWORD }, { bearer: access_token }),
      200,
    );
    const code = totpCodes(setup.body.secret);
    expectStatus(
      await api.post('/users/me/mfa/totp/enable', { code: code() }, { bearer: access_token }),
      200,
    );

    const before = await d1Snapshot(s.worker);
    await continueWith(page, base, 'Test OP');
    await page.waitForURL((u) => u.pathname === '/auth/oauth/op/callback');
    assert.equal(
      (await page.locator('main h1').first().innerText()).trim(),
      'Two-factor authentication',
    );
    const asked = expectWritten(before, await d1Snapshot(s.worker), { mfa_challenges: 1 });
    await fillIn(page, { Code: code() });
    const res = await press(page, 'Verify');
    await expectLanding(page, res, { path: '/account', heading: 'Your account', text: ada.email });
    assert.ok(await page.getByText('On. Every sign-in asks for a code').isVisible());
    return `before the code: ${asked}`;
  });
  await context.close();
}
