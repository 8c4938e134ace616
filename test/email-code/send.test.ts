import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/tokens';
import { newCode } from '../../src/email-code/codes';
import { call, expectProblem, json, mailTo, register, uniqueEmail } from '../helpers';
import {
  codeMails,
  codeRows,
  mailedCode,
  sendCode,
  verifiedUser,
  verifyCode,
  withCode,
} from './helpers';

const count = async (table: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
const totals = async () => ({
  codes: await count('email_codes'),
  mails: await count('dev_mailbox'),
  failures: await count('login_failures'),
});
const stripRequestId = (text: string) => text.replace(/"request_id":"[^"]+"/, '');

describe('POST /auth/email-code/send', () => {
  it('answers 202 like forgot-password and mails a 6-digit code, only in the body', async () => {
    const { email } = await verifiedUser();
    const res = await sendCode(email);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted' });
    const [mail] = await codeMails(email);
    expect(mail!.subject).toBe('Your Edge Auth sign-in code');
    const code = await mailedCode(email);
    expect(code).toMatch(/^\d{6}$/);
    // Not where a lock screen shows it: the subject and the first line.
    expect(mail!.subject).not.toContain(code);
    expect(mail!.text.split('\n')[0]).not.toContain(code);
    expect((mail as unknown as { html: string }).html).toContain(code);
  });

  it('stores only a keyed hash of the code, valid for 10 minutes with 5 attempts', async () => {
    const before = Date.now();
    const { email, code } = await withCode();
    const [row, ...more] = await codeRows(email);
    expect(more).toEqual([]);
    expect(row).toMatchObject({ email, attempts: 0, used_at: null });
    expect(row!.expires_at - row!.created_at).toBe(600_000);
    expect(row!.created_at).toBeGreaterThanOrEqual(before);
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(code);
    // Not a plain digest either: 10^6 of those are guessed offline in a blink.
    expect(stored).not.toContain(await sha256(code));
  });

  it('gives an unknown address the same answer, and sends and stores nothing', async () => {
    const ghost = uniqueEmail('ghost');
    const { email } = await verifiedUser();
    const [known, unknown] = [await sendCode(email), await sendCode(ghost)];
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(stripRequestId(await unknown.text())).toBe(stripRequestId(await known.text()));
    expect(await mailTo(ghost)).toEqual([]);
    expect(await codeRows(ghost)).toEqual([]);
  });

  it('sends nothing to an unconfirmed or a disabled account (same 202)', async () => {
    const unconfirmed = await register();
    const disabled = await verifiedUser();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE email = ?')
      .bind(Date.now(), disabled.email)
      .run();
    for (const email of [unconfirmed.email, disabled.email]) {
      expect((await sendCode(email)).status).toBe(202);
      expect(await codeMails(email)).toEqual([]);
      expect(await codeRows(email)).toEqual([]);
    }
  });

  it('mails the stored address for a case or spacing variant of it', async () => {
    const { email } = await verifiedUser();
    expect((await sendCode(`  ${email.toUpperCase()} `)).status).toBe(202);
    expect(await mailedCode(email)).toMatch(/^\d{6}$/);
  });

  it('replaces the earlier code: only the newest one signs in', async () => {
    const { email, code: first } = await withCode();
    await sendCode(email);
    const second = await mailedCode(email);
    const rows = await codeRows(email);
    expect(rows.map((r) => r.used_at === null)).toEqual([false, true]);
    if (second !== first) await expectProblem(await verifyCode(email, first), 401, 'invalid_code');
    expect((await verifyCode(email, second)).status).toBe(200);
  });

  it('mails an address at most RATE_LIMIT_EMAIL_PER_ADDRESS times, silently', async () => {
    const { email } = await verifiedUser();
    for (let i = 0; i < 5; i++) expect((await sendCode(email)).status).toBe(202);
    // 3 per hour (the default): the rest get the same 202, and no mail and no new code.
    expect(await codeMails(email)).toHaveLength(3);
    expect(await codeRows(email)).toHaveLength(3);
  });

  it('is rate limited per IP with 429 on a count of its own', async () => {
    const { email } = await verifiedUser();
    const ip = { 'CF-Connecting-IP': '198.51.100.77' };
    const tight = { RATE_LIMIT_FORGOT_PASSWORD: '2/60' };
    for (let i = 0; i < 2; i++) expect((await sendCode(email, ip, tight)).status).toBe(202);
    const limited = await sendCode(email, ip, tight);
    await expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    // X-Forwarded-For changes nothing (THREATS F1).
    const spoofed = { ...ip, 'X-Forwarded-For': '203.0.113.9' };
    await expectProblem(await sendCode(email, spoofed, tight), 429, 'rate_limited');
    // Forgot-password from that IP still has its own budget.
    const forgot = await call('/auth/password/forgot', json({ email }, ip), tight);
    expect(forgot.status).toBe(202);
  });

  const typed = (type: string, body: string): RequestInit => ({
    headers: { 'Content-Type': type },
    body,
  });
  it.each([
    ['text/plain', 415, (email: string) => typed('text/plain', email)],
    [
      'a form',
      415,
      (email: string) => typed('application/x-www-form-urlencoded', `email=${email}`),
    ],
    ['malformed JSON', 400, (email: string) => typed('application/json', `{"email":"${email}"`)],
    ['a JSON array', 400, (email: string) => typed('application/json', `["${email}"]`)],
    ['no body', 422, () => ({})],
    [
      'an email in an array',
      422,
      (email: string) => typed('application/json', `{"email":["${email}"]}`),
    ],
  ] as const)('refuses %s with problem+json %i and writes nothing', async (_name, status, init) => {
    const { email } = await verifiedUser();
    const before = await totals();
    const res = await call('/auth/email-code/send', { method: 'POST', ...init(email) });
    expect(res.status).toBe(status);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await totals()).toEqual(before);
  });
});

describe('the code', () => {
  it('is six digits, uniform over 000000-999999 (leading zeros kept)', () => {
    const draws = Array.from({ length: 20_000 }, newCode);
    expect(draws.every((c) => /^\d{6}$/.test(c))).toBe(true);
    // Each leading digit about 10 %: a biased draw (a plain modulo of a byte) would show.
    const leading = new Array(10).fill(0);
    for (const c of draws) leading[Number(c[0])]++;
    for (const n of leading) expect(Math.abs(n - 2000)).toBeLessThan(300);
    expect(new Set(draws).size).toBeGreaterThan(19_000);
  });
});
