import { sql } from 'drizzle-orm';
import { base64url } from 'jose';
import { auditEvent, auditStatement, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import type { Role } from '../crypto/jwt';
import { hmac, sha256, uuidv7 } from '../crypto/tokens';
import { eq } from 'drizzle-orm';
import { sessions } from '../db/schema';
import { parseRefreshToken, refreshTokenFor, shardAt } from '../shards';
import { revocationStatements } from './store';

/** What a token response needs to know about the session and its user. */
export type SessionGrant = {
  sessionId: string;
  userId: string;
  role: Role;
  emailVerified: boolean;
  expiresAt: number;
  refreshToken: string;
};

export type Rotation =
  | { kind: 'rotated' | 'retried'; grant: SessionGrant }
  | { kind: 'reused'; sessionId: string; userId: string }
  | { kind: 'invalid' };

/**
 * The successor of a refresh token is derived, not random: HMAC(secret, parent). A retry of the
 * parent inside the grace window can then be answered with the identical successor although
 * only its hash is stored, and nobody without the secret can compute a successor from a parent
 * they stole (which would dodge reuse detection).
 */
export async function successorOf(config: Config, token: string): Promise<string> {
  return base64url.encode(await hmac(config.PASSWORD_PEPPER, 'refresh-successor', token));
}

type GrantRow = {
  user_id: string;
  role: Role;
  email_verified_at: number | null;
  session_id: string;
  expires_at: number;
};

type UserState = { role: Role; email_verified_at: number | null; disabled_at: number | null };

/** Sessions idle for less than this keep their last_used_at: a refresh then writes one row less. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Rotates `token` with one conditional UPDATE (it only matches an unused, unexpired token of a
 * live session of an enabled user) and inserts the successor in the same batch, keyed to the
 * row that UPDATE marked. Concurrent calls serialise in D1: exactly one wins. The losers, and
 * every other failure, are classified afterwards from a single read.
 *
 * The batch runs in the session's shard (src/shards). On the main database (shard 0, and every
 * token from before sharding) the UPDATE joins `users`, as it always did. A shard has no users
 * table: its tokens carry the user id, and the user is read from the main database (its
 * primary) in parallel with the batch, so a refresh still waits for one round trip. A session
 * rotated for a user that read shows disabled or gone is revoked and nothing is issued.
 */
export async function rotate(
  d1: D1Database,
  config: Config,
  ctx: AuditContext,
  token: string,
  now: number,
): Promise<Rotation> {
  const parsed = parseRefreshToken(token);
  const shard = parsed && shardAt(d1, parsed.shard);
  if (!parsed || !shard) return { kind: 'invalid' };
  const userId = parsed.userId;
  if (shard.index !== 0 && userId === null) return { kind: 'invalid' };
  const tokenHash = await sha256(token);
  const successor = refreshTokenFor(shard.index, userId ?? '', await successorOf(config, token));
  const successorHash = await sha256(successor);
  const successorId = uuidv7(now);
  const db = shard.db;
  // Plain D1 statements: the conditions are the security argument, so they stay readable SQL.
  const rotated = 'token_hash = ?1 AND replaced_by = ?2';
  const didRotate = sql`EXISTS (SELECT 1 FROM refresh_tokens WHERE token_hash = ${tokenHash} AND replaced_by = ${successorId})`;
  const sessionOf = sql`(SELECT session_id FROM refresh_tokens WHERE token_hash = ${tokenHash} AND replaced_by = ${successorId})`;
  const audit = auditEvent(
    db,
    ctx,
    'token.refreshed',
    userId ?? sql`(SELECT user_id FROM sessions WHERE id = ${sessionOf})`,
    sql`json_object('session_id', ${sessionOf})`,
    didRotate,
  );
  // Which sessions a token may rotate in: live, and (main database) of an enabled user or
  // (shard) of the user the token names. The grant comes back from the UPDATE itself.
  const update =
    userId === null
      ? `UPDATE refresh_tokens SET used_at = ?3, replaced_by = ?2
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?3
           AND session_id IN (
             SELECT s.id FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.revoked_at IS NULL AND s.expires_at > ?3 AND u.disabled_at IS NULL)
         RETURNING session_id, expires_at, (SELECT user_id FROM sessions WHERE id = session_id) AS user_id,
           (SELECT role FROM users WHERE id = (SELECT user_id FROM sessions WHERE id = session_id)) AS role,
           (SELECT email_verified_at FROM users WHERE id = (SELECT user_id FROM sessions WHERE id = session_id)) AS email_verified_at`
      : `UPDATE refresh_tokens SET used_at = ?3, replaced_by = ?2
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?3
           AND session_id IN (
             SELECT id FROM sessions
             WHERE revoked_at IS NULL AND expires_at > ?3 AND user_id = ?4)
         RETURNING session_id, expires_at`;
  const batch = shard.d1.batch([
    shard.d1
      .prepare(update)
      .bind(...[tokenHash, successorId, now, ...(userId === null ? [] : [userId])]),
    shard.d1
      .prepare(
        `INSERT INTO refresh_tokens (id, session_id, token_hash, parent_id, created_at, expires_at)
         SELECT ?2, session_id, ?3, id, ?4, expires_at FROM refresh_tokens WHERE ${rotated}`,
      )
      .bind(tokenHash, successorId, successorHash, now),
    // last_used_at at a minute's resolution (what the session list shows): most refreshes of a
    // busy session match nothing here and write no page.
    shard.d1
      .prepare(
        `UPDATE sessions SET last_used_at = ?3
         WHERE id = (SELECT session_id FROM refresh_tokens WHERE ${rotated}) AND last_used_at <= ?4`,
      )
      .bind(tokenHash, successorId, now, now - LAST_USED_RESOLUTION_MS),
    auditStatement(shard.d1, audit),
  ]);
  const [[updated], user] = await Promise.all([
    batch,
    userId === null
      ? Promise.resolve(undefined)
      : d1
          .prepare('SELECT role, email_verified_at, disabled_at FROM users WHERE id = ?')
          .bind(userId)
          .first<UserState>(),
  ]);
  const row = (updated!.results as Partial<GrantRow>[])[0];
  if (userId !== null && row && (!user || user.disabled_at !== null)) {
    // Rotated in the shard, but the account is disabled or gone in the main database: the
    // session ends here and the successor is never handed out.
    await db.batch(
      revocationStatements(db, eq(sessions.id, row.session_id!), 'user_unavailable', now),
    );
    return { kind: 'invalid' };
  }
  if (row) {
    const grant =
      userId === null ? (row as GrantRow) : { ...(row as GrantRow), ...user!, user_id: userId };
    return { kind: 'rotated', grant: toGrant(grant, successor) };
  }
  return classifyFailure(shard.d1, config, tokenHash, successorHash, successor, now, userId, user);
}

type StateRow = GrantRow & {
  used_at: number | null;
  token_expires_at: number;
  revoked_at: number | null;
  disabled_at: number | null;
  successor_hash: string | null;
  successor_used_at: number | null;
};

async function classifyFailure(
  d1: D1Database,
  config: Config,
  tokenHash: string,
  successorHash: string,
  successor: string,
  now: number,
  userId: string | null,
  user: UserState | null | undefined,
): Promise<Rotation> {
  const row =
    userId === null
      ? await d1
          .prepare(
            `SELECT t.used_at, t.expires_at AS token_expires_at, s.id AS session_id, s.expires_at,
              s.revoked_at, u.id AS user_id, u.role, u.email_verified_at, u.disabled_at,
              c.token_hash AS successor_hash, c.used_at AS successor_used_at
       FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id
       LEFT JOIN refresh_tokens c ON c.id = t.replaced_by
       WHERE t.token_hash = ?`,
          )
          .bind(tokenHash)
          .first<StateRow>()
      : await d1
          .prepare(
            `SELECT t.used_at, t.expires_at AS token_expires_at, s.id AS session_id, s.expires_at,
              s.revoked_at, s.user_id, c.token_hash AS successor_hash, c.used_at AS successor_used_at
       FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
       LEFT JOIN refresh_tokens c ON c.id = t.replaced_by
       WHERE t.token_hash = ? AND s.user_id = ?`,
          )
          .bind(tokenHash, userId)
          .first<StateRow>()
          .then((r) => r && user && { ...r, ...user });
  // Unknown, expired, or its session is already over: nothing left to protect.
  if (
    !row ||
    row.used_at === null ||
    row.revoked_at !== null ||
    row.disabled_at !== null ||
    row.expires_at <= now ||
    row.token_expires_at <= now
  ) {
    return { kind: 'invalid' };
  }
  const grace = config.REFRESH_REUSE_GRACE_SECONDS * 1000;
  const withinGrace = grace > 0 && now - row.used_at <= grace;
  if (withinGrace && row.successor_used_at === null && row.successor_hash === successorHash) {
    return { kind: 'retried', grant: toGrant(row, successor) };
  }
  return { kind: 'reused', sessionId: row.session_id, userId: row.user_id };
}

function toGrant(row: GrantRow, refreshToken: string): SessionGrant {
  return {
    sessionId: row.session_id,
    userId: row.user_id,
    role: row.role,
    emailVerified: row.email_verified_at !== null,
    expiresAt: row.expires_at,
    refreshToken,
  };
}
