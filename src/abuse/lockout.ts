import { and, eq, gt, isNull, or, sql, type SQL } from 'drizzle-orm';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { loginFailures, mfaChallenges, users, type UserRow } from '../db/schema';
import { ApiError } from '../errors';

// One count per canonical email covers every proof of identity: a password (login, or a signed-in
// user's current password) and a second-factor code. Each proof claims an attempt before it is
// checked; a failure keeps it, so LOCKOUT_THRESHOLD failures of any mix lock the email, and while
// it is locked every proof for it answers 423 without being checked.

export type Claim =
  | { allowed: true; attempt: number }
  | { allowed: false; retryAfterSeconds: number; lockSet: boolean };

/**
 * Claims one login attempt for `email` before its password is checked. One UPSERT counts it:
 * D1 serialises writers, so of 20 parallel attempts each gets its own ordinal and only the
 * first LOCKOUT_THRESHOLD are allowed to check a password. While the email is locked nothing
 * is counted (a lock does not extend itself). A window or lock that has run out starts over.
 *
 * The user with that email is read in the same batch: a login costs one round trip here.
 */
export async function claimLoginAttempt(
  db: Database,
  config: Config,
  email: string,
  now: number,
): Promise<{ claim: Claim; user: UserRow | undefined }> {
  const windowStart = now - config.LOCKOUT_WINDOW * 1000;
  const stale = sql`(${loginFailures.windowStartedAt} <= ${windowStart} OR ${loginFailures.lockedUntil} IS NOT NULL)`;
  const [claimed, state, read] = await db.batch([
    db
      .insert(loginFailures)
      .values({ email, failures: 1, windowStartedAt: now })
      .onConflictDoUpdate({
        target: loginFailures.email,
        set: {
          failures: sql`CASE WHEN ${stale} THEN 1 ELSE ${loginFailures.failures} + 1 END`,
          windowStartedAt: sql`CASE WHEN ${stale} THEN ${now} ELSE ${loginFailures.windowStartedAt} END`,
          lockedUntil: null,
        },
        // Locked: leave the row alone, so the INSERT ... RETURNING returns nothing.
        setWhere: sql`${loginFailures.lockedUntil} IS NULL OR ${loginFailures.lockedUntil} <= ${now}`,
      })
      .returning({ failures: loginFailures.failures }),
    db
      .select({ lockedUntil: loginFailures.lockedUntil })
      .from(loginFailures)
      .where(eq(loginFailures.email, email)),
    db.select().from(users).where(eq(users.email, email)),
  ]);
  const user = read[0];
  const attempt = claimed[0]?.failures;
  if (attempt !== undefined && attempt <= config.LOCKOUT_THRESHOLD) {
    return { claim: { allowed: true, attempt }, user };
  }
  // Locked, or a parallel attempt beyond the threshold whose lock is not set yet (the failure
  // that reached the threshold is about to set it; refusal() sets it if it has not).
  const lockedUntil = state[0]?.lockedUntil ?? null;
  const until = lockedUntil ?? now + config.LOCKOUT_DURATION * 1000;
  return {
    claim: {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)),
      lockSet: lockedUntil !== null && lockedUntil > now,
    },
    user,
  };
}

/**
 * The 423 for a refused claim. If the count is past the threshold but no lock is set yet, it is
 * set now (once, audited once), so the lock's time is exact and open challenges are spent.
 */
export async function refusal(
  db: Database,
  config: Config,
  ctx: AuditContext,
  email: string,
  userId: string | null,
  claim: Extract<Claim, { allowed: false }>,
  now: number,
): Promise<ApiError> {
  if (!claim.lockSet) await db.batch(lockStatements(db, config, ctx, email, userId, now));
  return lockedError(claim.retryAfterSeconds);
}

export function lockedError(retryAfterSeconds: number): ApiError {
  return new ApiError('account_locked', 'Too many failed attempts; try again later.', {
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });
}

/** What a failed proof adds to its audit row: the lock, when this failure reaches the threshold. */
export function failureStatements(
  db: Database,
  config: Config,
  ctx: AuditContext,
  email: string,
  userId: string | null,
  attempt: number,
  now: number,
) {
  return attempt >= config.LOCKOUT_THRESHOLD
    ? lockStatements(db, config, ctx, email, userId, now)
    : [];
}

/**
 * The statements that lock the email once a failure reaches the threshold: the lock (never
 * extending one that is already set), its audit row (written only if the lock was), and the
 * spending of every open second-factor challenge of the email's account, so a lock can never be
 * waited out with a challenge opened before it.
 */
export function lockStatements(
  db: Database,
  config: Config,
  ctx: AuditContext,
  email: string,
  userId: string | null,
  now: number,
) {
  const until = now + config.LOCKOUT_DURATION * 1000;
  return [
    db
      .update(loginFailures)
      .set({ lockedUntil: until })
      .where(and(eq(loginFailures.email, email), isNull(loginFailures.lockedUntil))),
    auditEvent(
      db,
      ctx,
      'account.locked',
      userId,
      { email, until: new Date(until).toISOString() },
      sql`changes() = 1`,
    ),
    db
      .update(mfaChallenges)
      .set({ usedAt: now })
      .where(
        and(
          isNull(mfaChallenges.usedAt),
          sql`${mfaChallenges.userId} IN (SELECT id FROM users WHERE email = ${email})`,
        ),
      ),
  ] as const;
}

/**
 * A successful proof clears the count, but never a lock: a lock set by a parallel failure while
 * this proof was being checked stays, so no factor's success lifts it.
 */
export function clearFailuresStatement(db: Database, email: string, now: number, onlyIf?: SQL) {
  const unlocked = or(
    isNull(loginFailures.lockedUntil),
    sql`${loginFailures.lockedUntil} <= ${now}`,
  );
  return db.delete(loginFailures).where(and(eq(loginFailures.email, email), unlocked, onlyIf));
}

/** A password reset proves the mailbox, not a guess: it lifts the lock too (API.md). */
export function liftLockStatement(db: Database, email: string, onlyIf?: SQL) {
  return db.delete(loginFailures).where(and(eq(loginFailures.email, email), onlyIf));
}

/**
 * The right password of an account with a second factor: the attempt it claimed is given back,
 * so opening challenges costs nothing and only failures count. Earlier failures stay counted.
 */
export function refundAttemptStatement(db: Database, email: string, onlyIf?: SQL) {
  return db
    .update(loginFailures)
    .set({ failures: sql`MAX(${loginFailures.failures} - 1, 0)` })
    .where(
      and(
        eq(loginFailures.email, email),
        isNull(loginFailures.lockedUntil),
        gt(loginFailures.failures, 0),
        onlyIf,
      ),
    );
}
