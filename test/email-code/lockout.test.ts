// A mailed code is one more proof under the one lockout per address (API.md, after the
// authentication table): failures of codes and passwords add up, a lock refuses every proof with
// 423 without checking it, and no success lifts a lock.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, call, expectProblem, json, uniqueEmail } from '../helpers';
import {
  auditFor,
  codeRows,
  mailedCode,
  sendCode,
  verifyCode,
  withCode,
  wrongCode,
} from './helpers';

const login = (email: string, password: string) => call('/auth/login', json({ email, password }));
const lockOf = (email: string) =>
  env.DB.prepare('SELECT failures, locked_until FROM login_failures WHERE email = ?')
    .bind(email)
    .first<{ failures: number; locked_until: number | null }>();

describe('email codes under the lockout', () => {
  it('locks the address at the fifth wrong code; then 423 even for the right code', async () => {
    const { email, code } = await withCode();
    // A new code after four guesses, so the code's own limit of 5 is not what refuses.
    for (let i = 0; i < 4; i++) {
      await expectProblem(await verifyCode(email, wrongCode(code)), 401, 'invalid_code');
    }
    await sendCode(email);
    const fresh = await mailedCode(email);
    expect((await codeRows(email)).at(-1)!.attempts).toBe(0);
    await expectProblem(await verifyCode(email, wrongCode(fresh)), 401, 'invalid_code');
    // Locked by that fifth failure itself, and audited once, before anything else is tried.
    expect((await lockOf(email))!.locked_until).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(await auditFor(email, 'account.locked')).toHaveLength(1);
    const locked = await verifyCode(email, fresh);
    await expectProblem(locked, 423, 'account_locked');
    expect(Number(locked.headers.get('Retry-After'))).toBeGreaterThan(14 * 60);
    // The password is refused too: one lock for every proof.
    await expectProblem(await login(email, PASSWORD), 423, 'account_locked');
    expect(await auditFor(email, 'account.locked')).toHaveLength(1);
  });

  it('counts wrong passwords and wrong codes together towards one threshold', async () => {
    const { email, code } = await withCode();
    for (let i = 0; i < 3; i++) {
      await expectProblem(
        await login(email, 'not the password at all'),
        401,
        'invalid_credentials',
      );
    }
    for (let i = 0; i < 2; i++) {
      await expectProblem(await verifyCode(email, wrongCode(code)), 401, 'invalid_code');
    }
    await expectProblem(await login(email, PASSWORD), 423, 'account_locked');
    await expectProblem(await verifyCode(email, code), 423, 'account_locked');
  });

  it('checks no code while locked, counts nothing, and the right code does not lift it', async () => {
    const { email, code } = await withCode();
    for (let i = 0; i < 5; i++) await login(email, 'not the password at all');
    const before = await lockOf(email);
    expect(before!.locked_until).toBeGreaterThan(Date.now());
    for (let i = 0; i < 3; i++) {
      await expectProblem(await verifyCode(email, code), 423, 'account_locked');
    }
    expect(await lockOf(email)).toEqual(before);
    // The code was not even claimed: it still has all its attempts once the lock is over.
    expect((await codeRows(email))[0]).toMatchObject({ attempts: 0, used_at: null });
    await env.DB.prepare('UPDATE login_failures SET locked_until = ? WHERE email = ?')
      .bind(Date.now() - 1, email)
      .run();
    expect((await verifyCode(email, code)).status).toBe(200);
  });

  it('clears the count on success: four failures, a right code, then four more do not lock', async () => {
    const { email } = await withCode();
    for (let i = 0; i < 4; i++) await login(email, 'not the password at all');
    await sendCode(email);
    const rows = await codeRows(email);
    expect(rows).toHaveLength(2);
    expect((await verifyCode(email, await mailedCode(email))).status).toBe(200);
    expect(await lockOf(email)).toBeNull();
    for (let i = 0; i < 4; i++) await login(email, 'not the password at all');
    expect((await login(email, PASSWORD)).status).toBe(200);
  });

  it('locks an unknown address the same way (a lock reveals nothing)', async () => {
    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) {
      await expectProblem(await verifyCode(ghost, '123456'), 401, 'invalid_code');
    }
    await expectProblem(await verifyCode(ghost, '123456'), 423, 'account_locked');
  });

  it('records each failure with its reason and attempt, never the code', async () => {
    const { email, code } = await withCode();
    await verifyCode(email, wrongCode(code));
    const [event] = await auditFor(email, 'login.failed');
    expect(event!.detail).toEqual({
      email,
      attempt: 1,
      via: 'email_code',
      reason: 'wrong_code',
      code_attempt: 1,
    });
  });
});
