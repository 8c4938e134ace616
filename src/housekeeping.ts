import type { Config } from './config';
import { otherShards } from './shards';

/** Rows deleted per statement, and statements per table per run: bounded work per invocation. */
const BATCH = 500;
const MAX_ROUNDS = 20;

type Sweep = { name: string; sql: string; params: (now: number, config: Config) => unknown[] };

/** The rows of a single-use table (challenges, codes, links) whose time is up. */
const expired = (table: string): Sweep => ({
  name: table,
  sql: `DELETE FROM ${table} WHERE rowid IN (
          SELECT rowid FROM ${table} WHERE expires_at <= ?1 LIMIT ${BATCH})`,
  params: (now) => [now],
});

// Every statement deletes at most BATCH rows, picked by rowid, so one run never holds D1 long.
const SWEEPS: Sweep[] = [
  {
    // Tokens of expired or long-revoked sessions go before their sessions (no big cascades).
    name: 'refresh_tokens',
    sql: `DELETE FROM refresh_tokens WHERE rowid IN (
            SELECT t.rowid FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
            WHERE t.expires_at <= ?1 OR s.revoked_at <= ?2 LIMIT ${BATCH})`,
    params: (now, c) => [now, now - c.ACCESS_TOKEN_TTL * 1000],
  },
  {
    name: 'sessions',
    sql: `DELETE FROM sessions WHERE rowid IN (
            SELECT rowid FROM sessions WHERE expires_at <= ?1 OR revoked_at <= ?2 LIMIT ${BATCH})`,
    params: (now, c) => [now, now - c.ACCESS_TOKEN_TTL * 1000],
  },
  {
    // A row whose window and lock are both over counts nothing any more.
    name: 'login_failures',
    sql: `DELETE FROM login_failures WHERE rowid IN (
            SELECT rowid FROM login_failures
            WHERE window_started_at <= ?1 AND (locked_until IS NULL OR locked_until <= ?2) LIMIT ${BATCH})`,
    params: (now, c) => [now - c.LOCKOUT_WINDOW * 1000, now],
  },
  expired('mfa_challenges'),
  expired('oauth_states'),
  expired('webauthn_challenges'),
  expired('email_codes'),
  expired('one_time_tokens'),
  {
    name: 'audit_events',
    sql: `DELETE FROM audit_events WHERE rowid IN (
            SELECT rowid FROM audit_events WHERE at <= ?1 LIMIT ${BATCH})`,
    params: (now, c) => [now - c.AUDIT_RETENTION_DAYS * 86_400_000],
  },
];

/** The sweeps that also run on every other session shard (docs/sharding.md). */
const SHARD_TABLES = new Set(['refresh_tokens', 'sessions', 'audit_events']);

/**
 * Deletes what no request can use any more; returns the rows deleted per table (a session
 * shard's as `<table>@<n>`).
 */
export async function housekeeping(db: D1Database, config: Config, now: number) {
  const deleted: Record<string, number> = {};
  await sweep(db, SWEEPS, config, now, deleted, '');
  for (const shard of otherShards(db, config)) {
    const sweeps = SWEEPS.filter((s) => SHARD_TABLES.has(s.name));
    await sweep(shard.d1, sweeps, config, now, deleted, `@${shard.index}`);
  }
  return deleted;
}

async function sweep(
  db: D1Database,
  sweeps: Sweep[],
  config: Config,
  now: number,
  deleted: Record<string, number>,
  suffix: string,
) {
  for (const sweep of sweeps) {
    let count = 0;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const result = await db
        .prepare(sweep.sql)
        .bind(...sweep.params(now, config))
        .run();
      count += result.meta.changes;
      if (result.meta.changes < BATCH) break;
    }
    deleted[sweep.name + suffix] = count;
  }
}
