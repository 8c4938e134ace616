// The passkeys phase's refusals of what Chromium signs but the worker must not accept: (b) an
// assertion made on another origin; (c) one for another RP id from an allowed origin; (d) one
// without user verification; (e) one whose counter went backwards (a cloned authenticator).
// Each is 401 invalid_passkey without a session; the worker's log (and, for the proofs checked
// after the account is known, the audit trail) says why.
import assert from 'node:assert/strict';
import { expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { client, expectStatus } from './http.mjs';
import { virtualAuthenticator } from './passkey-browser.mjs';
import { expectInvalidPasskey, verifyOverApi } from './passkey-refusals.mjs';
import { lastRefusal, passkeyRows, REFUSED, refusedBecause, snapshot } from './passkey-state.mjs';

/** Failed proofs after the account was found: the lockout's failure and the passkey's refusal. */
const FAILED = { 'audit:login.failed': 1, 'audit:passkey.refused': 1 };

/** The client data the browser signed, decoded. */
const clientData = (assertion) =>
  JSON.parse(Buffer.from(assertion.response.clientDataJSON, 'base64url').toString());

/** Options from the worker's API, as a relaying phisher's server would fetch them. */
const apiOptions = async (s) =>
  expectStatus(await client(s.direct).post('/auth/passkey/options'), 200).body;

export async function forgeryRefusals(s, rex) {
  const { tab } = rex;
  const { page, authenticator } = tab;

  await check('(b) wrong origin: a page on another port of localhost, Chromium signs', async () => {
    const origin = s.elsewhere.origin('localhost');
    await page.goto(`${origin}/`);
    const assertion = await page.evaluate((o) => window.assertWith(o), await apiOptions(s));
    assert.equal(clientData(assertion).origin, origin, 'signed for the other origin');
    const before = await snapshot(s);
    const mark = s.worker.output().length;
    expectInvalidPasskey(await verifyOverApi(s, assertion));
    const why = await refusedBecause(s, mark);
    assert.equal(why, `origin not allowed: ${origin}`);
    return `${expectWritten(before, await snapshot(s), REFUSED)}: "${why}"`;
  });

  await check('(c) wrong RP id: an allowed origin asks for rpId evil.localhost', async () => {
    const origin = s.elsewhere.origin('evil.localhost');
    const preflight = await client(s.direct).options('/auth/passkey/verify', {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin, 'origin allowed');
    // The same key and credential id, scoped to evil.localhost in another browser's
    // authenticator: the worker finds the passkey, so only the RP id hash can refuse it.
    const [cred] = await authenticator.credentials();
    const other = await s.browse();
    const cloned = await virtualAuthenticator(other.context, other.page);
    await cloned.add({ ...cred, rpId: 'evil.localhost' });
    await other.page.goto(`${origin}/`);
    const options = { ...(await apiOptions(s)), rpId: 'evil.localhost' };
    const assertion = await other.page.evaluate((o) => window.assertWith(o), options);
    await other.context.close();
    assert.equal(clientData(assertion).origin, origin);
    const before = await snapshot(s);
    const mark = s.worker.output().length;
    expectInvalidPasskey(await verifyOverApi(s, assertion));
    const why = await refusedBecause(s, mark);
    assert.equal(why, 'wrong relying party id');
    assert.equal((await lastRefusal(s, rex.id)).reason, why, 'audited');
    return `${expectWritten(before, await snapshot(s), FAILED)}: "${why}"`;
  });

  await check(
    '(d) user verification absent: options rewritten to "discouraged", UV off',
    async () => {
      await authenticator.setVerified(false);
      const posted = page.waitForRequest(
        (r) => r.method() === 'POST' && new URL(r.url()).pathname === '/sign-in/passkey',
      );
      const before = await snapshot(s);
      const mark = s.worker.output().length;
      try {
        await page.goto(`${s.base}/sign-in`);
        const res = await tab.pressSignIn({
          rewrite: (options) => ({ ...options, userVerification: 'discouraged' }),
        });
        await tab.expectRefused(res);
      } finally {
        await authenticator.setVerified(true);
      }
      const form = new URLSearchParams((await posted).postData());
      const data = Buffer.from(
        JSON.parse(form.get('response')).response.authenticatorData,
        'base64url',
      );
      const flags = data[32];
      assert.equal(flags & 0x04, 0, 'UV clear in what Chromium signed');
      assert.equal(flags & 0x01, 1, 'UP set');
      const why = await refusedBecause(s, mark);
      assert.equal(why, 'user not verified');
      assert.equal((await lastRefusal(s, rex.id)).reason, why, 'audited');
      return `${expectWritten(before, await snapshot(s), FAILED)}: flags 0x${flags.toString(16)}, "${why}"`;
    },
  );

  await check('(e) counter regression: the credential re-added with older counts', async () => {
    const [earlier] = await authenticator.credentials();
    await tab.signIn();
    await tab.signOut();
    const [stored] = await passkeyRows(s, rex.id);
    const before = await snapshot(s);
    const received = [];
    // A clone taken before that use (it signs the stored count again), then an older one.
    for (const signCount of [earlier.signCount, earlier.signCount - 1]) {
      await authenticator.remove(earlier.credentialId);
      await authenticator.add({ ...earlier, signCount });
      const mark = s.worker.output().length;
      await page.goto(`${s.base}/sign-in`);
      await tab.expectRefused(await tab.pressSignIn());
      assert.equal(await refusedBecause(s, mark), 'counter_regression');
      const audited = await lastRefusal(s, rex.id);
      assert.equal(audited.reason, 'counter_regression');
      assert.equal(audited.stored, stored.sign_count, JSON.stringify(audited));
      received.push(audited.received);
    }
    assert.deepEqual(received, [stored.sign_count, stored.sign_count - 1], 'what the worker saw');
    const [after] = await passkeyRows(s, rex.id);
    assert.equal(after.sign_count, stored.sign_count, 'the stored counter did not move');
    const written = expectWritten(before, await snapshot(s), {
      'audit:login.failed': 2,
      'audit:passkey.refused': 2,
    });
    return `${written}; audited stored ${stored.sign_count}, received ${received.join(', then ')}`;
  });
}
