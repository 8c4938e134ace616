import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { liftLockStatement } from '../abuse/lockout';
import { auditContext, auditEvent } from '../audit/audit';
import type { Role } from '../crypto/jwt';
import { hashPassword, NO_PASSWORD } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { appLink, sendLater } from '../mail/send';
import { validNewPassword } from '../policy/fields';
import { clientMeta } from '../request-meta';
import { openSession, revokeUserSessions } from '../sessions/store';
import { consumeToken, issueToken, peekToken, spendTokens } from '../tokens/one-time';
import { userById } from '../users/users';
import { lifecycleMail } from './templates';
import { profileStores, userWritten } from '../profile/cache';

export const INVITE_PAGE = 'accept-invite';

const invalidToken = () => new ApiError('invalid_token', 'This link is invalid or has expired.');

/**
 * An admin creates an account without a password and mails its owner a link (INVITE_TTL) to
 * choose one. The row, the token and the audit event are one batch; of two invitations for one
 * address the UNIQUE email index lets one create the row, and the other writes nothing (409).
 */
export async function inviteUser(
  c: Context<AppEnv>,
  input: { email: string; name?: string | undefined; role?: Role | undefined },
  actorId: string,
): Promise<UserRow> {
  const config = c.var.config;
  const db = database(c.env.DB);
  const now = Date.now();
  const id = uuidv7(now);
  const created = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id})`;
  const invite = await issueToken(db, id, 'invite', config.INVITE_TTL, now, created);
  const role = input.role ?? 'user';
  const [[user]] = await db.batch([
    db
      .insert(users)
      .values({
        id,
        email: input.email,
        name: input.name ?? null,
        passwordHash: NO_PASSWORD,
        role,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: users.email })
      .returning(),
    ...invite.statements,
    auditEvent(db, auditContext(c), 'user.invited', id, { by: actorId, role }, created),
  ]);
  if (!user) throw new ApiError('email_taken', 'An account with this email already exists.');
  const link = appLink(c, INVITE_PAGE, invite.token);
  sendLater(c, lifecycleMail.invitation(user.email, config.PRODUCT_NAME, link, config.INVITE_TTL));
  return user;
}

/** The user a live invitation belongs to, without spending it (to show the form). */
export async function invitedUser(c: Context<AppEnv>, token: string) {
  const db = database(c.env.DB);
  const userId = await peekToken(db, token, 'invite', Date.now());
  return userId ? userById(db, userId) : undefined;
}

/**
 * Sets the invited user's first password. Like a reset (the link proves the mailbox): one batch
 * spends the invitation (single use, one conditional UPDATE), sets the password, marks the
 * address verified, spends reset links, lifts a lock and revokes any session, or does none of
 * it. Then this browser is signed in, unless the account has two-factor on or is disabled by
 * then (the sign-in page asks for what is missing).
 */
export async function acceptInvite(c: Context<AppEnv>, token: string, newPassword: string) {
  const config = c.var.config;
  const db = database(c.env.DB);
  const user = await invitedUser(c, token);
  if (!user) throw invalidToken();
  const password = await validNewPassword(
    db,
    newPassword,
    user.email,
    config,
    'new_password',
    c.var.log,
  );
  const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
  const now = Date.now();
  const ctx = auditContext(c);
  const { consume, consumed } = await consumeToken(db, token, 'invite', now);
  const [spent] = await revokeUserSessions(db, c.env.KV, config, user.id, 'invite_accepted', now, {
    alsoRun: [
      consume,
      db
        .update(users)
        .set({
          passwordHash,
          emailVerifiedAt: sql`COALESCE(${users.emailVerifiedAt}, ${now})`,
          updatedAt: now,
        })
        .where(and(eq(users.id, user.id), consumed)),
      liftLockStatement(db, user.email, consumed),
      spendTokens(db, user.id, 'reset_password', now, consumed),
      auditEvent(db, ctx, 'invite.accepted', user.id, {}, consumed),
    ],
  });
  if ((spent as unknown[]).length === 0) throw invalidToken();
  const fresh = await userById(db, user.id);
  await userWritten(profileStores(c), user.id, fresh ?? null);
  if (!fresh || fresh.disabledAt !== null || fresh.totpEnabledAt !== null) {
    return { user: fresh ?? user, session: null };
  }
  const session = await openSession(db, config, fresh, clientMeta(c), Date.now());
  const [gate] = await db.batch([
    ...session.statements,
    auditEvent(
      db,
      ctx,
      'login.succeeded',
      fresh.id,
      { session_id: session.sessionId, via: 'invite' },
      session.opened,
    ),
  ]);
  // Deleted since it was read: the password is set on nothing, and nobody is signed in.
  if (!(await session.settle(gate))) return { user: fresh, session: null };
  return { user: fresh, session };
}
