import type { Context } from 'hono';
import { refundAttemptStatement } from '../abuse/lockout';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { createChallenge } from '../mfa/challenge';
import { clientMeta } from '../request-meta';
import type { SessionGrant } from '../sessions/rotation';
import { openSession } from '../sessions/store';
import { authenticate } from './authenticate';

export type SignIn =
  /** Signed in: the session exists once `persisting` has resolved. */
  | { kind: 'session'; grant: SessionGrant; persisting: Promise<unknown>; now: number }
  /** The password was right; the second factor is next (verifyChallenge). */
  | { kind: 'mfa_required'; mfaToken: string };

/**
 * Sign-in with email and (normalised) password, for the API and the pages alike: the lockout,
 * the account's state (told only to a caller who knows the password, THREATS C2), then either a
 * session or a second-factor challenge. authenticate() replaces an outdated or imported hash.
 */
export async function signInWithPassword(
  c: Context<AppEnv>,
  email: string,
  password: string,
): Promise<SignIn> {
  const config = c.var.config;
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  const { user, ...auth } = await authenticate(db, config, ctx, email, password);
  if (user.disabledAt !== null) {
    await db.batch([
      auth.clearFailures,
      auditEvent(db, ctx, 'login.failed', user.id, { reason: 'account_disabled' }),
    ]);
    throw new ApiError('account_disabled', 'This account is disabled.');
  }
  if (config.REQUIRE_EMAIL_VERIFICATION && user.emailVerifiedAt === null) {
    await db.batch([auth.clearFailures]);
    throw new ApiError('email_not_verified', 'Confirm your email address first.');
  }
  const now = Date.now();
  if (user.totpEnabledAt !== null) {
    // The password was right, but the sign-in is not done: earlier failures stay counted until
    // the second step succeeds, and this attempt is given back, so only failures of either
    // factor count and opening challenges buys no code guesses (see verifyChallenge).
    const challenge = await createChallenge(db, user.id, now);
    await db.batch([challenge.statement, refundAttemptStatement(db, user.email)]);
    return { kind: 'mfa_required', mfaToken: challenge.token };
  }
  const session = await openSession(db, config, user, clientMeta(c), now);
  const opened = session.opened;
  const persisting = db
    .batch([
      ...session.statements,
      auth.clearFailures,
      auditEvent(db, ctx, 'login.succeeded', user.id, { session_id: session.sessionId }, opened),
    ])
    .then(([gate]) => session.confirm(gate));
  return { kind: 'session', grant: grantFor(user, session), persisting, now };
}

/** What a token response or a session cookie needs about a freshly opened session. */
export function grantFor(
  user: UserRow,
  session: { sessionId: string; refreshToken: string; expiresAt: number },
): SessionGrant {
  return {
    sessionId: session.sessionId,
    refreshToken: session.refreshToken,
    expiresAt: session.expiresAt,
    userId: user.id,
    role: user.role,
    emailVerified: user.emailVerifiedAt !== null,
  };
}
