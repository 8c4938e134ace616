// Journey 6 of the pages phase: "Email me a code instead" on /sign-in, the code read off the
// development mailbox in a second tab, as a person would copy it from their mail.
import assert from 'node:assert/strict';
import { check, waitFor } from './harness.mjs';
import { REFRESH_COOKIE } from './http.mjs';
import {
  cookiesByName,
  expectLanding,
  expectStrictCookie,
  fillIn,
  follow,
  press,
} from './page-user.mjs';

const skip = async () => {};

/** The code in the newest sign-in mail to `email`, from /dev/mailbox in its own tab. */
async function codeFromMailbox(context, base, email) {
  const tab = await context.newPage();
  const message = tab
    .locator('article')
    .filter({ has: tab.locator('.meta b', { hasText: email }) })
    .filter({ has: tab.locator('h2', { hasText: /sign-in code$/ }) })
    .first();
  try {
    await waitFor(
      `a sign-in code for ${email} in /dev/mailbox`,
      async () => {
        await tab.goto(`${base}/dev/mailbox`);
        return (await message.count()) > 0;
      },
      { timeoutMs: 15_000, intervalMs: 300 },
    );
    const code = /Your code: (\d{6})/.exec(await message.locator('pre').innerText())?.[1];
    assert.ok(code, 'the mail holds a 6-digit code');
    return code;
  } finally {
    await tab.close();
  }
}

/** `email` must be confirmed: codes go to confirmed addresses only. */
export async function emailCodeJourney({ page, context, base, email, tag = '', capture = skip }) {
  let code;
  await check(`${tag}"Email me a code instead" on /sign-in: ask for a code`, async () => {
    await page.goto(`${base}/sign-in`);
    const ask = await follow(page, 'Email me a code instead');
    await expectLanding(page, ask, { path: '/sign-in/email-code', heading: 'Sign in with a code' });
    await capture(page, 'email-code');
    await fillIn(page, { Email: email });
    const sent = await press(page, 'Email me a code');
    await expectLanding(page, sent, {
      path: '/sign-in/email-code',
      heading: 'Check your email',
      text: email,
    });
    await capture(page, 'email-code-sent');
    code = await codeFromMailbox(context, base, email);
  });

  await check(`${tag}a wrong code keeps the form with a message (401)`, async () => {
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await fillIn(page, { Code: wrong });
    const refused = await press(page, 'Sign in');
    await expectLanding(page, refused, {
      path: '/sign-in/email-code/verify',
      status: 401,
      heading: 'Check your email',
      text: 'That code is not right',
    });
    await capture(page, 'email-code-wrong');
  });

  await check(`${tag}the mailed code signs in: /account, the strict session cookie`, async () => {
    await fillIn(page, { Code: code });
    const res = await press(page, 'Sign in');
    await expectLanding(page, res, { path: '/account', heading: 'Your account', text: email });
    expectStrictCookie((await cookiesByName(context, base))[REFRESH_COOKIE], REFRESH_COOKIE);
  });
}
