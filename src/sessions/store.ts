import { and, eq, gt, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Config } from '../config';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { ApiError, unavailable } from '../errors';
import { refreshTokens, sessions, users, type SessionRow, type UserRow } from '../db/schema';
import {
  allShards,
  assignShard,
  markedId,
  otherShards,
  parseRefreshToken,
  refreshTokenFor,
  shardAt,
  shardOfSession,
  type Shard,
} from '../shards';
import { spendTokens } from '../tokens/one-time';
import { cutOffUser, denySession } from './revocation';
import { userById } from '../users/users';

export type ClientMeta = { ip: string | null; userAgent: string | null };

/** What openSession needs to know about the user: who, and the shard they were given. */
export type SessionOwner = Pick<UserRow, 'id' | 'sessionShard'>;

export type OpenedSession = Awaited<ReturnType<typeof openSession>>;

/**
 * Opens a session with its first refresh token. `statements` go first in the caller's batch on
 * the main database (login writes its rehash and audit rows beside them); `opened` is true in
 * that batch once the session may exist, for the statements that follow; after the batch,
 * `settle` (or `confirm`) with the first statement's result says whether it did.
 *
 * The first statement is the gate: it writes only if `onlyIf` holds and the account still exists
 * and is enabled, so an account deleted or disabled since its proof was checked gets no session.
 * On shard 0 the gate is the session insert itself, as before sharding; the user row then
 * records the session and fixes the user's shard. On another shard the gate is that update of
 * the user row, and the session rows are written to the shard in parallel with the caller's
 * batch and deleted again if the gate refused: nobody holds their token until settle has seen
 * the gate pass (docs/sharding.md, "Sign-in: the gate").
 */
export async function openSession(
  db: Database,
  config: Config,
  user: SessionOwner,
  meta: ClientMeta,
  now: number,
  /** Write only if this holds inside the caller's batch (the MFA challenge was just spent). */
  onlyIf?: SQL,
) {
  const index = user.sessionShard ?? assignShard(user.id, config.SESSION_SHARDS);
  const shard = shardAt(db.$client, index);
  if (!shard) throw unavailable();
  const sessionId = markedId(index, uuidv7(now));
  const refreshToken = refreshTokenFor(index, user.id, randomToken(32));
  const tokenHash = await sha256(refreshToken);
  const expiresAt = now + config.REFRESH_TOKEN_TTL * 1000;
  const tokenId = uuidv7(now);
  const local = index === 0;
  const enabled = sql`EXISTS (SELECT 1 FROM users WHERE id = ${user.id} AND disabled_at IS NULL)`;
  // INSERT ... SELECT in the tables' column order, which is what drizzle's INSERT ... SELECT lists.
  const rows = (target: Database, when: SQL) =>
    [
      target
        .insert(sessions)
        .select(
          sql`SELECT ${sessionId}, ${user.id}, ${now}, ${now}, ${expiresAt}, NULL, NULL, ${meta.ip}, ${meta.userAgent} WHERE ${when}`,
        ),
      target
        .insert(refreshTokens)
        .select(
          sql`SELECT ${tokenId}, ${sessionId}, ${tokenHash}, NULL, NULL, ${now}, NULL, ${expiresAt} WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId})`,
        ),
    ] as const;
  // Records the session as the user's latest and fixes their shard, behind `when`.
  const record = (when: SQL) =>
    db
      .update(users)
      .set({
        sessionShard: sql`COALESCE(${users.sessionShard}, ${index})`,
        lastSessionId: sessionId,
      })
      .where(sql`${users.id} = ${user.id} AND ${when}`);
  // On the main database the session insert is the gate, as it always was (an account deleted
  // since its proof was checked gets no row: without the EXISTS the foreign key would fail the
  // whole batch, a 500). On another shard the gate is the update of the user row.
  const opened = local
    ? sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId})`
    : sql`EXISTS (SELECT 1 FROM users WHERE id = ${user.id} AND last_session_id = ${sessionId})`;
  const allowed = sql`${onlyIf ?? sql`1`} AND ${enabled}`;
  const written = local ? Promise.resolve() : shard.db.batch(rows(shard.db, sql`1`));
  // Observed here so that a caller whose batch throws first leaves no unhandled rejection.
  const outcome = written.then(
    () => null,
    (error: unknown) => ({ error }),
  );
  const statements = local
    ? ([...rows(db, allowed), record(opened)] as const)
    : ([record(allowed)] as const);
  /** After the caller's batch: whether the session exists (false: the gate refused it). */
  async function settle(gateResult: unknown): Promise<boolean> {
    const failed = await outcome;
    if (sessionOpened(gateResult)) {
      if (failed) throw failed.error;
      return true;
    }
    if (!local && !failed) {
      await shard!.db.delete(sessions).where(eq(sessions.id, sessionId));
    }
    return false;
  }
  /** As settle, but a refused session is the answer an unknown account gets. */
  async function confirm(gateResult: unknown): Promise<void> {
    if (!(await settle(gateResult))) {
      throw new ApiError('invalid_credentials', 'Invalid email or password.');
    }
  }
  return {
    sessionId,
    refreshToken,
    expiresAt,
    shard: index,
    statements,
    opened,
    settle,
    confirm,
  };
}

/** Whether openSession's gate let the session through, from its result in the batch. */
export const sessionOpened = (result: unknown) => (result as D1Result).meta.changes === 1;

/**
 * Revokes the live sessions matching `which` and consumes their unused refresh tokens, in one
 * batch (no id list, so no 100-parameter limit). Returns the revoked ids and all results.
 */
async function revokeWhere(
  db: Database,
  which: SQL,
  reason: string,
  now: number,
  alsoRun: BatchItem<'sqlite'>[] = [],
) {
  // `alsoRun` goes first, so its conditions (an audit row "only if the session was live") see
  // the state before this revocation.
  const statements: BatchItem<'sqlite'>[] = [
    ...alsoRun,
    ...revocationStatements(db, which, reason, now),
  ];
  const results = await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  return { revoked: (results[alsoRun.length + 1] as { id: string }[]).map((r) => r.id), results };
}

/**
 * The two statements that revoke the live sessions matching `which` (and consume their unused
 * refresh tokens), for a caller that needs them inside its own batch.
 */
export function revocationStatements(db: Database, which: SQL, reason: string, now: number) {
  const live = and(which, isNull(sessions.revokedAt));
  return [
    db
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(
        and(
          isNull(refreshTokens.usedAt),
          inArray(
            refreshTokens.sessionId,
            db.select({ id: sessions.id }).from(sessions).where(live),
          ),
        ),
      ),
    db
      .update(sessions)
      .set({ revokedAt: now, revokeReason: reason })
      .where(live)
      .returning({ id: sessions.id }),
  ] as const;
}

/** The shard of a session id, or null when its marker names no shard here. */
export function shardOf(db: Database, sessionId: string): Shard | null {
  const index = shardOfSession(sessionId);
  return index === null ? null : shardAt(db.$client, index);
}

/** Statements that join a revocation's batch in the session's own database. */
export type AlsoRun = (db: Database) => BatchItem<'sqlite'>[];

/**
 * Revokes one session. The order is deliberate: the KV denylist (access tokens) first, then D1
 * (refresh). A failure between the two leaves more revoked, never less, and both steps are
 * idempotent, so the client's retry completes it. With `options.userId`, only a session of that
 * user is touched (false otherwise); an already revoked one of theirs is revoked again, harmlessly.
 * `alsoRun` (an audit row) is built for, and runs in, the database that holds the session.
 */
export async function revokeSession(
  db: Database,
  kv: KVNamespace,
  config: Config,
  sessionId: string,
  reason: string,
  now: number,
  options: { userId?: string; alsoRun?: AlsoRun } = {},
): Promise<boolean> {
  const shard = shardOf(db, sessionId);
  if (!shard) return false;
  if (options.userId !== undefined) {
    const [owned] = await shard.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, options.userId)));
    if (!owned) return false;
  }
  await denySession(kv, config, sessionId);
  await revokeWhere(shard.db, eq(sessions.id, sessionId), reason, now, options.alsoRun?.(shard.db));
  return true;
}

/**
 * Every session of the user, or every other one when `keep` names the current session, in the
 * same order as revokeSession: the KV cut-off, then D1. The user's sessions can be on the main
 * database (shard 0, and everything from before sharding) and on their shard; every shard is
 * asked, in parallel, before the main database's batch, so `alsoRun` (the password update that
 * causes the revocation, its audit row) is written only once no session of the user is left
 * anywhere. A failure in between leaves the sessions revoked and the cause unwritten: the 503's
 * retry repeats every step, each idempotent.
 */
export async function revokeUserSessions(
  db: Database,
  kv: KVNamespace,
  config: Config,
  userId: string,
  reason: string,
  now: number,
  options: { keep?: string; alsoRun?: BatchItem<'sqlite'>[] } = {},
): Promise<unknown[]> {
  const keep = options.keep ?? null;
  await cutOffUser(kv, config, userId, now, keep);
  const except = keep === null ? undefined : ne(sessions.id, keep);
  const which = and(eq(sessions.userId, userId), except)!;
  await revokeInShards(db, config, which, reason, now);
  // Whatever ends a user's sessions (a password reset or change, sign-out everywhere, a disabled
  // account, two-factor turned off) also spends a pending email change: it was asked for with
  // the password, possibly by whoever the user is now locking out, and confirming it needs no
  // session, so it would otherwise outlive the lock-out and move the account to their address.
  const alsoRun = [...(options.alsoRun ?? []), spendTokens(db, userId, 'email_change', now)];
  const { results } = await revokeWhere(db, which, reason, now, alsoRun);
  // The results of `alsoRun`, in order.
  return results.slice(0, options.alsoRun?.length ?? 0);
}

/** Revokes the live sessions matching `which` on every shard but the main database. */
export async function revokeInShards(
  db: Database,
  config: Config,
  which: SQL,
  reason: string,
  now: number,
) {
  await Promise.all(
    otherShards(db.$client, config).map((shard) =>
      shard.db.batch(revocationStatements(shard.db, which, reason, now)),
    ),
  );
}

/** The session (and its user) a refresh token belongs to, in the token's shard. */
export async function sessionByRefreshToken(db: Database, token: string) {
  const parsed = parseRefreshToken(token);
  const shard = parsed && shardAt(db.$client, parsed.shard);
  if (!shard) return undefined;
  const [row] = await shard.db
    .select({ sessionId: refreshTokens.sessionId, userId: sessions.userId })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, await sha256(token)));
  return row;
}

/** "This session was still live": the condition for its revocation's audit row. */
export function sessionIsLive(sessionId: string) {
  return sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId} AND revoked_at IS NULL)`;
}

/** The session `sessionId` of `userId` (live or not), from its shard. */
export async function sessionOfUser(db: Database, sessionId: string, userId: string) {
  const shard = shardOf(db, sessionId);
  if (!shard) return undefined;
  const [row] = await shard.db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId)));
  return row;
}

/**
 * Whether `sessionId` is a live session of `userId`, from its shard, and the user is still there
 * and enabled (read in parallel): disabling and deleting write the user's row before the
 * sessions in other shards are revoked (docs/sharding.md, "Failure ordering").
 */
export async function isSessionLive(db: Database, sessionId: string, userId: string, now: number) {
  const [row, user] = await Promise.all([
    sessionOfUser(db, sessionId, userId),
    userById(db, userId),
  ]);
  return (
    !!user && user.disabledAt === null && !!row && row.revokedAt === null && row.expiresAt > now
  );
}

/**
 * KV is eventually consistent: sensitive operations (password change, logout-all, session
 * delete, MFA changes) also check the bearer's session in D1 (THREATS J2).
 */
export async function assertSessionLive(db: Database, sessionId: string, now: number) {
  const shard = shardOf(db, sessionId);
  const [row] = shard
    ? await shard.db
        .select({ id: sessions.id })
        .from(sessions)
        .where(
          and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
        )
    : [];
  if (!row) throw new ApiError('unauthorized', 'This session has ended.');
}

/** The user's live sessions on every shard, most recently used first. */
export async function liveSessions(
  db: Database,
  config: Config,
  userId: string,
  now: number,
): Promise<SessionRow[]> {
  return (await sessionsOfUser(db, config, userId, now)).sort(
    (a, b) => b.lastUsedAt - a.lastUsedAt,
  );
}

/**
 * The user's sessions on every shard (only the live ones when `now` is given), in parallel:
 * fan-out is for the user's own rare reads (their list, their export), never the refresh path.
 */
export async function sessionsOfUser(
  db: Database,
  config: Config,
  userId: string,
  now?: number,
): Promise<SessionRow[]> {
  const live =
    now === undefined ? undefined : and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now));
  const lists = await Promise.all(
    allShards(db.$client, config).map((shard) =>
      shard.db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, userId), live)),
    ),
  );
  return lists.flat();
}
