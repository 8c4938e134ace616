import { claimLoginAttempt, clearFailuresStatement, lockStatements } from '../abuse/lockout';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import { DUMMY_HASH, verifyPassword } from '../crypto/password';
import type { Database } from '../db/client';
import type { UserRow } from '../db/schema';
import { ApiError } from '../errors';
import { canonicalEmail } from '../policy/email';

export type Authenticated = {
  user: UserRow;
  /** The NFKC form that was verified, for a re-hash with current parameters. */
  password: string;
  needsRehash: boolean;
  /** Clears the failure count; the caller puts it in the batch that opens the session. */
  clearFailures: ReturnType<typeof clearFailuresStatement>;
};

/**
 * Email and password, guarded by the lockout. Every failure is the same 401 whether or not the
 * email has an account, and costs the same single PBKDF2 derivation (THREATS C1); a locked
 * email gets 423 without any password being checked, also for the right one.
 */
export async function authenticate(
  db: Database,
  config: Config,
  ctx: AuditContext,
  rawEmail: string,
  rawPassword: string,
  via: 'login' | 'password_change' | 'mfa_disable' = 'login',
): Promise<Authenticated> {
  const email = canonicalEmail(rawEmail);
  const now = Date.now();
  const { claim, user } = await claimLoginAttempt(db, config, email, now);
  if (!claim.allowed) {
    throw new ApiError('account_locked', 'Too many failed attempts; try again later.', {
      headers: { 'Retry-After': String(claim.retryAfterSeconds) },
    });
  }
  const password = rawPassword.normalize('NFKC');
  const check = await verifyPassword(
    password,
    user?.passwordHash ?? DUMMY_HASH,
    config.PASSWORD_PEPPER,
  );
  if (!user || !check.valid) {
    const userId = user?.id ?? null;
    const failed = auditEvent(db, ctx, 'login.failed', userId, {
      email,
      attempt: claim.attempt,
      via,
    });
    const locking = claim.attempt >= config.LOCKOUT_THRESHOLD;
    await db.batch([
      failed,
      ...(locking ? lockStatements(db, config, ctx, email, userId, now) : []),
    ]);
    throw new ApiError('invalid_credentials', 'Invalid email or password.');
  }
  return {
    user,
    password,
    needsRehash: check.needsRehash,
    clearFailures: clearFailuresStatement(db, email),
  };
}
