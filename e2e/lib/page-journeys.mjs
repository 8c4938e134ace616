// The journeys of the pages phase that run twice, with JavaScript and without: sign up and sign
// in (journey 1) and a forgotten password (journey 3). Each step is a named check; `capture`
// records a page state (screenshots, accessibility scan) and is a no-op on the second run.
import assert from 'node:assert/strict';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE, uniqueEmail } from './http.mjs';
import {
  cookiesByName,
  expectLanding,
  expectStrictCookie,
  fillIn,
  follow,
  followMailLink,
  press,
  signInWithPassword,
} from './page-user.mjs';

const NEW_PASSWORD = 'a brand new passphrase for e2e';
const skip = async () => {};

/** Journey 1: sign up, confirm from the dev mailbox, sign in, land on /account. */
export async function signUpJourney({ page, context, base, tag = '', capture = skip }) {
  const email = uniqueEmail(tag ? 'pages-nojs' : 'pages');

  await check(`${tag}sign up on /sign-up: "Check your email", no account revealed`, async () => {
    const res = await page.goto(`${base}/sign-up`);
    await expectLanding(page, res, { path: '/sign-up', heading: 'Create an account' });
    await capture(page, 'sign-up');
    await fillIn(page, { 'Name (optional)': 'Pages E2E', Email: email, Password: PASSWORD });
    const sent = await press(page, 'Create account');
    await expectLanding(page, sent, { path: '/sign-up', heading: 'Check your email', text: email });
    await capture(page, 'sign-up-sent');
  });

  await check(
    `${tag}the mail's link opens this worker's /verify-email; confirming spends it`,
    async () => {
      const { href, response } = await followMailLink(page, base, {
        email,
        subject: /^Confirm your email/,
        path: '/verify-email',
      });
      assert.ok(href.startsWith(`${base}/verify-email?token=`), `no APP_URL: ${href}`);
      await expectLanding(page, response, { path: '/verify-email', heading: 'Confirm your email' });
      await capture(page, 'verify-email');
      const done = await press(page, 'Confirm my email');
      await expectLanding(page, done, {
        path: '/verify-email',
        heading: 'Email confirmed',
        text: `${email} is confirmed.`,
      });
      await capture(page, 'verify-email-done');
    },
  );

  await check(
    `${tag}"Your account" signed out leads to /sign-in; a wrong password is 401`,
    async () => {
      const signIn = await follow(page, 'Your account');
      await expectLanding(page, signIn, { path: '/sign-in', heading: 'Sign in' });
      await capture(page, 'sign-in');
      await fillIn(page, { Email: email, Password: 'not the password at all' });
      const refused = await press(page, 'Sign in');
      await expectLanding(page, refused, {
        path: '/sign-in',
        status: 401,
        heading: 'Sign in',
        text: 'Wrong email or password.',
      });
      // The page keeps the address and never the password.
      assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), email);
      assert.equal(await page.getByLabel('Password', { exact: true }).inputValue(), '');
      await capture(page, 'sign-in-error');
    },
  );

  await check(`${tag}sign in: /account, cookies HttpOnly, Secure, SameSite=Strict`, async () => {
    await fillIn(page, { Password: PASSWORD });
    const res = await press(page, 'Sign in');
    await expectLanding(page, res, { path: '/account', heading: 'Your account', text: email });
    assert.ok(await page.getByText('(confirmed)').isVisible(), 'the address shows as confirmed');
    const jar = await cookiesByName(context, base);
    expectStrictCookie(jar[REFRESH_COOKIE], REFRESH_COOKIE);
    expectStrictCookie(jar['__Host-csrf'], '__Host-csrf');
    await capture(page, 'account');
  });
  return { email };
}

/** Journey 3: forgot the password, follow the mail, choose a new one, sign in with it. */
export async function resetJourney({ page, context, base, email, tag = '', capture = skip }) {
  let href;
  await check(`${tag}"Forgot your password?" on /sign-in: ask for a link`, async () => {
    await page.goto(`${base}/sign-in`);
    const form = await follow(page, 'Forgot your password?');
    await expectLanding(page, form, { path: '/reset-password', heading: 'Reset your password' });
    await capture(page, 'reset-request');
    await fillIn(page, { Email: email });
    const sent = await press(page, 'Send link');
    await expectLanding(page, sent, {
      path: '/reset-password',
      heading: 'Check your email',
      text: email,
    });
    await capture(page, 'reset-sent');
  });

  await check(`${tag}the mail's link opens this worker's form; a new password is set`, async () => {
    const followed = await followMailLink(page, base, {
      email,
      subject: /^Reset your .* password/,
      path: '/reset-password',
    });
    href = followed.href;
    assert.ok(href.startsWith(`${base}/reset-password?token=`), `no APP_URL: ${href}`);
    await expectLanding(page, followed.response, {
      path: '/reset-password',
      heading: 'Choose a new password',
    });
    await capture(page, 'reset-new');
    await fillIn(page, { 'New password': NEW_PASSWORD });
    const done = await press(page, 'Set password');
    await expectLanding(page, done, { path: '/reset-password/new', heading: 'Password changed' });
    await capture(page, 'reset-done');
  });

  await check(`${tag}the old password is refused, the new one signs in to /account`, async () => {
    const signIn = await follow(page, 'Sign in');
    await expectLanding(page, signIn, { path: '/sign-in', heading: 'Sign in' });
    await fillIn(page, { Email: email, Password: PASSWORD });
    const refused = await press(page, 'Sign in');
    await expectLanding(page, refused, { path: '/sign-in', status: 401 });
    await fillIn(page, { Password: NEW_PASSWORD });
    const res = await press(page, 'Sign in');
    await expectLanding(page, res, { path: '/account', heading: 'Your account', text: email });
    expectStrictCookie((await cookiesByName(context, base))[REFRESH_COOKIE], REFRESH_COOKIE);
  });

  await check(`${tag}the spent link now says it is invalid (400)`, async () => {
    const again = await page.goto(href);
    await expectLanding(page, again, {
      path: '/reset-password',
      status: 400,
      text: 'This link is invalid or has expired.',
    });
    await capture(page, 'reset-invalid');
  });
}
