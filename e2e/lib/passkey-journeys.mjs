// The passkeys phase's journeys in Chromium with a virtual authenticator: (1) a password user
// adds a passkey on /account; (2) signs out and back in with it, by the button without an email
// and by the email field's autofill; (3) a TOTP user's passkey skips the code step, and serves
// as that step after the password; (4) a deleted passkey the authenticator still offers is
// refused.
import assert from 'node:assert/strict';
import { expectWritten } from './d1.mjs';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE, client, expectStatus } from './http.mjs';
import { mailTo } from './flows.mjs';
import { SAID, base64url, passkeyTab } from './passkey-browser.mjs';
import { passkeyRows, passwordUser, REFUSED, refusedBecause, snapshot } from './passkey-state.mjs';
import { cookiesByName, expectLanding, fillIn, press, signInWithPassword } from './page-user.mjs';
import { totpCodes } from './totp.mjs';

const SIGNED_IN = {
  sessions: 1,
  refresh_tokens: 1,
  'audit:login.succeeded': 1,
  'audit:passkey.used': 1,
};

export async function passkeyJourneys(s) {
  const ada = await passwordUser(s, 'pk-ada');
  const tab = await passkeyTab(s);
  const { page, context, authenticator } = tab;

  await check('(1) a password user adds a passkey on /account: "Passkey added."', async () => {
    const res = await signInWithPassword(page, s.base, ada.email, PASSWORD);
    await expectLanding(page, res, { path: '/account', heading: 'Your account' });
    const before = await snapshot(s);
    await tab.addPasskey('Work laptop');
    assert.ok(await page.locator('#passkeys').getByText('Work laptop').isVisible(), 'listed');
    return expectWritten(before, await snapshot(s), {
      passkeys: 1,
      'audit:passkey.registered': 1,
    });
  });

  await check(
    '(1) the authenticator holds one resident credential; D1 one row like it',
    async () => {
      const creds = await authenticator.credentials();
      assert.equal(creds.length, 1, 'one credential');
      const [cred] = creds;
      assert.equal(cred.isResidentCredential, true, 'resident (discoverable)');
      assert.equal(cred.rpId, 'localhost');
      assert.equal(
        Buffer.from(cred.userHandle, 'base64').toString(),
        ada.id,
        'user handle: the id',
      );
      const rows = await passkeyRows(s, ada.id);
      assert.equal(rows.length, 1, 'one passkey row');
      const [row] = rows;
      assert.equal(row.credential_id, base64url(cred.credentialId));
      assert.equal(row.sign_count, cred.signCount, 'the counter of the registration');
      assert.deepEqual(
        [row.backup_eligible, row.backed_up],
        [Number(cred.backupEligibility), Number(cred.backupState)],
        'backup flags as the authenticator set them',
      );
      assert.equal(row.name, 'Work laptop');
      return `counter ${row.sign_count}, BE ${row.backup_eligible} BS ${row.backed_up}, transports ${row.transports}`;
    },
  );

  await check('(1) a notice mail arrived in the dev mailbox', async () => {
    const mail = await mailTo(s.direct, ada.email, /passkey was added/);
    assert.match(mail.text, /"Work laptop"/);
    return mail.subject;
  });

  await check('(2) signed out, "Sign in with a passkey" without an email: /account', async () => {
    await tab.signOut();
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), '', 'no email');
    const before = await snapshot(s);
    const [cred] = await authenticator.credentials();
    await expectLanding(page, await tab.pressSignIn(), { path: '/account' });
    assert.ok(await page.getByText(ada.email).first().isVisible(), 'the right account');
    assert.ok((await cookiesByName(context, s.base))[REFRESH_COOKIE], 'the session cookie');
    const asked = tab.options.at(-1);
    assert.equal(asked.allowCredentials, undefined, 'no credential list: any discoverable one');
    assert.equal(asked.userVerification, 'required');
    const [row] = await passkeyRows(s, ada.id);
    assert.equal(row.sign_count, cred.signCount + 1, 'the counter went up by one use');
    assert.ok(row.last_used_at, 'last used recorded');
    return expectWritten(before, await snapshot(s), SIGNED_IN);
  });

  await check('(2) autofill (conditional mediation) on the email field signs in too', async () => {
    await tab.signOut();
    const before = await snapshot(s);
    const asked = tab.options.length;
    tab.autofillNext();
    await Promise.all([
      page.waitForURL((url) => url.pathname === '/account'),
      page.goto(`${s.base}/sign-in`),
    ]);
    assert.ok(await page.getByText(ada.email).first().isVisible(), 'the right account');
    assert.equal(tab.options.length, asked + 1, 'one options request: the autofill one');
    const written = expectWritten(before, await snapshot(s), SIGNED_IN);
    return `${written}; no click: the virtual authenticator answers a conditional request itself, and headless Chromium cannot be made to pick from the autofill list`;
  });

  let tom;
  await check('(3) a TOTP user signs in with the passkey and is not asked for a code', async () => {
    tom = await totpUserWithPasskey(s);
    await tom.tab.signOut();
    const before = await snapshot(s);
    await tom.tab.signIn();
    const account = tom.tab.page;
    assert.ok(await account.getByText(tom.email).first().isVisible(), 'the right account');
    assert.ok(await account.getByText('On. Every sign-in asks for a code').isVisible(), 'TOTP on');
    return expectWritten(before, await snapshot(s), SIGNED_IN);
  });

  await check('(3) after the password, the code step offers the passkey; it signs in', async () => {
    const { tab: tomTab } = tom;
    await tomTab.signOut();
    const before = await snapshot(s);
    const step = await signInWithPassword(tomTab.page, s.base, tom.email, PASSWORD);
    await expectLanding(tomTab.page, step, {
      heading: 'Two-factor authentication',
      path: '/sign-in',
    });
    const res = await tomTab.pressSignIn();
    await expectLanding(tomTab.page, res, { path: '/account', heading: 'Your account' });
    const written = expectWritten(before, await snapshot(s), { ...SIGNED_IN, mfa_challenges: 1 });
    await tomTab.close();
    return written;
  });

  await check('(4) delete the passkey on /account: "Passkey deleted."', async () => {
    await page.goto(`${s.base}/account`);
    const before = await snapshot(s);
    const res = await press(page, 'Delete', page.locator('#passkeys'));
    await expectLanding(page, res, { path: '/account', text: SAID.deleted });
    assert.deepEqual(await passkeyRows(s, ada.id), []);
    return expectWritten(before, await snapshot(s), { passkeys: -1, 'audit:passkey.deleted': 1 });
  });

  await check(
    '(4) the authenticator still offers it; the worker refuses: 401, no cookie',
    async () => {
      await tab.signOut();
      assert.equal((await authenticator.credentials()).length, 1, 'still in the authenticator');
      const before = await snapshot(s);
      const mark = s.worker.output().length;
      await tab.expectRefused(await tab.pressSignIn());
      const why = await refusedBecause(s, mark);
      return `${expectWritten(before, await snapshot(s), REFUSED)}: "${why}"`;
    },
  );
  await tab.close();
}

/**
 * A TOTP user (enrolled over the API) who signed in with the password and a code in Chromium
 * and added a passkey on /account: { email, id, tab }.
 */
async function totpUserWithPasskey(s) {
  const user = await passwordUser(s, 'pk-totp');
  const api = client(s.direct);
  const { access_token } = expectStatus(
    await api.post('/auth/login', { email: user.email, password: PASSWORD }),
    200,
  ).body;
  const bearer = { bearer: access_token };
  const setup = await api.post('/users/me/mfa/totp/setup', { password: PASSWORD }, bearer);
  const code = totpCodes(expectStatus(setup, 200).body.secret);
  expectStatus(await api.post('/users/me/mfa/totp/enable', { code: code() }, bearer), 200);

  const tab = await passkeyTab(s);
  const step = await signInWithPassword(tab.page, s.base, user.email, PASSWORD);
  await expectLanding(tab.page, step, { path: '/sign-in', heading: 'Two-factor authentication' });
  await fillIn(tab.page, { Code: code() });
  await expectLanding(tab.page, await press(tab.page, 'Verify'), { path: '/account' });
  await tab.addPasskey();
  return { ...user, tab };
}
