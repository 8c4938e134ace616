import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailTo,
  refresh,
  register,
  signedIn,
  signedInAdmin,
  uniqueEmail,
  withBearer,
  sessionDb,
  userSessionsDb,
  onMainDatabase,
} from '../helpers';
import { loadConfig } from '../../src/config';
import { database } from '../../src/db/client';
import { openSession } from '../../src/sessions/store';
import { codeFor, enrolled } from '../totp';
import { count, post } from './helpers';

const countIn = async (db: D1Database, query: string, ...binds: unknown[]) =>
  (await db
    .prepare(query)
    .bind(...binds)
    .first<{ n: number }>())!.n;

const deleteMe = (token: string, body: unknown) => post(token, '/users/me/delete', body);

/** Every row keyed by the user's id or address, across the tables that hold personal data. */
async function leftovers(userId: string, email: string) {
  return {
    users: await count('SELECT COUNT(*) AS n FROM users WHERE id = ? OR email = ?', userId, email),
    sessions:
      (await count('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', userId)) +
      (await countIn(
        env.SESSIONS_1,
        'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?',
        userId,
      )),
    refresh: await count(
      `SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id NOT IN (SELECT id FROM sessions)`,
    ),
    tokens: await count('SELECT COUNT(*) AS n FROM one_time_tokens WHERE user_id = ?', userId),
    codes: await count('SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = ?', userId),
    emailCodes: await count('SELECT COUNT(*) AS n FROM email_codes WHERE email = ?', email),
    failures: await count('SELECT COUNT(*) AS n FROM login_failures WHERE email = ?', email),
    mailbox: await count(
      "SELECT COUNT(*) AS n FROM dev_mailbox WHERE `to` = ? AND subject NOT LIKE '%was deleted'",
      email,
    ),
    auditWithIp: await count(
      'SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND (ip IS NOT NULL OR user_agent IS NOT NULL)',
      userId,
    ),
    auditWithEmail: await count(
      'SELECT COUNT(*) AS n FROM audit_events WHERE instr(detail, ?) > 0',
      JSON.stringify(email),
    ),
  };
}

const NOTHING = {
  users: 0,
  sessions: 0,
  refresh: 0,
  tokens: 0,
  codes: 0,
  emailCodes: 0,
  failures: 0,
  mailbox: 0,
  auditWithIp: 0,
  auditWithEmail: 0,
};

describe('POST /users/me/delete', () => {
  it('erases the account and keeps its audit events without address, IP or user agent', async () => {
    const { email, user, tokens } = await signedIn();
    const headers = { 'CF-Connecting-IP': '198.51.100.7', 'User-Agent': 'test-agent' };
    const other = await login(email, PASSWORD, headers);
    await call('/auth/login', json({ email, password: 'wrong password here!' }));
    await call('/auth/email-code/send', json({ email }));
    await call('/auth/password/forgot', json({ email }));
    const before = await count('SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ?', user.id);
    const res = await deleteMe(tokens.access_token, { password: PASSWORD });
    expect(res.status).toBe(204);
    expect(await leftovers(user.id, email)).toEqual(NOTHING);
    const after = await count('SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ?', user.id);
    expect(after).toBe(before + 1);
    const deleted = await env.DB.prepare(
      "SELECT ip, detail FROM audit_events WHERE user_id = ? AND type = 'account.deleted'",
    )
      .bind(user.id)
      .first<{ ip: string | null; detail: string }>();
    expect(deleted).toEqual({ ip: null, detail: '{"by":"self"}' });
    // Every access token and refresh token is dead at once, also on a route that does not read
    // the user row (the KV cut-off, which is what a token's other checks would miss).
    for (const t of [tokens, other]) {
      await expectProblem(await call('/users/me', withBearer(t.access_token)), 401, 'unauthorized');
      const sessions = await call('/users/me/sessions', withBearer(t.access_token));
      await expectProblem(sessions, 401, 'unauthorized');
      await expectProblem(await refresh(t.refresh_token), 401, 'invalid_refresh_token');
    }
    expect((await mailTo(email)).map((m) => m.subject)).toEqual([
      'Your Edge Auth account was deleted',
    ]);
  });

  it('signs in with the old address like an unknown one, and lets it register again, empty', async () => {
    const { email, user, tokens } = await signedIn();
    expect((await deleteMe(tokens.access_token, { password: PASSWORD })).status).toBe(204);
    const res = await call('/auth/login', json({ email, password: PASSWORD }));
    await expectProblem(res, 401, 'invalid_credentials');
    const again = await register(email);
    expect(again.user.id).not.toBe(user.id);
    const fresh = await login(email);
    const sessions = await call('/users/me/sessions', withBearer(fresh.access_token));
    expect(((await sessions.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
  });

  it('refuses a wrong or missing password with 403 and deletes nothing', async () => {
    const { email, user, tokens } = await signedIn();
    const wrong = await deleteMe(tokens.access_token, { password: 'not the password at all' });
    await expectProblem(wrong, 403, 'invalid_current_password');
    await expectProblem(await deleteMe(tokens.access_token, {}), 403, 'invalid_current_password');
    const bodiless = await call(
      '/users/me/delete',
      withBearer(tokens.access_token, { method: 'POST' }),
    );
    await expectProblem(bodiless, 403, 'invalid_current_password');
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.id)).toBe(1);
    await login(email);
  });

  it('counts wrong passwords under the lockout (423 after five)', async () => {
    const { tokens } = await signedIn();
    for (let i = 0; i < 5; i++)
      await deleteMe(tokens.access_token, { password: `wrong-${i}-password` });
    await expectProblem(
      await deleteMe(tokens.access_token, { password: PASSWORD }),
      423,
      'account_locked',
    );
  });

  it('needs the TOTP (or a recovery) code when two-factor is on', async () => {
    const account = await enrolled();
    const t = account.tokens.access_token;
    await expectProblem(await deleteMe(t, { password: PASSWORD }), 403, 'invalid_mfa_code');
    await expectProblem(
      await deleteMe(t, { password: PASSWORD, code: '000000' }),
      403,
      'invalid_mfa_code',
    );
    // The current step was spent by the enrolment; the next one is within the allowed skew.
    const res = await deleteMe(t, { password: PASSWORD, code: await codeFor(account.secret, 1) });
    expect(res.status).toBe(204);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = ?',
        account.user.id,
      ),
    ).toBe(0);
  });

  it('accepts a recovery code as the second factor', async () => {
    const account = await enrolled();
    const res = await deleteMe(account.tokens.access_token, {
      password: PASSWORD,
      code: account.recoveryCodes[0],
    });
    expect(res.status).toBe(204);
  });

  it('lets an account without a password delete itself only within 10 minutes of signing in', async () => {
    const { user, tokens } = await signedIn();
    await env.DB.prepare("UPDATE users SET password_hash = '' WHERE id = ?").bind(user.id).run();
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET created_at = ? WHERE id = ?')
      .bind(Date.now() - 11 * 60_000, tokens.session_id)
      .run();
    await expectProblem(await deleteMe(tokens.access_token, {}), 403, 'recent_sign_in_required');
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET created_at = ? WHERE id = ?')
      .bind(Date.now(), tokens.session_id)
      .run();
    expect((await deleteMe(tokens.access_token, {})).status).toBe(204);
  });

  it('answers 401 without an access token', async () => {
    await expectProblem(
      await call('/users/me/delete', json({ password: PASSWORD })),
      401,
      'unauthorized',
    );
  });

  it('leaves no session behind when a refresh races the deletion', async () => {
    const { email, user, tokens } = await signedIn();
    const other = await login(email);
    const [deleted, refreshed] = await Promise.all([
      deleteMe(tokens.access_token, { password: PASSWORD }),
      refresh(other.refresh_token),
    ]);
    expect(deleted.status).toBe(204);
    expect([200, 401]).toContain(refreshed.status);
    if (refreshed.status === 200) {
      const won = (await refreshed.json()) as { access_token: string; refresh_token: string };
      // Whichever ran first, what the refresh handed out is dead now.
      await expectProblem(
        await call('/users/me', withBearer(won.access_token)),
        401,
        'unauthorized',
      );
      await expectProblem(await refresh(won.refresh_token), 401, 'invalid_refresh_token');
    }
    expect(await leftovers(user.id, email)).toEqual(NOTHING);
  });
});

describe('a sign-in racing the deletion', () => {
  it('opens no session for an account deleted after its password was checked (no 500)', async () => {
    // The sign-in's batch runs after the deletion's: its session insert must not reach the
    // foreign key (which would fail the whole batch), and must write nothing.
    const { email, user, tokens } = await signedIn();
    expect((await deleteMe(tokens.access_token, { password: PASSWORD })).status).toBe(204);
    const db = database(env.DB);
    const meta = { ip: '203.0.113.9', userAgent: 'race' };
    const session = await openSession(
      db,
      loadConfig(env),
      { id: user.id, sessionShard: 0 },
      meta,
      Date.now(),
    );
    await db.batch([...session.statements]);
    expect(await leftovers(user.id, email)).toEqual(NOTHING);
    expect(await count('SELECT COUNT(*) AS n FROM sessions WHERE id = ?', session.sessionId)).toBe(
      0,
    );
  });
});

describe('a password sign-in whose session is not written', () => {
  it('answers 401 invalid_credentials, never tokens for a session that does not exist', async () => {
    // What an account deleted between the sign-in's read and its write looks like to the
    // sign-in: its session insert writes nothing (openSession's EXISTS). A trigger makes that
    // moment certain; a real race of two requests cannot be timed inside one isolate.
    // The main database's session insert (shard 0); a shard's is test/shards/'s.
    const { email, user } = await signedIn();
    await onMainDatabase(user.id);
    await env.DB.prepare(
      `CREATE TRIGGER vanish BEFORE INSERT ON sessions WHEN NEW.user_id = '${user.id}'
       BEGIN SELECT RAISE(IGNORE); END`,
    ).run();
    try {
      const res = await call('/auth/login', json({ email, password: PASSWORD }));
      await expectProblem(res, 401, 'invalid_credentials');
      const succeeded = await count(
        "SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'login.succeeded'",
        user.id,
      );
      expect(succeeded).toBe(1); // the sign-in of signedIn() only
    } finally {
      await env.DB.prepare('DROP TRIGGER vanish').run();
    }
  });
});

describe('the last admin', () => {
  async function onlyAdmins(...ids: string[]) {
    await env.DB.prepare(
      `UPDATE users SET role = 'user' WHERE role = 'admin' AND id NOT IN (${ids.map(() => '?').join(',')})`,
    )
      .bind(...ids)
      .run();
  }

  it('cannot delete themselves (409 last_admin), and nothing is erased', async () => {
    const admin = await signedInAdmin();
    await onlyAdmins(admin.user.id);
    const res = await deleteMe(admin.tokens.access_token, { password: PASSWORD });
    await expectProblem(res, 409, 'last_admin');
    expect(
      await countIn(
        await userSessionsDb(admin.user.id),
        'SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?',
        admin.user.id,
      ),
    ).toBe(1);
    // Refused before anything was taken or cut: the session goes on as before.
    expect((await call('/users/me', withBearer(admin.tokens.access_token))).status).toBe(200);
    expect((await refresh(admin.tokens.refresh_token)).status).toBe(200);
  });

  it('is refused before a recovery code is spent on a deletion that cannot happen', async () => {
    const account = await enrolled();
    const { id } = (await env.DB.prepare('SELECT id FROM users WHERE email = ?')
      .bind(account.email)
      .first<{ id: string }>())!;
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(id).run();
    await onlyAdmins(id);
    const code = account.recoveryCodes[0]!;
    const res = await deleteMe(account.tokens.access_token, { password: PASSWORD, code });
    await expectProblem(res, 409, 'last_admin');
    const unused = await count(
      'SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL',
      id,
    );
    expect(unused).toBe(account.recoveryCodes.length);
  });

  it('of two admins deleting themselves at once, exactly one succeeds', async () => {
    const a = await signedInAdmin();
    const b = await signedInAdmin();
    await onlyAdmins(a.user.id, b.user.id);
    const results = await Promise.all([
      deleteMe(a.tokens.access_token, { password: PASSWORD }),
      deleteMe(b.tokens.access_token, { password: PASSWORD }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")).toBe(1);
  });

  it('of two admins deleting each other at once, exactly one succeeds', async () => {
    const a = await signedInAdmin();
    const b = await signedInAdmin();
    await onlyAdmins(a.user.id, b.user.id);
    const del = (token: string, id: string) =>
      call(`/admin/users/${id}`, withBearer(token, { method: 'DELETE' }));
    const results = await Promise.all([
      del(a.tokens.access_token, b.user.id),
      del(b.tokens.access_token, a.user.id),
    ]);
    const statuses = results.map((r) => r.status).sort();
    // The loser is refused by the guard (409), or finds itself deleted already (401).
    expect(statuses[0]).toBe(204);
    expect([401, 409]).toContain(statuses[1]);
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin'")).toBe(1);
  });

  it('a disabled admin does not count as the other admin', async () => {
    const a = await signedInAdmin();
    const b = await register(uniqueEmail('admin'));
    await onlyAdmins(a.user.id);
    await env.DB.prepare("UPDATE users SET role = 'admin', disabled_at = 1 WHERE id = ?")
      .bind(b.user.id)
      .run();
    await expectProblem(
      await deleteMe(a.tokens.access_token, { password: PASSWORD }),
      409,
      'last_admin',
    );
  });
});
