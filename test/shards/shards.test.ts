import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { sha256 } from '../../src/crypto/tokens';
import { database } from '../../src/db/client';
import { openSession } from '../../src/sessions/store';
import { assignShard, parseRefreshToken, refreshTokenFor } from '../../src/shards';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailedToken,
  me,
  refresh,
  register,
  signedInAdmin,
  uniqueEmail,
  withBearer,
  type Tokens,
} from '../helpers';
import { count, dbOfSession, shardDb, signedInOn } from './helpers';

// Sessions sharded by user over DB (shard 0) and SESSIONS_1 (docs/sharding.md). Every flow runs
// for a user of each shard against the two real local D1 databases.

const ok = async (res: Response) => {
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Tokens;
};
const post = (token: string, path: string, body?: unknown) =>
  call(path, withBearer(token, body === undefined ? { method: 'POST' } : json(body)));
const sessionRow = (sessionId: string) =>
  dbOfSession(sessionId)
    .prepare('SELECT revoked_at, revoke_reason FROM sessions WHERE id = ?')
    .bind(sessionId)
    .first<{ revoked_at: number | null; revoke_reason: string | null }>();
const other = (n: number) => shardDb(1 - n);

describe('assignment', () => {
  it('spreads new users over both shards and fixes the shard at the first sign-in', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const { email, user } = await register(uniqueEmail('spread'));
      const tokens = await login(email);
      const expected = assignShard(user.id, 2);
      seen.add(expected);
      expect(tokens.session_id.startsWith('1.')).toBe(expected === 1);
      const stored = await env.DB.prepare('SELECT session_shard FROM users WHERE id = ?')
        .bind(user.id)
        .first<{ session_shard: number }>();
      expect(stored!.session_shard).toBe(expected);
      expect(
        await count(
          shardDb(expected),
          'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?',
          user.id,
        ),
      ).toBe(1);
      expect(
        await count(
          shardDb(1 - expected),
          'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?',
          user.id,
        ),
      ).toBe(0);
    }
    // FNV-1a of 8 UUIDv7s landing all on one side would be a broken hash (p = 2^-7).
    expect(seen).toEqual(new Set([0, 1]));
  });

  it('keeps a stored shard although the hash over the count says otherwise', async () => {
    const { email, user } = await register(uniqueEmail('fixed'));
    const pinned = 1 - assignShard(user.id, 2);
    await env.DB.prepare('UPDATE users SET session_shard = ? WHERE id = ?')
      .bind(pinned, user.id)
      .run();
    const tokens = await login(email);
    expect(tokens.session_id.startsWith('1.')).toBe(pinned === 1);
  });
});

describe.each([0, 1])('a user on shard %i', (n) => {
  it('signs in, refreshes, retries in the grace window and is revoked on reuse', async () => {
    const { user, tokens } = await signedInOn(n);
    expect(parseRefreshToken(tokens.refresh_token)).toEqual({
      shard: n,
      userId: n === 0 ? null : user.id,
    });
    expect(
      await count(other(n), 'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', user.id),
    ).toBe(0);
    const r1 = await ok(await refresh(tokens.refresh_token));
    expect(r1.session_id).toBe(tokens.session_id);
    const retry = await ok(await refresh(tokens.refresh_token));
    expect(retry.refresh_token).toBe(r1.refresh_token);
    expect((await me(r1.access_token)).status).toBe(200);
    const r2 = await ok(await refresh(r1.refresh_token));
    // The grandparent again, its successor already used: reuse, the whole session ends.
    await expectProblem(await refresh(tokens.refresh_token), 401, 'refresh_token_reused');
    await expectProblem(await refresh(r2.refresh_token), 401, 'invalid_refresh_token');
    expect((await me(r2.access_token)).status).toBe(401);
    expect((await sessionRow(tokens.session_id))!.revoke_reason).toBe('refresh_token_reused');
    // The rotation and the reuse are audited where the session lives, and listed by the admin.
    const audited = await count(
      shardDb(n),
      "SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type IN ('token.refreshed', 'token.reuse_detected')",
      user.id,
    );
    expect(audited).toBe(3);
    const admin = await signedInAdmin();
    const res = await call(
      `/admin/audit?user_id=${user.id}&type=token.refreshed`,
      withBearer(admin.tokens.access_token),
    );
    const { events } = (await res.json()) as { events: { type: string }[] };
    expect(events.map((e) => e.type)).toEqual(['token.refreshed', 'token.refreshed']);
  });

  it('rotates exactly once for 10 parallel refreshes of one token', async () => {
    const { tokens } = await signedInOn(n);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => refresh(tokens.refresh_token)),
    );
    const bodies = await Promise.all(results.map((r) => r.json() as Promise<Tokens>));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(new Set(bodies.map((b) => b.refresh_token)).size).toBe(1);
    const children = await count(
      shardDb(n),
      'SELECT COUNT(*) AS n FROM refresh_tokens WHERE parent_id = (SELECT id FROM refresh_tokens WHERE token_hash = ?)',
      await sha256(tokens.refresh_token),
    );
    expect(children).toBe(1);
  });

  it('signs out one session, lists and revokes another, then signs out everywhere', async () => {
    const { email, tokens } = await signedInOn(n);
    const second = await login(email);
    const third = await login(email);
    const list = await call('/users/me/sessions', withBearer(tokens.access_token));
    const { sessions } = (await list.json()) as { sessions: { id: string; current: boolean }[] };
    expect(sessions.map((s) => s.id).sort()).toEqual(
      [tokens.session_id, second.session_id, third.session_id].sort(),
    );
    expect(sessions.find((s) => s.current)!.id).toBe(tokens.session_id);

    const revoked = await call(
      `/users/me/sessions/${second.session_id}`,
      withBearer(tokens.access_token, { method: 'DELETE' }),
    );
    expect(revoked.status).toBe(204);
    expect((await sessionRow(second.session_id))!.revoke_reason).toBe('revoked_by_user');
    await expectProblem(await refresh(second.refresh_token), 401, 'invalid_refresh_token');

    const out = await call('/auth/logout', json({ refresh_token: third.refresh_token }));
    expect(out.status).toBe(204);
    expect((await sessionRow(third.session_id))!.revoke_reason).toBe('logout');
    expect((await me(third.access_token)).status).toBe(401);

    expect((await post(tokens.access_token, '/auth/logout-all')).status).toBe(204);
    expect((await sessionRow(tokens.session_id))!.revoke_reason).toBe('logout_all');
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
  });

  it('ends the other sessions on a password change and all of them on a reset', async () => {
    const { email, tokens } = await signedInOn(n);
    const other = await login(email);
    const NEW = 'a brand new passphrase 42';
    const changed = await post(tokens.access_token, '/users/me/password', {
      current_password: PASSWORD,
      new_password: NEW,
    });
    expect(changed.status).toBe(204);
    await expectProblem(await refresh(other.refresh_token), 401, 'invalid_refresh_token');
    const kept = await ok(await refresh(tokens.refresh_token));

    expect((await call('/auth/password/forgot', json({ email }))).status).toBe(202);
    const token = await mailedToken(email, 'reset-password');
    const reset = await call(
      '/auth/password/reset',
      json({ token, new_password: 'yet another passphrase 7' }),
    );
    expect(reset.status).toBe(204);
    await expectProblem(await refresh(kept.refresh_token), 401, 'invalid_refresh_token');
    expect((await sessionRow(tokens.session_id))!.revoke_reason).toBe('password_reset');
  });

  it('refuses a disabled user and carries a changed role at the next refresh', async () => {
    const { user, tokens } = await signedInOn(n);
    const admin = await signedInAdmin();
    const patch = (body: unknown) =>
      call(
        `/admin/users/${user.id}`,
        withBearer(admin.tokens.access_token, { ...json(body), method: 'PATCH' }),
      );
    expect((await patch({ role: 'admin' })).status).toBe(200);
    const promoted = await ok(await refresh(tokens.refresh_token));
    const claims = JSON.parse(
      atob(promoted.access_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')),
    );
    expect(claims.role).toBe('admin');
    expect((await patch({ role: 'user', disabled: true })).status).toBe(200);
    await expectProblem(await refresh(promoted.refresh_token), 401, 'invalid_refresh_token');
    expect((await sessionRow(tokens.session_id))!.revoke_reason).toBe('user_disabled');
  });

  it('exports the sessions and their events, and deletes them with the account', async () => {
    const { user, tokens } = await signedInOn(n);
    const next = await ok(await refresh(tokens.refresh_token));
    const res = await call('/users/me/export', withBearer(next.access_token));
    expect(res.status).toBe(200);
    const data = (await res.json()) as {
      sessions: { id: string }[];
      audit_events: { type: string }[];
    };
    expect(data.sessions.map((s) => s.id)).toEqual([tokens.session_id]);
    expect(JSON.stringify(data)).toContain('token.refreshed');

    expect((await post(next.access_token, '/users/me/delete', { password: PASSWORD })).status).toBe(
      204,
    );
    for (const db of [shardDb(0), shardDb(1)]) {
      expect(await count(db, 'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', user.id)).toBe(
        0,
      );
      expect(
        await count(
          db,
          'SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND ip IS NOT NULL',
          user.id,
        ),
      ).toBe(0);
    }
    await expectProblem(await refresh(next.refresh_token), 401, 'invalid_refresh_token');
  });
});

describe('tokens and ids that point elsewhere', () => {
  it('answers 401 invalid_refresh_token for a changed marker or user id, never 500', async () => {
    const { tokens } = await signedInOn(1);
    const victim = await signedInOn(1, 'victim');
    const secret = tokens.refresh_token.slice(0, 43);
    const forged = [
      `${secret}P${tokens.refresh_token.slice(44)}`, // shard 15: no such binding
      `${secret}C${tokens.refresh_token.slice(44)}`, // shard 2: not configured
      refreshTokenFor(1, victim.user.id, secret), // someone else's user id
      secret, // the marker dropped: looked up on the main database
      `${tokens.refresh_token}A`, // a user id that is not base64url of one
      `${secret}B`, // a marker without a user id
    ];
    for (const token of forged) {
      await expectProblem(await refresh(token), 401, 'invalid_refresh_token');
    }
    // None of them touched the real session or the victim's.
    await ok(await refresh(tokens.refresh_token));
    await ok(await refresh(victim.tokens.refresh_token));
  });

  it('answers 404 for a session id whose marker names no shard', async () => {
    const { tokens } = await signedInOn(1);
    for (const id of [`9.${tokens.session_id.slice(2)}`, `01.x`, tokens.session_id.slice(2)]) {
      const res = await call(
        `/users/me/sessions/${encodeURIComponent(id)}`,
        withBearer(tokens.access_token, { method: 'DELETE' }),
      );
      await expectProblem(res, 404, 'not_found');
    }
    expect((await sessionRow(tokens.session_id))!.revoked_at).toBeNull();
  });
});

describe('a failure between the two databases', () => {
  const trigger = (name: string, on: string) =>
    env.SESSIONS_1.prepare(
      `CREATE TRIGGER ${name} BEFORE ${on} BEGIN SELECT RAISE(ABORT, 'shard down'); END`,
    ).run();
  const drop = (name: string) => env.SESSIONS_1.prepare(`DROP TRIGGER ${name}`).run();

  it('a password change whose shard fails changes no password; the retry completes it', async () => {
    const { email, tokens } = await signedInOn(1);
    const other = await login(email);
    const NEW = 'changed after the fault 99';
    await trigger('down_revoke', 'UPDATE ON sessions');
    try {
      const res = await post(tokens.access_token, '/users/me/password', {
        current_password: PASSWORD,
        new_password: NEW,
      });
      expect([500, 503]).toContain(res.status);
    } finally {
      await drop('down_revoke');
    }
    // The main database's batch never ran: the old password still signs in.
    await login(email, PASSWORD);
    const retry = await post(tokens.access_token, '/users/me/password', {
      current_password: PASSWORD,
      new_password: NEW,
    });
    expect(retry.status).toBe(204);
    await expectProblem(await refresh(other.refresh_token), 401, 'invalid_refresh_token');
  });

  it('a disable whose shard fails still refuses the refresh (the user is read from DB)', async () => {
    const { user, tokens } = await signedInOn(1);
    const admin = await signedInAdmin();
    await trigger('down_disable', 'UPDATE ON sessions');
    try {
      const res = await call(
        `/admin/users/${user.id}`,
        withBearer(admin.tokens.access_token, { ...json({ disabled: true }), method: 'PATCH' }),
      );
      expect([500, 503]).toContain(res.status);
    } finally {
      await drop('down_disable');
    }
    expect((await sessionRow(tokens.session_id))!.revoked_at).toBeNull();
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
    expect((await me(tokens.access_token)).status).toBe(401);
  });

  it('a sign-in whose shard write fails hands out no token and no session', async () => {
    const { email, user } = await signedInOn(1);
    await trigger('down_insert', 'INSERT ON sessions');
    try {
      const res = await call('/auth/login', json({ email, password: PASSWORD }));
      expect([500, 503]).toContain(res.status);
      expect(await res.text()).not.toContain('refresh_token');
    } finally {
      await drop('down_insert');
    }
    expect(
      await count(env.SESSIONS_1, 'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', user.id),
    ).toBe(1);
  });

  it('a session opened on the shard for an account deleted meanwhile is removed again', async () => {
    const { user, tokens } = await signedInOn(1);
    expect(
      (await post(tokens.access_token, '/users/me/delete', { password: PASSWORD })).status,
    ).toBe(204);
    const db = database(env.DB);
    const meta = { ip: '203.0.113.9', userAgent: 'race' };
    const session = await openSession(
      db,
      loadConfig(env),
      { id: user.id, sessionShard: 1 },
      meta,
      Date.now(),
    );
    const [gate] = await db.batch([...session.statements]);
    expect(await session.settle(gate)).toBe(false);
    await expect(session.confirm(gate)).rejects.toThrow('Invalid email or password.');
    expect(
      await count(
        env.SESSIONS_1,
        'SELECT COUNT(*) AS n FROM sessions WHERE id = ?',
        session.sessionId,
      ),
    ).toBe(0);
    await expectProblem(await refresh(session.refreshToken), 401, 'invalid_refresh_token');
  });
});
