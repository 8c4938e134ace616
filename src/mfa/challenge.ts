import { and, eq, gt, isNull, lt, sql, type SQL } from 'drizzle-orm';
import {
  claimLoginAttempt,
  clearFailuresStatement,
  failureStatements,
  lockedError,
  refusal,
} from '../abuse/lockout';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { loginFailures, mfaChallenges, users, type UserRow } from '../db/schema';
import { ApiError } from '../errors';
import { openSession, type ClientMeta, type OpenedSession } from '../sessions/store';
import { consumeFactor, readFactor } from './factors';

export const MFA_TOKEN_TTL_SECONDS = 300;
export const MFA_MAX_ATTEMPTS = 5;

/**
 * The password step's result when TOTP is on: an opaque random token (not a JWT, so no bearer
 * check can ever accept it), stored as SHA-256, for this user only, for 5 minutes.
 */
export async function createChallenge(
  db: Database,
  userId: string,
  now: number,
  /** Write only if this holds inside the caller's batch (the proof before it was just spent). */
  onlyIf?: SQL,
) {
  const token = randomToken(32);
  const id = uuidv7(now);
  const tokenHash = await sha256(token);
  const expiresAt = now + MFA_TOKEN_TTL_SECONDS * 1000;
  // INSERT ... SELECT in the table's column order, as openSession does.
  const statement = db
    .insert(mfaChallenges)
    .select(
      sql`SELECT ${id}, ${userId}, ${tokenHash}, ${now}, ${expiresAt}, 0, NULL WHERE ${onlyIf ?? sql`1`}`,
    );
  return { token, id, statement };
}

/** The user an open (unused, unexpired) challenge belongs to, or null. */
export async function challengeOwner(db: Database, token: string, now: number) {
  const [row] = await db
    .select({ userId: mfaChallenges.userId })
    .from(mfaChallenges)
    .where(
      and(
        eq(mfaChallenges.tokenHash, await sha256(token)),
        isNull(mfaChallenges.usedAt),
        gt(mfaChallenges.expiresAt, now),
      ),
    );
  return row?.userId ?? null;
}

/** Spends a challenge of `userId` that another proof (a passkey) has made needless. */
export async function closeChallenge(db: Database, token: string, userId: string, now: number) {
  await db
    .update(mfaChallenges)
    .set({ usedAt: now })
    .where(
      and(
        eq(mfaChallenges.tokenHash, await sha256(token)),
        eq(mfaChallenges.userId, userId),
        isNull(mfaChallenges.usedAt),
      ),
    );
}

const invalid = () => new ApiError('invalid_mfa_code', 'The code is not valid.');

/**
 * Checks the second step. The email's lock is read first: while it is locked the answer is 423
 * for any challenge of its account, even one the lock has spent. Each submission then claims one
 * of the challenge's 5 attempts and one attempt of the email's lockout count, both before the
 * code is checked, so parallel guesses cannot exceed either and opening more challenges buys no
 * guesses: at most LOCKOUT_THRESHOLD wrong codes are ever checked per window. A right code is
 * consumed by consumeFactor, and the challenge spent in the same batch only if that happened.
 */
export async function verifyChallenge(
  db: Database,
  config: Config,
  ctx: AuditContext,
  token: string,
  code: string,
  now: number,
  meta: ClientMeta,
): Promise<{ user: UserRow; session: OpenedSession }> {
  const tokenHash = await sha256(token);
  const live = and(
    eq(mfaChallenges.tokenHash, tokenHash),
    isNull(mfaChallenges.usedAt),
    gt(mfaChallenges.expiresAt, now),
  );
  const ownerId = sql`(SELECT user_id FROM mfa_challenges WHERE token_hash = ${tokenHash})`;
  const [claimed, rows, locks] = await db.batch([
    db
      .update(mfaChallenges)
      .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
      .where(and(live, lt(mfaChallenges.attempts, MFA_MAX_ATTEMPTS)))
      .returning({ id: mfaChallenges.id, attempts: mfaChallenges.attempts }),
    db
      .select()
      .from(users)
      .where(sql`${users.id} = ${ownerId}`),
    db
      .select({ lockedUntil: loginFailures.lockedUntil })
      .from(loginFailures)
      .where(sql`${loginFailures.email} = (SELECT email FROM users WHERE id = ${ownerId})`),
  ]);
  const user = rows[0];
  if (!user || user.disabledAt !== null) throw invalid();
  const lockedUntil = locks[0]?.lockedUntil;
  if (lockedUntil != null && lockedUntil > now) {
    throw lockedError(Math.ceil((lockedUntil - now) / 1000));
  }
  const challenge = claimed[0];
  if (!challenge) throw invalid();
  const { claim } = await claimLoginAttempt(db, config, user.email, now);
  if (!claim.allowed) throw await refusal(db, config, ctx, user.email, user.id, claim, now);

  const factor = await readFactor(config, user, code, now);
  if (factor) {
    // One batch: the code is used, the challenge spent, the session opened, the failure count
    // cleared and the login audited, each only if the statement before it took effect
    // (changes()), so a failure anywhere leaves the code and the challenge unspent.
    const session = await openSession(db, config, user, meta, now, sql`changes() = 1`);
    const opened = session.opened;
    const [, spent, gate] = await db.batch([
      consumeFactor(db, user.id, factor, now),
      db
        .update(mfaChallenges)
        .set({ usedAt: now })
        .where(
          sql`${mfaChallenges.id} = ${challenge.id} AND ${mfaChallenges.usedAt} IS NULL AND changes() = 1`,
        )
        .returning({ id: mfaChallenges.id }),
      ...session.statements,
      clearFailuresStatement(db, user.email, now, opened),
      auditEvent(
        db,
        ctx,
        'login.succeeded',
        user.id,
        { session_id: session.sessionId, mfa: factor.kind },
        opened,
      ),
      ...(factor.kind === 'recovery'
        ? [auditEvent(db, ctx, 'mfa.recovery_code_used', user.id, {}, opened)]
        : []),
    ]);
    if (spent.length === 1) {
      await session.confirm(gate);
      return { user, session };
    }
    await session.settle(gate);
  }

  await db.batch([
    auditEvent(db, ctx, 'mfa.failed', user.id, {
      challenge_attempt: challenge.attempts,
      attempt: claim.attempt,
    }),
    ...failureStatements(db, config, ctx, user.email, user.id, claim.attempt, now),
  ]);
  throw invalid();
}
