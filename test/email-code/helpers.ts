// Sign-in with a mailed code, as a client does it: ask for a code, read it from the development
// mailbox, send it back.
import { env } from 'cloudflare:workers';
import { call, json, mailTo, mailedToken, register } from '../helpers';

/** A registered account whose address is confirmed (codes go to confirmed addresses only). */
export async function verifiedUser(email?: string) {
  const account = await register(email);
  const token = await mailedToken(account.email, 'verify-email');
  const res = await call('/auth/email/verify', json({ token }));
  if (res.status !== 200) throw new Error(`verify failed: ${res.status} ${await res.text()}`);
  return account;
}

export const sendCode = (
  email: string,
  headers: Record<string, string> = {},
  overrides?: Record<string, unknown>,
) => call('/auth/email-code/send', json({ email }, headers), overrides);

export const verifyCode = (
  email: string,
  code: string,
  overrides?: Record<string, unknown>,
  headers: Record<string, string> = {},
) => call('/auth/email-code/verify', json({ email, code }, headers), overrides);

const CODE_LINE = /^Your code: (\d{6})$/m;

/** The mails with a sign-in code to `email`, newest first. */
export const codeMails = async (email: string) =>
  (await mailTo(email)).filter((m) => CODE_LINE.test(m.text));

/** The code of the newest sign-in mail to `email`. */
export async function mailedCode(email: string) {
  const [newest] = await codeMails(email);
  if (!newest) throw new Error(`no sign-in code was mailed to ${email}`);
  return CODE_LINE.exec(newest.text)![1]!;
}

/** A confirmed account with a code freshly mailed to it. */
export async function withCode() {
  const account = await verifiedUser();
  const res = await sendCode(account.email);
  if (res.status !== 202) throw new Error(`send failed: ${res.status}`);
  return { ...account, code: await mailedCode(account.email) };
}

/** A code of the same length that is not `code`. */
export const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

export type CodeRow = {
  id: string;
  email: string;
  code_hash: string;
  attempts: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
};

export async function codeRows(email: string) {
  const { results } = await env.DB.prepare(
    'SELECT * FROM email_codes WHERE email = ? ORDER BY created_at, id',
  )
    .bind(email)
    .all<CodeRow>();
  return results;
}

export async function auditFor(email: string, type: string) {
  const { results } = await env.DB.prepare(
    `SELECT type, user_id, detail FROM audit_events WHERE type = ?1
       AND (json_extract(detail, '$.email') = ?2 OR user_id = (SELECT id FROM users WHERE email = ?2))`,
  )
    .bind(type, email)
    .all<{ type: string; user_id: string | null; detail: string }>();
  return results.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}
