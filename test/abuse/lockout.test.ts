import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PASSWORD, call, expectProblem, json, register, uniqueEmail } from '../helpers';

afterEach(() => vi.restoreAllMocks());

const attempt = (email: string, password: string) => call('/auth/login', json({ email, password }));
const WRONG = 'definitely not it';

async function fail(email: string, times: number) {
  for (let i = 0; i < times; i++) {
    await expectProblem(await attempt(email, WRONG), 401, 'invalid_credentials');
  }
}

const lockedEvents = async (email: string) =>
  (await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'account.locked' AND json_extract(detail, '$.email') = ?",
  )
    .bind(email)
    .first<{ n: number }>())!.n;

describe('login lockout', () => {
  it('locks at exactly the fifth failure, then refuses even the right password with 423', async () => {
    const { email } = await register();
    await fail(email, 4);
    expect((await attempt(email, PASSWORD)).status).toBe(200); // a success resets the count
    await fail(email, 5);
    const locked = await attempt(email, PASSWORD);
    await expectProblem(locked, 423, 'account_locked');
    const retryAfter = Number(locked.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(await lockedEvents(email)).toBe(1);
  });

  it('checks no password at all while locked, and does not extend the lock', async () => {
    const { email } = await register();
    await fail(email, 5);
    const before = await env.DB.prepare('SELECT * FROM login_failures WHERE email = ?')
      .bind(email)
      .first();
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    for (let i = 0; i < 3; i++)
      await expectProblem(await attempt(email, WRONG), 423, 'account_locked');
    expect(derive).not.toHaveBeenCalled();
    const after = await env.DB.prepare('SELECT * FROM login_failures WHERE email = ?')
      .bind(email)
      .first();
    expect(after).toEqual(before);
  });

  it('lifts the lock once its time has passed (chosen timestamps, no sleeping)', async () => {
    const { email } = await register();
    await fail(email, 5);
    await env.DB.prepare('UPDATE login_failures SET locked_until = ? WHERE email = ?')
      .bind(Date.now() - 1, email)
      .run();
    expect((await attempt(email, PASSWORD)).status).toBe(200);
    // And a new window starts from zero: four more failures do not lock.
    await fail(email, 4);
    expect((await attempt(email, PASSWORD)).status).toBe(200);
  });

  it('forgets failures older than the window', async () => {
    const { email } = await register();
    await fail(email, 4);
    await env.DB.prepare('UPDATE login_failures SET window_started_at = ? WHERE email = ?')
      .bind(Date.now() - 16 * 60_000, email)
      .run();
    await fail(email, 4);
    expect((await attempt(email, PASSWORD)).status).toBe(200);
  });

  it('makes 20 parallel wrong passwords check 5 passwords and lock exactly once', async () => {
    const { email } = await register();
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    const responses = await Promise.all(Array.from({ length: 20 }, () => attempt(email, WRONG)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 401).length).toBe(5);
    expect(statuses.filter((s) => s === 423).length).toBe(15);
    expect(derive).toHaveBeenCalledTimes(5);
    expect(await lockedEvents(email)).toBe(1);
    await expectProblem(await attempt(email, PASSWORD), 423, 'account_locked');
  });

  it('locks a nonexistent email exactly the same way (a lock reveals nothing)', async () => {
    const ghost = uniqueEmail('ghost');
    const { email } = await register();
    for (let i = 0; i < 5; i++) {
      const a = await attempt(ghost, WRONG);
      const b = await attempt(email, WRONG);
      expect([a.status, b.status]).toEqual([401, 401]);
    }
    const [a, b] = [await attempt(ghost, WRONG), await attempt(email, WRONG)];
    expect([a.status, b.status]).toEqual([423, 423]);
    const strip = (t: string) => t.replace(/"request_id":"[^"]+"/, '');
    expect(strip(await a.text())).toBe(strip(await b.text()));
    // A later registration of that email is not blocked.
    expect((await call('/auth/register', json({ email: ghost, password: PASSWORD }))).status).toBe(
      201,
    );
  });

  it('counts case and Unicode variants of one email together', async () => {
    const { email } = await register();
    const variants = [
      email,
      email.toUpperCase(),
      ` ${email}`,
      email.replace('@', '@'),
      `${email} `,
    ];
    for (const v of variants) await attempt(v, WRONG);
    await expectProblem(await attempt(email, PASSWORD), 423, 'account_locked');
  });

  it('counts wrong current passwords on password change towards the same lock', async () => {
    const { email } = await register();
    const login = (await (await attempt(email, PASSWORD)).json()) as { access_token: string };
    const change = () =>
      call('/users/me/password', {
        ...json({ current_password: WRONG, new_password: 'another fine passphrase' }),
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${login.access_token}`,
        },
      });
    for (let i = 0; i < 5; i++)
      await expectProblem(await change(), 403, 'invalid_current_password');
    await expectProblem(await change(), 423, 'account_locked');
    await expectProblem(await attempt(email, PASSWORD), 423, 'account_locked');
  });
});
