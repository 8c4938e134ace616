import { and, desc, eq, gt, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Config } from '../config';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { ApiError } from '../errors';
import { refreshTokens, sessions } from '../db/schema';
import { spendTokens } from '../tokens/one-time';
import { cutOffUser, denySession } from './revocation';

export type ClientMeta = { ip: string | null; userAgent: string | null };

/**
 * The statements that open a session with its first refresh token, for the caller to put in
 * its own batch (login writes the session, its token and any rehash or audit row together).
 */
export async function openSession(
  db: Database,
  config: Config,
  userId: string,
  meta: ClientMeta,
  now: number,
  /** Write only if this holds inside the caller's batch (the MFA challenge was just spent). */
  onlyIf?: SQL,
) {
  const sessionId = uuidv7(now);
  const refreshToken = randomToken(32);
  const tokenHash = await sha256(refreshToken);
  const expiresAt = now + config.REFRESH_TOKEN_TTL * 1000;
  const tokenId = uuidv7(now);
  // INSERT ... SELECT so that one form serves both callers: `onlyIf` defaults to true. Column
  // order is the table definitions', which is what drizzle's INSERT ... SELECT lists. An
  // account deleted since its password was checked gets no session: without the EXISTS the
  // foreign key would fail the whole batch (a 500) instead.
  const statements = [
    db
      .insert(sessions)
      .select(
        sql`SELECT ${sessionId}, ${userId}, ${now}, ${now}, ${expiresAt}, NULL, NULL, ${meta.ip}, ${meta.userAgent} WHERE ${onlyIf ?? sql`1`} AND EXISTS (SELECT 1 FROM users WHERE id = ${userId})`,
      ),
    db
      .insert(refreshTokens)
      .select(
        sql`SELECT ${tokenId}, ${sessionId}, ${tokenHash}, NULL, NULL, ${now}, NULL, ${expiresAt} WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId})`,
      ),
  ] as const;
  return { sessionId, refreshToken, expiresAt, statements };
}

/** True inside a batch once openSession's row exists: gates what a sign-in writes after it. */
export const sessionExists = (sessionId: string) =>
  sql`EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId})`;

/** Whether openSession's first statement wrote its row, from its result in the batch. */
export const sessionOpened = (result: unknown) => (result as D1Result).meta.changes === 1;

/**
 * Throws unless openSession's first statement wrote its row. It writes
 * nothing when the account was deleted after its proof was checked: that sign-in gets the answer
 * an unknown account gets, never tokens for a session that does not exist.
 */
export function assertSessionOpened(result: unknown) {
  if (!sessionOpened(result)) {
    throw new ApiError('invalid_credentials', 'Invalid email or password.');
  }
}

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

/**
 * Revokes one session. The order is deliberate: the KV denylist (access tokens) first, then D1
 * (refresh). A failure between the two leaves more revoked, never less, and both steps are
 * idempotent, so the client's retry completes it. With `options.userId`, only a session of that
 * user is touched (false otherwise); an already revoked one of theirs is revoked again, harmlessly.
 */
export async function revokeSession(
  db: Database,
  kv: KVNamespace,
  config: Config,
  sessionId: string,
  reason: string,
  now: number,
  options: { userId?: string; alsoRun?: BatchItem<'sqlite'>[] } = {},
): Promise<boolean> {
  if (options.userId !== undefined) {
    const [owned] = await db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, options.userId)));
    if (!owned) return false;
  }
  await denySession(kv, config, sessionId);
  await revokeWhere(db, eq(sessions.id, sessionId), reason, now, options.alsoRun);
  return true;
}

/**
 * Every session of the user, or every other one when `keep` names the current session, in the
 * same order as revokeSession: the KV cut-off, then D1. `alsoRun` joins the D1 batch (the
 * password update that causes the revocation, its audit row).
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
  // Whatever ends a user's sessions (a password reset or change, sign-out everywhere, a disabled
  // account, two-factor turned off) also spends a pending email change: it was asked for with
  // the password, possibly by whoever the user is now locking out, and confirming it needs no
  // session, so it would otherwise outlive the lock-out and move the account to their address.
  const alsoRun = [...(options.alsoRun ?? []), spendTokens(db, userId, 'email_change', now)];
  const { results } = await revokeWhere(db, which, reason, now, alsoRun);
  // The results of `alsoRun`, in order.
  return results.slice(0, options.alsoRun?.length ?? 0);
}

export async function sessionByRefreshToken(db: Database, token: string) {
  const [row] = await db
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

/**
 * KV is eventually consistent: sensitive operations (password change, logout-all, session
 * delete, MFA changes) also check the bearer's session in D1 (THREATS J2).
 */
export async function assertSessionLive(db: Database, sessionId: string, now: number) {
  const [row] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
    );
  if (!row) throw new ApiError('unauthorized', 'This session has ended.');
}

export function liveSessions(db: Database, userId: string, now: number) {
  return db
    .select()
    .from(sessions)
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
    )
    .orderBy(desc(sessions.lastUsedAt));
}
