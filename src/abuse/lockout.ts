import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { loginFailures, users, type UserRow } from '../db/schema';

export type Claim =
  { allowed: true; attempt: number } | { allowed: false; retryAfterSeconds: number };

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
  // Locked, or a parallel attempt beyond the threshold whose lock is being set right now.
  const until = state[0]?.lockedUntil ?? now + config.LOCKOUT_DURATION * 1000;
  return {
    claim: { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) },
    user,
  };
}

/**
 * The statements that lock the email once a failure reaches the threshold: the lock (never
 * extending one that is already set) and its audit row, written only if the lock was.
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
  ] as const;
}

/** A successful login (or a password reset) clears the count and any lock. */
export function clearFailuresStatement(db: Database, email: string, onlyIf?: SQL) {
  return db.delete(loginFailures).where(and(eq(loginFailures.email, email), onlyIf));
}
