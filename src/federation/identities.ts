import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { NO_PASSWORD } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { identities, loginFailures, users, type IdentityRow, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { canonicalEmail, emailProblem } from '../policy/email';
import { anotherSignInMethod, lastSignInMethod } from '../accounts/sign-in-methods';
import { userById } from '../users/users';

/** Who the provider says signed in. */
export type Asserted = {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
};

/** Why an identity cannot sign in or be linked; each has its own message on the pages. */
export type FederationRefusal =
  | 'state'
  | 'provider'
  | 'denied'
  | 'email_unverified'
  | 'account_exists'
  | 'identity_taken'
  | 'account_locked'
  | 'account_disabled';

export class FederationError extends Error {
  constructor(readonly reason: FederationRefusal) {
    super(reason);
  }
}

function identityRow(userId: string, provider: string, a: Asserted, now: number) {
  return {
    id: uuidv7(now),
    userId,
    provider,
    subject: a.subject,
    email: a.email,
    emailVerified: a.emailVerified,
    createdAt: now,
    lastUsedAt: now,
  };
}

/**
 * The user an asserted identity signs in, per API.md: a known identity is its user; a signed-in
 * user linking from /account gets it; otherwise it is linked to the account with its email only
 * when the provider asserts the email verified AND the account's email is verified (so an
 * unverified password account can never absorb a provider identity, nor a provider's unverified
 * claim an account: pre-account takeover, THREATS K8); a new verified email gets a new account
 * without a password. Returns whether it was linked just now.
 */
export async function resolveIdentity(
  c: Context<AppEnv>,
  provider: string,
  asserted: Asserted,
  linkUserId: string | null,
): Promise<{ user: UserRow; linked: boolean; created: boolean }> {
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  const now = Date.now();
  const [known] = await db
    .select()
    .from(identities)
    .where(and(eq(identities.provider, provider), eq(identities.subject, asserted.subject)));
  if (known) {
    if (linkUserId && known.userId !== linkUserId) throw new FederationError('identity_taken');
    await db
      .update(identities)
      .set({ email: asserted.email, emailVerified: asserted.emailVerified, lastUsedAt: now })
      .where(eq(identities.id, known.id));
    const user = await userById(db, known.userId);
    if (!user) throw new FederationError('state');
    return { user, linked: false, created: false };
  }

  const link = async (user: UserRow, auto: boolean) => {
    const row = identityRow(user.id, provider, asserted, now);
    const [[inserted]] = await db.batch([
      db.insert(identities).values(row).onConflictDoNothing().returning({ id: identities.id }),
      auditEvent(
        db,
        ctx,
        'identity.linked',
        user.id,
        { provider, identity_id: row.id, auto },
        sql`changes() = 1`,
      ),
    ]);
    // A parallel callback linked this identity first (to this user or another).
    if (!inserted) throw new FederationError('identity_taken');
    return { user, linked: true, created: false };
  };

  if (linkUserId) {
    const user = await userById(db, linkUserId);
    if (!user) throw new FederationError('state');
    return link(user, false);
  }

  const email = asserted.email ? canonicalEmail(asserted.email) : null;
  if (!email || emailProblem(email) || !asserted.emailVerified) {
    throw new FederationError('email_unverified');
  }
  const [existing] = await db.select().from(users).where(eq(users.email, email));
  if (existing) {
    if (existing.emailVerifiedAt === null) throw new FederationError('account_exists');
    return link(existing, true);
  }

  // A new account without a password (a reset can set one), its address verified by the provider.
  const userId = uuidv7(now);
  const created = sql`EXISTS (SELECT 1 FROM users WHERE id = ${userId})`;
  const [[user]] = await db.batch([
    db
      .insert(users)
      .values({
        id: userId,
        email,
        name: asserted.name?.slice(0, 100) || null,
        passwordHash: NO_PASSWORD,
        emailVerifiedAt: now,
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: users.email })
      .returning(),
    db
      .insert(identities)
      .select(
        sql`SELECT ${uuidv7(now)}, ${userId}, ${provider}, ${asserted.subject}, ${email}, 1, ${now}, ${now} WHERE ${created}`,
      )
      .onConflictDoNothing(),
    auditEvent(db, ctx, 'user.registered', userId, { email, via: provider }, created),
  ]);
  // Someone registered this address in between: the same rule as for an existing account.
  if (!user) throw new FederationError('account_exists');
  return { user, linked: true, created: true };
}

/** Whether this user may sign in now: enabled, and no lock on the email (THREATS F4). */
export async function assertMaySignIn(c: Context<AppEnv>, user: UserRow) {
  if (user.disabledAt !== null) throw new FederationError('account_disabled');
  const [lock] = await database(c.env.DB)
    .select({ until: loginFailures.lockedUntil })
    .from(loginFailures)
    .where(eq(loginFailures.email, user.email));
  if (lock?.until != null && lock.until > Date.now()) throw new FederationError('account_locked');
}

export function identitiesOf(c: Context<AppEnv>, userId: string): Promise<IdentityRow[]> {
  return database(c.env.DB)
    .select()
    .from(identities)
    .where(eq(identities.userId, userId))
    .orderBy(identities.createdAt);
}

/**
 * Unlinks one of the user's identities, unless it is their last way to sign in (no password,
 * no other identity, no passkey): `409 last_sign_in_method`. One conditional DELETE decides, so two parallel
 * unlinks of a passwordless user's two identities cannot both succeed.
 */
export async function unlinkIdentity(c: Context<AppEnv>, userId: string, identityId: string) {
  const db = database(c.env.DB);
  const [mine] = await db
    .select({ id: identities.id, provider: identities.provider })
    .from(identities)
    .where(and(eq(identities.id, identityId), eq(identities.userId, userId)));
  if (!mine) throw new ApiError('not_found', 'No such identity.');
  const another = anotherSignInMethod(userId, { identityId });
  const [[removed]] = await db.batch([
    db
      .delete(identities)
      .where(and(eq(identities.id, identityId), eq(identities.userId, userId), another))
      .returning({ id: identities.id }),
    auditEvent(
      db,
      auditContext(c),
      'identity.unlinked',
      userId,
      { provider: mine.provider, identity_id: identityId },
      sql`changes() = 1`,
    ),
  ]);
  if (!removed) throw lastSignInMethod();
}
