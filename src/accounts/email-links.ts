import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { liftLockStatement } from '../abuse/lockout';
import { auditContext, auditEvent } from '../audit/audit';
import { hashPassword } from '../crypto/password';
import { sha256 } from '../crypto/tokens';
import { database } from '../db/client';
import { users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { appLink, deliver, sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { rateLimiter } from '../middleware/rate-limit';
import { canonicalEmail } from '../policy/email';
import { validNewPassword } from '../policy/fields';
import { revokeUserSessions } from '../sessions/store';
import { consumeToken, issueToken, peekToken, spendTokens } from '../tokens/one-time';
import { userByEmail, userById } from '../users/users';
import { profileStores, userWritten } from '../profile/cache';

// The flows behind the links we mail: email verification and password reset, for the API and
// the pages alike.

const invalidToken = () => new ApiError('invalid_token', 'This link is invalid or has expired.');

/**
 * Per-address throttle for mail we send on an anonymous request. Over budget, the request still
 * gets its answer (which must not depend on the address) but nothing is sent.
 */
export async function addressAllowed(c: Context<AppEnv>, kind: string, email: string) {
  const rate = c.var.config.RATE_LIMIT_EMAIL_PER_ADDRESS;
  // Hashed: KV keys stay short (512-byte limit) and hold no address.
  const key = `${kind}:email:${await sha256(email)}`;
  const decision = await rateLimiter(c).hit(key, rate, Date.now());
  return decision.allowed;
}

/**
 * Resend and forgot-password answer the same for every address; whatever depends on the address
 * (reads, throttle, token, audit row, mail) runs after the response, so neither the answer nor
 * its timing tells whether an account exists or is verified (THREATS C3, C4). A failure there is
 * logged; the client's answer was never going to say anything else.
 */
export function afterResponse(c: Context<AppEnv>, what: string, work: () => Promise<void>) {
  c.executionCtx.waitUntil(
    work().catch((err) => c.var.log.error(`${what} failed`, { error: String(err) })),
  );
}

/** Spends a verification token and marks its user's address verified. */
export async function confirmEmail(c: Context<AppEnv>, token: string): Promise<UserRow> {
  const db = database(c.env.DB);
  const now = Date.now();
  const { consume, consumed, userOf } = await consumeToken(db, token, 'verify_email', now);
  const [spent, , , verified] = await db.batch([
    consume,
    db
      .update(users)
      .set({ emailVerifiedAt: sql`COALESCE(${users.emailVerifiedAt}, ${now})`, updatedAt: now })
      .where(and(sql`${users.id} = ${userOf}`, consumed)),
    auditEvent(db, auditContext(c), 'email.verified', userOf, {}, consumed),
    db
      .select()
      .from(users)
      .where(sql`${users.id} = ${userOf}`),
  ]);
  if (spent.length === 0 || !verified[0]) throw invalidToken();
  await userWritten(profileStores(c), verified[0].id, verified[0]);
  return verified[0];
}

/** Mails a new verification link to an unverified account, after the response. */
export function resendVerification(c: Context<AppEnv>, rawEmail: string) {
  const email = canonicalEmail(rawEmail);
  afterResponse(c, 'verification resend', async () => {
    const config = c.var.config;
    const db = database(c.env.DB);
    const user = await userByEmail(db, email);
    if (!user || user.emailVerifiedAt !== null) return;
    if (!(await addressAllowed(c, 'verify', email))) return;
    const verification = await issueToken(
      db,
      user.id,
      'verify_email',
      config.VERIFY_EMAIL_TTL,
      Date.now(),
    );
    await db.batch(verification.statements);
    const link = appLink(c, 'verify-email', verification.token);
    await deliver(c, templates.verifyEmail(user.email, config.PRODUCT_NAME, link));
  });
}

/**
 * Tells the owner of an address that someone tried to sign up with it again, after the
 * response and under the per-address mail budget (the sign-up page answers a taken address as
 * it answers a new one, THREATS C3).
 */
export function mailAccountExists(c: Context<AppEnv>, email: string) {
  afterResponse(c, 'account-exists notice', async () => {
    if (!(await addressAllowed(c, 'exists', email))) return;
    const { ISSUER, PRODUCT_NAME } = c.var.config;
    const notice = templates.accountExists(
      email,
      PRODUCT_NAME,
      `${ISSUER}/sign-in`,
      `${ISSUER}/reset-password`,
    );
    await deliver(c, notice);
  });
}

/** Mails a reset link to an account, after the response; every request is audited. */
export function requestPasswordReset(c: Context<AppEnv>, rawEmail: string) {
  const email = canonicalEmail(rawEmail);
  const ctx = auditContext(c);
  afterResponse(c, 'reset request', async () => {
    const config = c.var.config;
    const db = database(c.env.DB);
    const user = await userByEmail(db, email);
    const allowed = await addressAllowed(c, 'reset', email);
    const requested = (userId: string | null) =>
      auditEvent(db, ctx, 'password.reset_requested', userId, { email, throttled: !allowed });
    if (!user || !allowed) {
      await db.batch([requested(user?.id ?? null)]);
      return;
    }
    const reset = await issueToken(
      db,
      user.id,
      'reset_password',
      config.RESET_PASSWORD_TTL,
      Date.now(),
    );
    await db.batch([...reset.statements, requested(user.id)]);
    const link = appLink(c, 'reset-password', reset.token);
    const minutes = Math.round(config.RESET_PASSWORD_TTL / 60);
    await deliver(c, templates.resetPassword(user.email, config.PRODUCT_NAME, link, minutes));
  });
}

/** The user a reset token belongs to, without spending it (to show or check the form). */
export async function resetTokenUser(c: Context<AppEnv>, token: string) {
  const db = database(c.env.DB);
  const userId = await peekToken(db, token, 'reset_password', Date.now());
  return userId ? userById(db, userId) : undefined;
}

/**
 * Sets a new password with a reset token. One batch: the token is spent, the password set, every
 * session revoked, the lockout lifted (a reset works while locked), the audit row written, or
 * none of it. Of two concurrent submissions only the one whose UPDATE consumed the token has any
 * effect. Signs nobody in (THREATS B12).
 */
export async function resetPassword(
  c: Context<AppEnv>,
  token: string,
  newPassword: string,
  field = 'new_password',
) {
  const config = c.var.config;
  const db = database(c.env.DB);
  const now = Date.now();
  const user = await resetTokenUser(c, token);
  if (!user) throw invalidToken();
  const password = await validNewPassword(db, newPassword, user.email, config, field, c.var.log);
  const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
  const { consume, consumed } = await consumeToken(db, token, 'reset_password', now);
  const [spent] = await revokeUserSessions(db, c.env.KV, config, user.id, 'password_reset', now, {
    alsoRun: [
      consume,
      db
        .update(users)
        .set({ passwordHash, updatedAt: now })
        .where(and(eq(users.id, user.id), consumed)),
      liftLockStatement(db, user.email, consumed),
      spendTokens(db, user.id, 'reset_password', now, consumed),
      auditEvent(db, auditContext(c), 'password.reset', user.id, {}, consumed),
    ],
  });
  if ((spent as unknown[]).length === 0) throw invalidToken();
  sendLater(c, templates.passwordChanged(user.email, config.PRODUCT_NAME));
}
