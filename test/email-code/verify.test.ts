import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  call,
  expectProblem,
  json,
  mailedToken,
  me,
  refresh,
  uniqueEmail,
  type Tokens,
  userSessionsDb,
} from '../helpers';
import { codeFor, enrolled } from '../totp';
import {
  auditFor,
  codeRows,
  mailedCode,
  sendCode,
  verifiedUser,
  verifyCode,
  withCode,
  wrongCode,
} from './helpers';

afterEach(() => vi.restoreAllMocks());

// Room for more wrong codes than one code allows, to see the code's own limit on its own.
const LENIENT_LOCKOUT = { LOCKOUT_THRESHOLD: '100' };

const count = async (query: string, ...params: unknown[]) =>
  (await env.DB.prepare(query)
    .bind(...params)
    .first<{ n: number }>())!.n;

describe('POST /auth/email-code/verify', () => {
  it('signs in with the mailed code: tokens, the refresh cookie, an audited login', async () => {
    const { email, code, user } = await withCode();
    const res = await verifyCode(email, code);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Set-Cookie')).toMatch(
      /^__Host-refresh_token=[\w-]{43,}; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict$/,
    );
    const tokens = (await res.json()) as Tokens;
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(await (await me(tokens.access_token)).json()).toMatchObject({
      email,
      email_verified: true,
    });
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    const [event, ...more] = await auditFor(email, 'login.succeeded');
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      user_id: user.id,
      detail: { session_id: tokens.session_id, via: 'email_code' },
    });
    expect((await codeRows(email))[0]!.used_at).not.toBeNull();
  });

  it('takes the code with spaces or a dash, as people type it', async () => {
    const { email, code } = await withCode();
    expect((await verifyCode(email, ` ${code.slice(0, 3)} ${code.slice(3)} `)).status).toBe(200);
  });

  it('refuses a code that was used already', async () => {
    const { email, code } = await withCode();
    expect((await verifyCode(email, code)).status).toBe(200);
    await expectProblem(await verifyCode(email, code), 401, 'invalid_code');
    // A used code is not even claimed: nothing is compared with it again.
    expect((await codeRows(email))[0]!.attempts).toBe(1);
  });

  it('refuses an expired code (its expiry moved into the past)', async () => {
    const { email, code } = await withCode();
    await env.DB.prepare('UPDATE email_codes SET expires_at = ? WHERE email = ?')
      .bind(Date.now() - 1, email)
      .run();
    await expectProblem(await verifyCode(email, code), 401, 'invalid_code');
    expect((await codeRows(email))[0]!.attempts).toBe(0);
  });

  it('refuses a code with another address, and leaves that address’s own code alone', async () => {
    const a = await withCode();
    const b = await withCode();
    // (Should the two codes be the same digits, one in a million, B's own code would be right.)
    const aCode = a.code === b.code ? wrongCode(a.code) : a.code;
    await expectProblem(await verifyCode(b.email, aCode), 401, 'invalid_code');
    const other = await verifiedUser();
    await expectProblem(await verifyCode(other.email, a.code), 401, 'invalid_code');
    expect((await verifyCode(a.email, a.code)).status).toBe(200);
  });

  it('binds a stored code to its row and address: a hash moved to another row is useless', async () => {
    const a = await withCode();
    const b = await withCode();
    const [rowA] = await codeRows(a.email);
    await env.DB.prepare('UPDATE email_codes SET code_hash = ? WHERE email = ?')
      .bind(rowA!.code_hash, b.email)
      .run();
    await expectProblem(await verifyCode(b.email, a.code), 401, 'invalid_code');
  });

  it('binds a code to its account: a new account with the address cannot use it (K13)', async () => {
    const { email, code, user } = await withCode();
    await env.DB.prepare('DELETE FROM users WHERE id = ?').bind(user.id).run();
    await verifiedUser(email);
    await expectProblem(await verifyCode(email, code), 401, 'invalid_code');
  });

  it('answers an unknown address exactly as a wrong code (THREATS C1)', async () => {
    const { email, code } = await withCode();
    const fixed = { 'X-Request-Id': 'fixed-id' };
    const wrong = await verifyCode(email, wrongCode(code), undefined, fixed);
    const ghost = await verifyCode(uniqueEmail('ghost'), code, undefined, fixed);
    const noCode = await verifyCode((await verifiedUser()).email, code, undefined, fixed);
    const bodies = await Promise.all([wrong, ghost, noCode].map((r) => r.text()));
    expect([wrong.status, ghost.status, noCode.status]).toEqual([401, 401, 401]);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ code: 'invalid_code' });
  });

  it('spends the code at the fifth wrong guess: the right one fails afterwards', async () => {
    const { email, code } = await withCode();
    for (let i = 0; i < 5; i++) {
      await expectProblem(
        await verifyCode(email, wrongCode(code), LENIENT_LOCKOUT),
        401,
        'invalid_code',
      );
    }
    await expectProblem(await verifyCode(email, code, LENIENT_LOCKOUT), 401, 'invalid_code');
    expect((await codeRows(email))[0]!.attempts).toBe(5);
  });

  it('checks at most 5 of 20 parallel wrong guesses', async () => {
    const { email, code } = await withCode();
    const sign = vi.spyOn(crypto.subtle, 'sign');
    const guesses = Array.from({ length: 20 }, (_, i) =>
      verifyCode(
        email,
        String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'),
        LENIENT_LOCKOUT,
      ),
    );
    const statuses = (await Promise.all(guesses)).map((r) => r.status);
    expect(statuses).toEqual(new Array(20).fill(401));
    // One HMAC per compared code, and nothing else here signs.
    expect(sign).toHaveBeenCalledTimes(5);
    const reasons = (await auditFor(email, 'login.failed')).map((e) => e.detail.reason);
    expect(reasons.filter((r) => r === 'wrong_code')).toHaveLength(5);
    expect(reasons.filter((r) => r === 'no_code')).toHaveLength(15);
    expect((await codeRows(email))[0]!.attempts).toBe(5);
    sign.mockRestore();
    await expectProblem(await verifyCode(email, code, LENIENT_LOCKOUT), 401, 'invalid_code');
  });

  it('lets exactly one of two parallel right answers sign in', async () => {
    const { email, code, user } = await withCode();
    const results = await Promise.all([verifyCode(email, code), verifyCode(email, code)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const sessions = await (
      await userSessionsDb(user.id)
    )
      .prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
      .bind(user.id)
      .first<{ n: number }>();
    expect(sessions!.n).toBe(1);
    expect(await auditFor(email, 'login.succeeded')).toHaveLength(1);
  });

  it('opens one second step for two parallel right answers of a TOTP user, in one batch', async () => {
    const account = await enrolled();
    const token = await mailedToken(account.email, 'verify-email');
    expect((await call('/auth/email/verify', json({ token }))).status).toBe(200);
    await sendCode(account.email);
    const code = await mailedCode(account.email);
    const results = await Promise.all([
      verifyCode(account.email, code),
      verifyCode(account.email, code),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    const open = 'SELECT COUNT(*) AS n FROM mfa_challenges WHERE user_id = ? AND used_at IS NULL';
    expect(await count(open, account.user.id)).toBe(1);
  });

  it('answers mfa_required when TOTP is on; the second step then signs in', async () => {
    const account = await enrolled();
    const token = await mailedToken(account.email, 'verify-email');
    expect((await call('/auth/email/verify', json({ token }))).status).toBe(200);
    await sendCode(account.email);
    const code = await mailedCode(account.email);
    const res = await verifyCode(account.email, code);
    expect(res.status).toBe(200);
    expect(res.headers.get('Set-Cookie')).toBeNull();
    const step = (await res.json()) as { mfa_required: boolean; mfa_token: string };
    expect(step).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
    // The mfa_token is no access token.
    expect((await me(step.mfa_token)).status).toBe(401);
    // The code is spent; the right code gave its lockout attempt back.
    await expectProblem(await verifyCode(account.email, code), 401, 'invalid_code');
    const verified = await call(
      '/auth/mfa/verify',
      // The step after the one that turned TOTP on (a step is accepted once).
      json({ mfa_token: step.mfa_token, code: await codeFor(account.secret, 1) }),
    );
    expect(verified.status).toBe(200);
  });

  it('tells a disabled account so only with the right code', async () => {
    const { email, code } = await withCode();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE email = ?')
      .bind(Date.now(), email)
      .run();
    await expectProblem(await verifyCode(email, wrongCode(code)), 401, 'invalid_code');
    await expectProblem(await verifyCode(email, code), 403, 'account_disabled');
  });

  it('writes no secret into the audit log', async () => {
    const { email, code } = await withCode();
    await verifyCode(email, wrongCode(code));
    await verifyCode(email, code);
    const { results } = await env.DB.prepare('SELECT detail FROM audit_events').all<{
      detail: string;
    }>();
    const log = results.map((r) => r.detail).join('\n');
    expect(log).not.toContain(code);
    expect(log).not.toContain(wrongCode(code));
  });

  it.each([
    ['a number for the code', 422, (email: string) => `{"email":"${email}","code":123456}`],
    ['no code', 422, (email: string) => `{"email":"${email}"}`],
    ['malformed JSON', 400, (email: string) => `{"email":"${email}","code":`],
    ['a JSON array', 400, (email: string) => `["${email}"]`],
  ] as const)('refuses %s with problem+json %i and counts nothing', async (_name, status, body) => {
    const { email } = await withCode();
    const res = await call('/auth/email-code/verify', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: body(email),
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await count('SELECT COUNT(*) AS n FROM login_failures WHERE email = ?', email)).toBe(0);
    expect((await codeRows(email))[0]).toMatchObject({ attempts: 0, used_at: null });
  });

  it('refuses a form post (415) and a bodiless one (422) without a 500', async () => {
    const form = await call('/auth/email-code/verify', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'email=a%40b.co&code=123456',
    });
    await expectProblem(form, 415, 'unsupported_media_type');
    await expectProblem(
      await call('/auth/email-code/verify', { method: 'POST' }),
      422,
      'validation_failed',
    );
  });
});
