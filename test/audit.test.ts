import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../src/crypto/tokens';
import {
  PASSWORD,
  call,
  json,
  uniqueEmail,
  type Tokens,
  withBearer,
  sessionDb,
  tokenDb,
} from './helpers';

afterEach(() => vi.restoreAllMocks());

type Event = {
  type: string;
  user_id: string | null;
  request_id: string;
  ip: string;
  user_agent: string;
  detail: string;
};
// Session events of a user on shard 1 are audited there (docs/sharding.md).
const eventsFor = async (requestId: string) =>
  (
    await Promise.all(
      [env.DB, env.SESSIONS_1].map(
        async (db) =>
          (
            await db
              .prepare('SELECT * FROM audit_events WHERE request_id = ? ORDER BY id')
              .bind(requestId)
              .all<Event>()
          ).results,
      ),
    )
  )
    .flat()
    .sort((a, b) => ((a as Event & { id: string }).id < (b as Event & { id: string }).id ? -1 : 1));

let seq = 0;
/** Sends one request with its own request id and returns the audit events it wrote. */
async function traced(path: string, init: RequestInit) {
  const requestId = `audit-${++seq}-${Date.now()}`;
  const headers = {
    ...(init.headers as Record<string, string>),
    'X-Request-Id': requestId,
    'CF-Connecting-IP': '192.0.2.44',
    'User-Agent': 'AuditTest/1',
  };
  const res = await call(path, { ...init, headers }, { LOG_LEVEL: 'debug' });
  return { res, events: await eventsFor(requestId) };
}

describe('the audit log', () => {
  it('writes each security event exactly once, with the request id, IP and user agent', async () => {
    const email = uniqueEmail('audited');
    const reg = await traced('/auth/register', json({ email, password: PASSWORD }));
    expect(reg.events.map((e) => e.type)).toEqual(['user.registered']);
    const userId = ((await reg.res.json()) as { id: string }).id;
    expect(reg.events[0]).toMatchObject({
      user_id: userId,
      ip: '192.0.2.44',
      user_agent: 'AuditTest/1',
    });

    const failed = await traced('/auth/login', json({ email, password: 'wrong password here' }));
    expect(failed.events.map((e) => e.type)).toEqual(['login.failed']);

    const ok = await traced('/auth/login', json({ email, password: PASSWORD }));
    expect(ok.events.map((e) => e.type)).toEqual(['login.succeeded']);
    const first = (await ok.res.json()) as Tokens;

    const refreshed = await traced('/auth/refresh', json({ refresh_token: first.refresh_token }));
    expect(refreshed.events.map((e) => e.type)).toEqual(['token.refreshed']);
    expect(JSON.parse(refreshed.events[0]!.detail)).toEqual({ session_id: first.session_id });
    expect(refreshed.events[0]!.user_id).toBe(userId);
    const second = (await refreshed.res.json()) as Tokens;

    // A retry within the grace window rotates nothing, so records nothing.
    expect(
      (await traced('/auth/refresh', json({ refresh_token: first.refresh_token }))).events,
    ).toEqual([]);

    const changed = await traced(
      '/users/me/password',
      withBearer(
        second.access_token,
        json({ current_password: PASSWORD, new_password: 'a second passphrase' }),
      ),
    );
    expect(changed.events.map((e) => e.type)).toEqual(['password.changed']);

    const other = (await (
      await call('/auth/login', json({ email, password: 'a second passphrase' }))
    ).json()) as Tokens;
    const deleted = await traced(
      `/users/me/sessions/${other.session_id}`,
      withBearer(second.access_token, { method: 'DELETE' }),
    );
    expect(deleted.events.map((e) => e.type)).toEqual(['session.revoked']);

    const out = await traced('/auth/logout', json({ refresh_token: second.refresh_token }));
    expect(out.events.map((e) => e.type)).toEqual(['logout']);
    expect(
      (await traced('/auth/logout', json({ refresh_token: second.refresh_token }))).events,
    ).toEqual([]);

    const third = (await (
      await call('/auth/login', json({ email, password: 'a second passphrase' }))
    ).json()) as Tokens;
    const all = await traced(
      '/auth/logout-all',
      withBearer(third.access_token, { method: 'POST' }),
    );
    expect(all.events.map((e) => e.type)).toEqual(['logout_all']);
  });

  it('records refresh-token reuse once, even when the reuse is attempted in parallel', async () => {
    const email = uniqueEmail();
    await call('/auth/register', json({ email, password: PASSWORD }));
    const tokens = (await (
      await call('/auth/login', json({ email, password: PASSWORD }))
    ).json()) as Tokens;
    await call('/auth/refresh', json({ refresh_token: tokens.refresh_token }));
    await tokenDb(tokens.refresh_token)
      .prepare('UPDATE refresh_tokens SET used_at = used_at - 60000 WHERE token_hash = ?')
      .bind(await sha256(tokens.refresh_token))
      .run();
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('/auth/refresh', json({ refresh_token: tokens.refresh_token })),
      ),
    );
    expect(responses.some((r) => r.status === 401)).toBe(true);
    const { n } = (await sessionDb(tokens.session_id)
      .prepare(
        "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'token.reuse_detected' AND json_extract(detail, '$.session_id') = ?",
      )
      .bind(tokens.session_id)
      .first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('never holds a password, token or secret in an audit row or a log line', async () => {
    const lines: string[] = [];
    for (const method of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, method).mockImplementation(
        (...args: unknown[]) => void lines.push(args.map(String).join(' ')),
      );
    }
    const email = uniqueEmail('secret');
    const secrets: string[] = [PASSWORD, 'wrong password here', env.PASSWORD_PEPPER];
    await traced('/auth/register', json({ email, password: PASSWORD }));
    await traced('/auth/login', json({ email, password: 'wrong password here' }));
    const tokens = (await (
      await traced('/auth/login', json({ email, password: PASSWORD }))
    ).res.json()) as Tokens;
    const next = (await (
      await traced('/auth/refresh', json({ refresh_token: tokens.refresh_token }))
    ).res.json()) as Tokens;
    await traced('/users/me', withBearer(next.access_token, { method: 'GET' }));
    await traced('/auth/logout', json({ refresh_token: next.refresh_token }));
    secrets.push(tokens.access_token, tokens.refresh_token, next.access_token, next.refresh_token);
    const privateKey = (JSON.parse(env.JWT_SIGNING_KEYS) as { keys: { d: string }[] }).keys[0]!.d;
    secrets.push(privateKey);

    const rows = JSON.stringify([
      (await env.DB.prepare('SELECT * FROM audit_events').all()).results,
      (await env.SESSIONS_1.prepare('SELECT * FROM audit_events').all()).results,
    ]);
    expect(lines.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      expect(rows).not.toContain(secret);
      for (const line of lines) expect(line).not.toContain(secret);
    }
  });
});
