// The account lifecycle in the pages phase: change the email from /account and confirm it from
// the mailed link; delete the account from /account; accept an admin's invitation (choose a
// password, land signed in).
import assert from 'node:assert/strict';
import { check, runProcess } from './harness.mjs';
import { PASSWORD, client, expectStatus, uniqueEmail } from './http.mjs';
import {
  expectLanding,
  fillIn,
  follow,
  followMailLink,
  press,
  signInWithPassword,
} from './page-user.mjs';

const INVITED_PASSWORD = 'an invited person chose this';

const skip = async () => {};

export async function lifecycleJourney({ page, base, email, persistTo, capture = skip }) {
  const moved = uniqueEmail('pages-moved');
  await check('/account: change the email; the link in the mail confirms it', async () => {
    const signedIn = await signInWithPassword(page, base, email, PASSWORD);
    await expectLanding(page, signedIn, { path: '/account', heading: 'Your account' });
    const section = page.locator('#email');
    await fillIn(page, { 'New email': moved, Password: PASSWORD }, section);
    const asked = await press(page, 'Send link', section);
    await expectLanding(page, asked, { path: '/account', text: 'A link is on its way' });
    const followed = await followMailLink(page, base, {
      email: moved,
      subject: /^Confirm your new email/,
      path: '/confirm-email-change',
    });
    await expectLanding(page, followed.response, {
      path: '/confirm-email-change',
      heading: 'Confirm your new email',
    });
    await capture(page, 'email-change-confirm');
    const done = await press(page, 'Use this address');
    await expectLanding(page, done, { path: '/confirm-email-change', heading: 'Email changed' });
    const account = await follow(page, 'Your account');
    await expectLanding(page, account, { path: '/account', text: moved });
  });

  await check('/account: delete the account; its new address no longer signs in', async () => {
    const section = page.locator('#delete');
    await fillIn(page, { Password: PASSWORD }, section);
    await section.getByLabel('I understand that this cannot be undone').check();
    const deleted = await press(page, 'Delete my account', section);
    await expectLanding(page, deleted, { path: '/account-deleted', heading: 'Account deleted' });
    await capture(page, 'account-deleted');
    const res = await client(base).post('/auth/login', { email: moved, password: PASSWORD });
    expectStatus(res, 401);
  });

  await check("an admin's invitation: choose a password, land signed in on /account", async () => {
    const api = client(base);
    const adminEmail = uniqueEmail('pages-admin');
    expectStatus(await api.post('/auth/register', { email: adminEmail, password: PASSWORD }), 201);
    const granted = await runProcess(
      'npm',
      ['run', '-s', 'admin:grant', '--', adminEmail, '--persist-to', persistTo],
      { timeoutMs: 60_000 },
    );
    assert.equal(granted.code, 0, `admin:grant: ${granted.stderr || granted.stdout}`);
    const login = expectStatus(
      await api.post('/auth/login', { email: adminEmail, password: PASSWORD }),
      200,
    );
    const invited = uniqueEmail('pages-invited');
    const created = await api.post(
      '/admin/users',
      { email: invited },
      { bearer: login.body.access_token },
    );
    expectStatus(created, 201);
    const followed = await followMailLink(page, base, {
      email: invited,
      subject: /^You are invited/,
      path: '/accept-invite',
    });
    await expectLanding(page, followed.response, {
      path: '/accept-invite',
      heading: 'Choose your password',
      text: invited,
    });
    await capture(page, 'accept-invite');
    await fillIn(page, { 'New password': INVITED_PASSWORD });
    const done = await press(page, 'Set password and sign in');
    await expectLanding(page, done, { path: '/account', heading: 'Your account', text: invited });
  });
}
