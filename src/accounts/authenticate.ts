import {
  claimLoginAttempt,
  clearFailuresStatement,
  failureStatements,
  refusal,
} from '../abuse/lockout';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import { DUMMY_HASH, NO_PASSWORD, verifyPassword } from '../crypto/password';
import type { Database } from '../db/client';
import type { UserRow } from '../db/schema';
import { ApiError } from '../errors';
import { canonicalEmail } from '../policy/email';
import { rehashPassword } from './rehash';

export type Authenticated = {
  user: UserRow;
  /** This proof's place in the email's count, for a second factor checked in the same request. */
  attempt: number;
  /** Clears the failure count; the caller puts it in the batch that completes its change. */
  clearFailures: ReturnType<typeof clearFailuresStatement>;
};

/**
 * Why a password is checked. A sign-in failure is the same 401 for every email (THREATS C1); a
 * signed-in user re-proving who they are gets 403, so a client's "401 means sign in again"
 * never ends a session over a typo (API.md, Conventions).
 */
export type Purpose =
  'login' | 'password_change' | 'mfa_setup' | 'mfa_disable' | 'email_change' | 'account_delete';

const wrongPassword = (via: Purpose) =>
  via === 'login'
    ? new ApiError('invalid_credentials', 'Invalid email or password.')
    : new ApiError('invalid_current_password', 'The current password is not correct.');

/**
 * Email and (normalised) password, guarded by the lockout. Every failure costs the same single
 * PBKDF2 derivation whether or not the email has an account; a locked email gets 423 without
 * any password being checked, also for the right one.
 */
export async function authenticate(
  db: Database,
  config: Config,
  ctx: AuditContext,
  rawEmail: string,
  password: string,
  via: Purpose = 'login',
): Promise<Authenticated> {
  const email = canonicalEmail(rawEmail);
  const now = Date.now();
  const { claim, user } = await claimLoginAttempt(db, config, email, now);
  if (!claim.allowed) throw await refusal(db, config, ctx, email, user?.id ?? null, claim, now);
  // An account made through an identity provider has no password (NO_PASSWORD) until a reset
  // sets one: it is checked against the dummy hash, like an unknown email, and always fails.
  const hasPassword = user !== undefined && user.passwordHash !== NO_PASSWORD;
  const check = await verifyPassword(
    password,
    hasPassword ? user.passwordHash : DUMMY_HASH,
    config.PASSWORD_PEPPER,
  );
  if (!user || !hasPassword || !check.valid) {
    const userId = user?.id ?? null;
    await db.batch([
      auditEvent(db, ctx, 'login.failed', userId, { email, attempt: claim.attempt, via }),
      ...failureStatements(db, config, ctx, email, userId, claim.attempt, now),
    ]);
    throw wrongPassword(via);
  }
  // Outdated parameters, or a hash brought in by an import: replaced now, on every path that
  // proved the password (a password change is about to replace it anyway).
  if (check.needsRehash && via !== 'password_change') {
    await rehashPassword(db, config, ctx, user, password);
  }
  return {
    user,
    attempt: claim.attempt,
    clearFailures: clearFailuresStatement(db, email, now),
  };
}
