// The federation phase's journeys about linking, with the real OP in Chromium: (4) an account
// at the OP is never linked to a password account whose address is unconfirmed, whether or not
// the OP says its own address is verified (pre-account takeover); (5) a password user links the
// OP from /account ("Linked accounts"), then unlinks it.
import assert from 'node:assert/strict';
import { accountOf, d1Snapshot, expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE, client, expectStatus, uniqueEmail } from './http.mjs';
import { login } from './flows.mjs';
import { continueWith, expectRefusal, settleOn, signInAtOp } from './federation-browser.mjs';
import { cookiesByName, expectLanding, press, signInWithPassword } from './page-user.mjs';

export async function linkingJourneys(s) {
  const { base, op, accounts } = s;
  await check(
    '(4) an unverified provider email is not linked to an unconfirmed account',
    async () => {
      const uma = accounts.uma;
      expectStatus(
        await client(s.direct).post('/auth/register', { email: uma.email, password: PASSWORD }),
        201,
      );
      const before = await d1Snapshot(s.worker);
      const fresh = await s.browse();
      await continueWith(fresh.page, base, 'Test OP');
      await signInAtOp(fresh.page, op, 'uma');
      const message = await expectRefusal(fresh.page, base, 'email_unverified');
      assert.equal((await cookiesByName(fresh.context, base))[REFRESH_COOKIE], undefined);
      const written = expectWritten(before, await d1Snapshot(s.worker));
      const { identities } = await accountOf(s.worker, uma.email);
      assert.deepEqual(identities, [], 'nothing linked to the password account');
      await fresh.context.close();
      return `${written}: "${message}"`;
    },
  );

  await check(
    '(4) a verified provider email is not linked to an unconfirmed account either',
    async () => {
      // Someone registered the address first without confirming it: linking would let their
      // password into the provider user's account (pre-account takeover).
      const vera = accounts.vera;
      expectStatus(
        await client(s.direct).post('/auth/register', { email: vera.email, password: PASSWORD }),
        201,
      );
      const before = await d1Snapshot(s.worker);
      const fresh = await s.browse();
      await continueWith(fresh.page, base, 'Test OP');
      await signInAtOp(fresh.page, op, 'vera');
      const message = await expectRefusal(fresh.page, base, 'account_exists');
      const written = expectWritten(before, await d1Snapshot(s.worker));
      assert.deepEqual((await accountOf(s.worker, vera.email)).identities, []);
      await fresh.context.close();
      return `${written}: "${message}"`;
    },
  );

  await check('(5) a password user links Test OP from /account, then unlinks it', async () => {
    const email = uniqueEmail('fed-link');
    expectStatus(await client(s.direct).post('/auth/register', { email, password: PASSWORD }), 201);
    const fresh = await s.browse();
    const signedIn = await signInWithPassword(fresh.page, base, email, PASSWORD);
    await expectLanding(fresh.page, signedIn, { path: '/account', heading: 'Your account' });
    const section = fresh.page.locator('#identities');
    assert.ok(await section.getByText('None yet.').isVisible());
    await Promise.all([
      fresh.page.waitForURL((u) => u.origin === op.issuer),
      section.getByRole('button', { name: 'Link Test OP' }).click(),
    ]);
    await signInAtOp(fresh.page, op, 'lin');
    await settleOn(fresh.page, base, '/account');
    assert.equal(new URL(fresh.page.url()).searchParams.get('done'), 'identity');
    assert.ok(await fresh.page.getByText('Linked.').isVisible());
    assert.ok(await section.getByText(accounts.lin.email).isVisible(), 'the OP address is listed');
    const { access_token } = await login(s.direct, email);
    const listed = await client(s.direct).get('/users/me/identities', { bearer: access_token });
    assert.deepEqual(
      expectStatus(listed, 200).body.identities.map((i) => [i.provider, i.email]),
      [['op', accounts.lin.email]],
    );
    const unlinked = await press(fresh.page, 'Unlink', section);
    await expectLanding(fresh.page, unlinked, { path: '/account', heading: 'Your account' });
    assert.ok(await fresh.page.getByText('Unlinked.').isVisible());
    assert.ok(await section.getByText('None yet.').isVisible());
    const after = await client(s.direct).get('/users/me/identities', { bearer: access_token });
    assert.deepEqual(expectStatus(after, 200).body.identities, []);
    await fresh.context.close();
  });
}
