// The passkeys phase's refusals of a challenge spent: (a) a real sign-in's form post sent again
// over HTTP, and its assertion to the API; (f) Chromium made to answer the same options twice;
// (g) one captured assertion sent twice at once (one wins). Each refusal is 401 invalid_passkey
// and D1 shows that nothing was written; the worker's log says why.
import assert from 'node:assert/strict';
import { expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE, expectStatus, request } from './http.mjs';
import { SAID, passkeyTab } from './passkey-browser.mjs';
import { passwordUser, REFUSED, refusedBecause, snapshot } from './passkey-state.mjs';
import { cookiesByName, expectLanding, signInWithPassword } from './page-user.mjs';

/** The API's answer to an assertion: POST /auth/passkey/verify. */
export const verifyOverApi = (s, response) =>
  request(s.direct, 'POST', '/auth/passkey/verify', { json: { response } });

export const expectInvalidPasskey = (res) => {
  expectStatus(res, 401, 'invalid_passkey');
  assert.equal(res.cookies.filter((c) => c.name === REFRESH_COOKIE).length, 0, 'no cookie');
};

/** A password user with a passkey added in a tab of their own, signed out: { ...user, tab }. */
export async function passkeyHolder(s, label) {
  const user = await passwordUser(s, label);
  const tab = await passkeyTab(s);
  const res = await signInWithPassword(tab.page, s.base, user.email, PASSWORD);
  await expectLanding(tab.page, res, { path: '/account' });
  await tab.addPasskey();
  await tab.signOut();
  return { ...user, tab };
}

export async function challengeRefusals(s, rex) {
  const { tab } = rex;
  const { page, context } = tab;

  await check(
    '(a) a replayed assertion: the form post again over HTTP, and to the API',
    async () => {
      const posted = page.waitForRequest(
        (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/sign-in/passkey',
      );
      await tab.signIn();
      const form = (await posted).postData();
      const csrf = (await cookiesByName(context, s.base))['__Host-csrf'].value;
      await tab.signOut();

      const before = await snapshot(s);
      const mark = s.worker.output().length;
      // The same body, cookie and Origin the browser sent: only the spent challenge stops it.
      const again = await request(s.direct, 'POST', '/sign-in/passkey', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: s.base },
        cookie: `__Host-csrf=${csrf}`,
        json: form,
      });
      assert.equal(again.status, 401, again.text.slice(0, 200));
      assert.ok(again.text.includes(SAID.refused), 'the page says the passkey could not be used');
      assert.equal(again.cookies.filter((c) => c.name === REFRESH_COOKIE).length, 0, 'no cookie');
      const why = await refusedBecause(s, mark);
      const assertion = JSON.parse(new URLSearchParams(form).get('response'));
      expectInvalidPasskey(await verifyOverApi(s, assertion));
      // Each refusal is audited (the form's and the API's), nothing else is written.
      const written = expectWritten(before, await snapshot(s), { 'audit:passkey.refused': 2 });
      return `${written}: "${why}"`;
    },
  );

  await check('(f) a challenge used twice: Chromium answers the same options again', async () => {
    const first = tab.options.at(-1);
    const before = await snapshot(s);
    const mark = s.worker.output().length;
    await page.goto(`${s.base}/sign-in`);
    const res = await tab.pressSignIn({ rewrite: () => first });
    await tab.expectRefused(res);
    assert.equal(tab.options.at(-1).challenge, first.challenge, 'the browser got the old one');
    const why = await refusedBecause(s, mark);
    return `${expectWritten(before, await snapshot(s), REFUSED)}: "${why}"`;
  });

  await check('(g) two parallel verifications of one challenge: exactly one signs in', async () => {
    const assertion = await tab.captureAssertion();
    const before = await snapshot(s);
    const mark = s.worker.output().length;
    const answers = await Promise.all([verifyOverApi(s, assertion), verifyOverApi(s, assertion)]);
    const statuses = answers.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401], answers.map((r) => r.text.slice(0, 120)).join(' | '));
    const won = answers.find((r) => r.status === 200);
    assert.equal(typeof won.body.access_token, 'string', 'the winner got tokens');
    expectInvalidPasskey(answers.find((r) => r.status === 401));
    const why = await refusedBecause(s, mark);
    const written = expectWritten(before, await snapshot(s), {
      sessions: 1,
      refresh_tokens: 1,
      'audit:login.succeeded': 1,
      'audit:passkey.used': 1,
      'audit:passkey.refused': 1,
    });
    return `${written}; the other: "${why}"`;
  });
}
