// Journey 2 of the pages phase: turn on two-factor from /account by reading the QR code off a
// screenshot, as a phone would, then sign in with a code from it and with a recovery code.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { check } from './harness.mjs';
import { PASSWORD, REFRESH_COOKIE } from './http.mjs';
import { shotsDir } from './page-audit.mjs';
import {
  cookiesByName,
  expectLanding,
  fillIn,
  follow,
  press,
  signInWithPassword,
} from './page-user.mjs';
import { decodeQrPng, parseOtpauth } from './qr.mjs';
import { totpCodes } from './totp.mjs';

export async function twoFactorJourney({ page, context, base, email, capture }) {
  let codes;
  let recoveryCodes;

  const signOut = async () => {
    const out = await press(page, 'Sign out', page.locator('header'));
    await expectLanding(page, out, { path: '/sign-in', heading: 'Sign in' });
    const jar = await cookiesByName(context, base);
    assert.equal(jar[REFRESH_COOKIE], undefined, 'signing out removes the refresh cookie');
  };
  const passwordStep = async () => {
    const step = await signInWithPassword(page, base, email, PASSWORD);
    await expectLanding(page, step, { path: '/sign-in', heading: 'Two-factor authentication' });
  };

  await check(
    'turn on two-factor: the QR code read off a screenshot holds the key shown',
    async () => {
      await page.goto(`${base}/account`);
      const section = page.locator('#two-factor');
      await fillIn(page, { Password: PASSWORD }, section);
      const res = await press(page, 'Turn on', section);
      await expectLanding(page, res, { path: '/account/mfa/setup', heading: 'Scan this code' });
      await capture(page, 'mfa-enrol');
      const png = await page.locator('.qr').screenshot({ path: join(shotsDir, 'qr-code.png') });
      const uri = decodeQrPng(png);
      const otp = parseOtpauth(uri);
      assert.equal(otp.label, `Edge Auth:${email}`, uri);
      assert.equal(otp.issuer, 'Edge Auth', uri);
      assert.deepEqual([otp.algorithm, otp.digits, otp.period], ['SHA1', '6', '30'], uri);
      const shown = await page.locator('code.key').textContent();
      assert.equal(otp.secret, shown.replace(/\s+/g, ''), 'the grouped key is the QR code’s');
      codes = totpCodes(otp.secret);
      return `${png.length} byte PNG -> ${uri.replace(/secret=[^&]+/, 'secret=…')}`;
    },
  );

  await check('a code computed from it turns two-factor on: ten recovery codes, once', async () => {
    await fillIn(page, { Code: codes() });
    const res = await press(page, 'Turn on');
    await expectLanding(page, res, { path: '/account/mfa/enable', heading: 'Your recovery codes' });
    recoveryCodes = (await page.locator('#recovery-codes li').allTextContents()).map((c) =>
      c.trim(),
    );
    assert.equal(recoveryCodes.length, 10);
    assert.equal(new Set(recoveryCodes).size, 10);
    // Without JavaScript the codes download as a file; with it, pages.js adds a copy button.
    const file = await page.getByRole('link', { name: 'Download' }).getAttribute('href');
    assert.equal(decodeURIComponent(file.split(',')[1]), `${recoveryCodes.join('\n')}\n`);
    const copy = page.locator('button[data-copy]');
    assert.equal(await copy.textContent(), 'Copy');
    assert.ok(await copy.isVisible(), 'pages.js revealed the copy button');
    await copy.click();
    assert.equal(
      await page.evaluate(() => navigator.clipboard.readText()),
      recoveryCodes.join('\n'),
    );
    assert.equal(await copy.textContent(), 'Copied');
    await capture(page, 'recovery-codes');
    const done = await follow(page, 'Done');
    await expectLanding(page, done, { path: '/account', heading: 'Your account' });
    assert.ok(await page.getByText('On. Every sign-in asks for a code').isVisible());
    await capture(page, 'account-mfa-on');
  });

  await check(
    'sign out; sign in with the password, then a code from the next time step',
    async () => {
      await signOut();
      await passwordStep();
      await capture(page, 'sign-in-code');
      // The enrolment's code spent its time step: codes() gives the next one (one step of drift
      // is accepted) rather than waiting up to 30 s.
      await fillIn(page, { Code: codes() });
      const res = await press(page, 'Verify');
      await expectLanding(page, res, { path: '/account', heading: 'Your account', text: email });
    },
  );

  await check(
    'sign out; sign in with a recovery code; the same code fails the next time',
    async () => {
      const useRecoveryCode = async (code) => {
        await page.getByText('Use a recovery code instead').click();
        await fillIn(page, { 'Recovery code': code });
        return press(page, 'Use recovery code');
      };
      await signOut();
      await passwordStep();
      const res = await useRecoveryCode(recoveryCodes[0]);
      await expectLanding(page, res, { path: '/account', heading: 'Your account', text: email });
      await signOut();
      await passwordStep();
      const refused = await useRecoveryCode(recoveryCodes[0]);
      await expectLanding(page, refused, {
        path: '/sign-in/code',
        status: 401,
        heading: 'Two-factor authentication',
        text: 'That code is not right.',
      });
      await capture(page, 'sign-in-code-error');
    },
  );
}
