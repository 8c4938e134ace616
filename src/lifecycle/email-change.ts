import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { authenticate } from '../accounts/authenticate';
import { auditContext, auditEvent } from '../audit/audit';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { emailCodes, oneTimeTokens, users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError, invalidFields } from '../errors';
import { appLink, sendLater } from '../mail/send';
import { rateLimiter } from '../middleware/rate-limit';
import { assertSessionLive } from '../sessions/store';
import { spendTokens } from '../tokens/one-time';
import { userByEmail } from '../users/users';
import { lifecycleMail } from './templates';
import { profileStores, userWritten } from '../profile/cache';

// Changing a signed-in user's email: a link to the new address, applied only when it is used.

export const CONFIRM_PAGE = 'confirm-email-change';

const emailTaken = () => new ApiError('email_taken', 'An account with this email already exists.');
const invalidToken = () => new ApiError('invalid_token', 'This link is invalid or has expired.');

/**
 * Mails a confirmation link to `newEmail` and a notice to the current address. Needs the
 * password, checked under the email's lockout. Answering 409 for an address that already has an
 * account (API.md) tells a signed-in password holder that the address exists, so requests are
 * also counted per user (RATE_LIMIT_EMAIL_CHANGE). A newer request spends the older links.
 */
export async function requestEmailChange(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  newEmail: string,
  password: string,
) {
  const config = c.var.config;
  const db = database(c.env.DB);
  await assertSessionLive(db, sessionId, Date.now());
  if (newEmail === user.email) {
    throw invalidFields([{ path: 'new_email', message: 'is already your address' }]);
  }
  const rate = config.RATE_LIMIT_EMAIL_CHANGE;
  const decision = await rateLimiter(c).hit(`email-change:user:${user.id}`, rate, Date.now());
  if (!decision.allowed) {
    throw new ApiError('rate_limited', 'Too many email changes; try again later.', {
      headers: { 'Retry-After': String(decision.resetSeconds) },
    });
  }
  const ctx = auditContext(c);
  const auth = await authenticate(db, config, ctx, user.email, password, 'email_change');
  const now = Date.now();
  if (await userByEmail(db, newEmail)) {
    await db.batch([
      auth.clearFailures,
      auditEvent(db, ctx, 'email.change_requested', user.id, { to: newEmail, taken: true }),
    ]);
    throw emailTaken();
  }
  const token = randomToken(32);
  await db.batch([
    spendTokens(db, user.id, 'email_change', now),
    db.insert(oneTimeTokens).values({
      id: uuidv7(now),
      userId: user.id,
      purpose: 'email_change',
      tokenHash: await sha256(token),
      createdAt: now,
      expiresAt: now + config.VERIFY_EMAIL_TTL * 1000,
      newEmail,
      oldEmail: user.email,
    }),
    auth.clearFailures,
    auditEvent(db, ctx, 'email.change_requested', user.id, {
      to: newEmail,
      session_id: sessionId,
    }),
  ]);
  const link = appLink(c, CONFIRM_PAGE, token);
  const product = config.PRODUCT_NAME;
  sendLater(c, lifecycleMail.confirmEmailChange(newEmail, product, link, config.VERIFY_EMAIL_TTL));
  sendLater(c, lifecycleMail.emailChangeRequested(user.email, product, newEmail));
}

/**
 * A live email-change token: unused, unexpired, and its account still has the old address and is
 * not disabled.
 */
const live = (tokenHash: string, now: number) =>
  and(
    eq(oneTimeTokens.tokenHash, tokenHash),
    eq(oneTimeTokens.purpose, 'email_change'),
    isNull(oneTimeTokens.usedAt),
    sql`${oneTimeTokens.expiresAt} > ${now}`,
    sql`EXISTS (SELECT 1 FROM users u WHERE u.id = ${oneTimeTokens.userId} AND u.email = ${oneTimeTokens.oldEmail} AND u.disabled_at IS NULL)`,
  );

/**
 * Applies the change a link confirms. The token is bound to its user, the new address and the
 * address the account had when it was asked for: a change in between (another link) kills it.
 * One batch, whose first statement spends the token only if the new address is still free at
 * that moment: D1 runs batches one at a time, so of two confirmations to one address (two users,
 * or an address registered meanwhile) exactly one wins and the other changes nothing (409).
 * Sessions are kept. Links and codes mailed to the old address, and codes for the new one that
 * predate the account, are spent: the old mailbox no longer speaks for the account.
 */
export async function confirmEmailChange(c: Context<AppEnv>, token: string): Promise<UserRow> {
  const db = database(c.env.DB);
  const now = Date.now();
  const tokenHash = await sha256(token);
  const marker = crypto.randomUUID();
  const mine = sql`(SELECT user_id FROM one_time_tokens WHERE token_hash = ${tokenHash} AND consumed_by = ${marker})`;
  const consumed = sql`EXISTS (SELECT 1 FROM one_time_tokens WHERE token_hash = ${tokenHash} AND consumed_by = ${marker})`;
  const field = (column: 'new_email' | 'old_email') =>
    sql`(SELECT ${sql.raw(column)} FROM one_time_tokens WHERE token_hash = ${tokenHash} AND consumed_by = ${marker})`;
  const [spent, , , , , changed] = await db.batch([
    db
      .update(oneTimeTokens)
      .set({ usedAt: now, consumedBy: marker })
      .where(
        and(
          live(tokenHash, now),
          sql`NOT EXISTS (SELECT 1 FROM users u WHERE u.email = ${oneTimeTokens.newEmail})`,
        ),
      )
      .returning({ oldEmail: oneTimeTokens.oldEmail }),
    db
      .update(users)
      .set({
        email: sql`${field('new_email')}`,
        emailVerifiedAt: now,
        updatedAt: now,
      })
      .where(and(sql`${users.id} = ${mine}`, consumed)),
    db
      .update(oneTimeTokens)
      .set({ usedAt: now })
      .where(and(sql`${oneTimeTokens.userId} = ${mine}`, isNull(oneTimeTokens.usedAt), consumed)),
    db
      .delete(emailCodes)
      .where(
        and(sql`${emailCodes.email} IN (${field('new_email')}, ${field('old_email')})`, consumed),
      ),
    auditEvent(
      db,
      auditContext(c),
      'email.changed',
      mine,
      sql`json_object('from', ${field('old_email')}, 'to', ${field('new_email')})`,
      consumed,
    ),
    db
      .select()
      .from(users)
      .where(and(sql`${users.id} = ${mine}`, consumed)),
  ]);
  const user = changed[0];
  if (spent.length === 0 || !user) {
    // Why not: a live link whose address was taken meanwhile is 409 (and stays unspent).
    const [pending] = await db
      .select({ id: oneTimeTokens.id })
      .from(oneTimeTokens)
      .where(live(tokenHash, now));
    throw pending ? emailTaken() : invalidToken();
  }
  await userWritten(profileStores(c), user.id, user);
  const oldEmail = spent[0]?.oldEmail;
  if (oldEmail) {
    sendLater(c, lifecycleMail.emailChanged(oldEmail, c.var.config.PRODUCT_NAME, user.email));
  }
  return user;
}
