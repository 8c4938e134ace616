import type { MailMessage } from './transport';

/** HTML-escapes text; every value that reaches an HTML body goes through it. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function message(
  to: string,
  subject: string,
  lines: string[],
  link?: { url: string; label: string },
): MailMessage {
  const text = [...lines, ...(link ? ['', `${link.label}: ${link.url}`] : [])].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    ...lines.map((l) => `<p>${escapeHtml(l)}</p>`),
    link ? `<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>` : '',
    '</body></html>',
  ].join('');
  return { to, subject, text, html };
}

export const templates = {
  verifyEmail: (to: string, product: string, url: string) =>
    message(
      to,
      `Confirm your email for ${product}`,
      [
        `Welcome to ${product}.`,
        'Confirm this address to finish setting up your account. The link expires in 24 hours.',
      ],
      { url, label: 'Confirm your email' },
    ),
  accountExists: (to: string, product: string, signIn: string, reset: string) =>
    message(
      to,
      `You already have an account with ${product}`,
      [
        `Someone tried to create a ${product} account with this address, which already has one. If it was you, sign in at ${signIn}.`,
        'Forgot the password? Choose a new one with the link below. If it was not you, ignore this message: nothing changes.',
      ],
      { url: reset, label: 'Reset your password' },
    ),
  resetPassword: (to: string, product: string, url: string, minutes: number) =>
    message(
      to,
      `Reset your ${product} password`,
      [
        `Someone asked to reset the password of your ${product} account.`,
        `If it was you, choose a new password within ${minutes} minutes. If not, ignore this message: nothing changes.`,
      ],
      { url, label: 'Choose a new password' },
    ),
  // The code is not in the subject, nor in the first line: a phone's lock screen shows those.
  emailCode: (to: string, product: string, code: string, minutes: number) =>
    message(to, `Your ${product} sign-in code`, [
      `Someone asked to sign in to your ${product} account with a code sent to this address.`,
      `Your code: ${code}`,
      `It works once, within ${minutes} minutes. Never share it: we will never ask you for it.`,
      'If it was not you, ignore this message: nothing changes.',
    ]),
  mfaEnabled: (to: string, product: string) =>
    message(to, `Two-factor authentication was turned on for ${product}`, [
      `Two-factor authentication was just turned on for your ${product} account. Signing in now needs a code from your authenticator app.`,
      'If this was not you, someone has your password: reset it now, then ask support to remove the second factor.',
    ]),
  mfaResetByAdmin: (to: string, product: string) =>
    message(to, `Two-factor authentication was removed from your ${product} account`, [
      `An administrator removed two-factor authentication from your ${product} account and signed out every session.`,
      'Sign in again and turn it back on from your account page. If you did not ask for this, contact support.',
    ]),
  mfaDisabled: (to: string, product: string) =>
    message(to, `Two-factor authentication was turned off for ${product}`, [
      `Two-factor authentication was just turned off for your ${product} account, and your other sessions were signed out.`,
      'If this was not you, reset your password now and turn it back on.',
    ]),
  passwordChanged: (to: string, product: string) =>
    message(to, `Your ${product} password was changed`, [
      `The password of your ${product} account was just changed and every session was signed out.`,
      'If this was not you, reset your password now and contact support.',
    ]),
  passkeyAdded: (to: string, product: string, name: string) =>
    message(to, `A passkey was added to your ${product} account`, [
      `A passkey named "${name}" was just added to your ${product} account; it can now sign in without a password.`,
      'If this was not you, sign in, delete it from your account page, and sign out everywhere.',
    ]),
};
