import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../src/index';

const DAY = 86_400_000;
const count = async (table: string) =>
  (await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

async function seed(now: number) {
  const q = (sql: string, ...params: unknown[]) => env.DB.prepare(sql).bind(...params);
  await env.DB.batch([
    q(
      "INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES ('u1', 'hk@example.com', 'x', 'user', ?1, ?1)",
      now,
    ),
    // live, expired, long revoked, just revoked
    ...[
      ['s-live', now + DAY, null],
      ['s-expired', now - 1, null],
      ['s-revoked-old', now + DAY, now - DAY],
      ['s-revoked-new', now + DAY, now - 1000],
    ].map(([id, expires, revoked]) =>
      q(
        'INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at) VALUES (?1, ?2, ?3, ?3, ?4, ?5)',
        id,
        'u1',
        now - DAY,
        expires,
        revoked,
      ),
    ),
    ...['s-live', 's-expired', 's-revoked-old', 's-revoked-new'].map((sid) =>
      q(
        'INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at) SELECT ?1, id, ?2, created_at, expires_at FROM sessions WHERE id = ?3',
        `t-${sid}`,
        `hash-${sid}`,
        sid,
      ),
    ),
    q(
      'INSERT INTO login_failures (email, failures, window_started_at, locked_until) VALUES (?1, 3, ?2, NULL)',
      'stale@example.com',
      now - DAY,
    ),
    q(
      'INSERT INTO login_failures (email, failures, window_started_at, locked_until) VALUES (?1, 5, ?2, ?3)',
      'locked@example.com',
      now - DAY,
      now + 60_000,
    ),
    q(
      'INSERT INTO login_failures (email, failures, window_started_at, locked_until) VALUES (?1, 2, ?2, NULL)',
      'recent@example.com',
      now - 1000,
    ),
    q(
      "INSERT INTO audit_events (id, at, type, detail) VALUES ('a-old', ?1, 'login.failed', '{}')",
      now - 91 * DAY,
    ),
    q(
      "INSERT INTO audit_events (id, at, type, detail) VALUES ('a-new', ?1, 'login.failed', '{}')",
      now - 89 * DAY,
    ),
  ]);
}

describe('the scheduled housekeeping job', () => {
  it('deletes exactly what no request can use any more', async () => {
    const now = Date.now();
    await seed(now);
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: now, cron: '17 * * * *' }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);

    const ids = async (table: string, column = 'id') =>
      (
        await env.DB.prepare(`SELECT ${column} AS id FROM ${table} ORDER BY 1`).all<{
          id: string;
        }>()
      ).results.map((r) => r.id);
    expect(await ids('sessions')).toEqual(['s-live', 's-revoked-new']);
    expect(await ids('refresh_tokens')).toEqual(['t-s-live', 't-s-revoked-new']);
    expect(await ids('login_failures', 'email')).toEqual([
      'locked@example.com',
      'recent@example.com',
    ]);
    // The same run's key step (src/keys/scheduled.ts) records its own events: see test/keys.
    const events = await ids('audit_events');
    expect(events).toContain('a-new');
    expect(events).not.toContain('a-old');
    expect(await count('users')).toBe(1);
  });

  it('works through more rows than one statement deletes', async () => {
    const now = Date.now();
    const old = now - 100 * DAY;
    const inserts = Array.from({ length: 1200 }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO audit_events (id, at, type, detail) VALUES (?1, ?2, 'login.failed', '{}')",
      ).bind(`bulk-${i}`, old),
    );
    for (let i = 0; i < inserts.length; i += 400) await env.DB.batch(inserts.slice(i, i + 400));
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now }), env, ctx);
    expect(
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE id LIKE 'bulk-%'").first<{
        n: number;
      }>())!.n,
    ).toBe(0);
  });
});
