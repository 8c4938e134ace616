import type { Context } from 'hono';
import {
  claimLoginAttempt,
  clearFailuresStatement,
  failureStatements,
  refusal,
} from '../abuse/lockout';
import { authenticate } from '../accounts/authenticate';
import { auditContext, auditEvent } from '../audit/audit';
import { NO_PASSWORD } from '../crypto/password';
import { database } from '../db/client';
import type { UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { consumeFactor, readFactor } from '../mfa/factors';
import { RECENT_SIGN_IN_SECONDS } from '../passkeys/ceremonies';
import { assertSessionLive, sessionOfUser } from '../sessions/store';
import { anotherActiveAdmin, eraseUser, lastAdmin } from './erasure';

const wrongPassword = () =>
  new ApiError('invalid_current_password', 'The current password is not correct.');

/**
 * Proof for an irreversible act, under the email's lockout like every proof: the password, or,
 * for an account without one (identity provider or passkeys only), a sign-in within the last
 * RECENT_SIGN_IN_SECONDS (as for adding a passkey: a leaked access token or an old session is
 * not enough); then the TOTP or a recovery code when two-factor is on. Gives the statement that
 * clears the email's failure count.
 */
async function reauthenticate(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  password: string | undefined,
  code: string | undefined,
) {
  const config = c.var.config;
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  let attempt: number;
  if (user.passwordHash !== NO_PASSWORD) {
    if (password === undefined) throw wrongPassword();
    attempt = (await authenticate(db, config, ctx, user.email, password, 'account_delete')).attempt;
  } else {
    const session = await sessionOfUser(db, sessionId, user.id);
    if (!session || session.createdAt < Date.now() - RECENT_SIGN_IN_SECONDS * 1000) {
      throw new ApiError(
        'recent_sign_in_required',
        `Deleting an account without a password needs a sign-in within the last ${RECENT_SIGN_IN_SECONDS / 60} minutes: sign in again.`,
      );
    }
    // No password to check, but a code may be: it claims its attempt like one.
    const { claim } = await claimLoginAttempt(db, config, user.email, Date.now());
    if (!claim.allowed)
      throw await refusal(db, config, ctx, user.email, user.id, claim, Date.now());
    attempt = claim.attempt;
  }
  const now = Date.now();
  if (user.totpEnabledAt !== null) {
    const factor = code ? await readFactor(config, user, code, now) : null;
    const used = factor ? (await db.batch([consumeFactor(db, user.id, factor, now)]))[0] : [];
    if (used.length !== 1) {
      await db.batch([
        auditEvent(db, ctx, 'mfa.failed', user.id, { during: 'account_delete', attempt }),
        ...failureStatements(db, config, ctx, user.email, user.id, attempt, now),
      ]);
      throw new ApiError('invalid_mfa_code', 'The code is not valid.', { status: 403 });
    }
  }
  // Wrapped: a query builder is a thenable, and returning it from an async function would run it.
  return { clearFailures: clearFailuresStatement(db, user.email, now) };
}

/** A signed-in user deletes their own account: re-authenticated, then erased (erasure.ts). */
export async function deleteOwnAccount(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  password: string | undefined,
  code: string | undefined,
) {
  const db = database(c.env.DB);
  await assertSessionLive(db, sessionId, Date.now());
  // The last admin is refused before any proof is taken: a recovery code or TOTP step spent on
  // a deletion that cannot happen would be lost for nothing.
  if (user.role === 'admin' && user.disabledAt === null && !(await anotherActiveAdmin(db, user.id)))
    throw lastAdmin();
  const { clearFailures } = await reauthenticate(c, user, sessionId, password, code);
  // The actor is the user: the deletion's own audit row keeps neither their IP nor their user
  // agent. The failure count is keyed by the address and goes with the erasure; a refusal
  // (the last admin) clears it, as any right password does.
  const ctx = { ...auditContext(c), ip: null, userAgent: null };
  try {
    await eraseUser(c, user, ctx, 'self');
  } catch (err) {
    await db.batch([clearFailures]);
    throw err;
  }
}
