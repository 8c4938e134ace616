// Multi-request flows shared by several phases.
import assert from 'node:assert/strict';
import { PASSWORD, client, expectStatus, uniqueEmail } from './http.mjs';

/** The newest dev-mailbox message to `email` (polled: mail leaves after the response). */
export async function mailTo(base, email, subjectPattern = /./) {
  const api = client(base);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = expectStatus(await api.get('/dev/mailbox.json'), 200);
    const message = res.body.messages.find((m) => m.to === email && subjectPattern.test(m.subject));
    if (message) return message;
    if (Date.now() > deadline) throw new Error(`no mail to ${email} in /dev/mailbox.json`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The token of the verification link `APP_URL/verify-email?token=...` in a message. */
export const verificationToken = (message, appUrl) => linkToken(message, `${appUrl}/verify-email`);

/** The token of the reset link `APP_URL/reset-password?token=...` in a message. */
export const resetToken = (message, appUrl) => linkToken(message, `${appUrl}/reset-password`);

function linkToken(message, page) {
  const links = message.text.match(/https?:\/\/\S+/g) ?? [];
  const link = links.find((l) => l.startsWith(`${page}?token=`));
  assert.ok(link, `no ${page} link in: ${message.text}`);
  return new URL(link).searchParams.get('token');
}

/** Registers, verifies through the dev mailbox, and returns { email, password, user }. */
export async function verifiedUser(base, label, appUrl) {
  const api = client(base);
  const email = uniqueEmail(label);
  expectStatus(await api.post('/auth/register', { email, password: PASSWORD, name: label }), 201);
  const token = verificationToken(await mailTo(base, email, /verif|confirm/i), appUrl);
  const verified = expectStatus(await api.post('/auth/email/verify', { token }), 200);
  assert.equal(verified.body.email_verified, true);
  return { email, password: PASSWORD, user: verified.body };
}

/** Logs in and returns the token response body. */
export async function login(base, email, password = PASSWORD) {
  const res = expectStatus(await client(base).post('/auth/login', { email, password }), 200);
  return res.body;
}
