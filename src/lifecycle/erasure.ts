import { and, eq, inArray, isNull, ne, sql, type SQL } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditEvent, type AuditContext } from '../audit/audit';
import { database, type Database } from '../db/client';
import {
  auditEvents,
  devMailbox,
  emailCodes,
  identities,
  loginFailures,
  mfaChallenges,
  oauthStates,
  oneTimeTokens,
  passkeys,
  recoveryCodes,
  refreshTokens,
  sessions,
  users,
  webauthnChallenges,
  type UserRow,
} from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { sendLater } from '../mail/send';
import { cutOffUser } from '../sessions/revocation';
import { otherShards } from '../shards';
import { userById } from '../users/users';
import { lifecycleMail } from './templates';
import { profileStores, userWritten } from '../profile/cache';

export const lastAdmin = () =>
  new ApiError('last_admin', 'The last active admin cannot be deleted: make another admin first.');

/**
 * Whether an active admin other than `id` exists: a read, for refusing early (before a one-time
 * factor is spent); the erasure's own DELETE re-checks it in the same statement.
 */
export async function anotherActiveAdmin(db: Database, id: string) {
  const row = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), isNull(users.disabledAt), ne(users.id, id)))
    .limit(1);
  return row.length > 0;
}

/**
 * An audit row's detail without the values `drop` matches (SQL over json_each's `type` and
 * `value`); the other members keep their JSON types.
 */
const scrubbed = (drop: SQL) => sql`(SELECT COALESCE(json_group_object(key,
    CASE type WHEN 'true' THEN json('true') WHEN 'false' THEN json('false')
      WHEN 'object' THEN json(value) WHEN 'array' THEN json(value) ELSE value END), '{}')
  FROM json_each(${auditEvents.detail}) WHERE NOT (${drop}))`;

/**
 * Every statement that erases a user, for one all-or-nothing batch. The first deletes the user
 * row only if it still has the address read before (an email change in between is caught) and
 * does not take away the last active admin: the count is a subquery of that same statement, and
 * D1 runs statements one at a time, so two admins deleting each other (or themselves) at once
 * cannot both succeed. Every other statement runs only once the row is gone. The foreign keys
 * cascade too; the explicit deletes make the erasure not depend on them, and reach the rows
 * keyed by address or by an unconstrained user id. Audit events stay, with the user id, but
 * without IP, user agent or any address; events about the address (failed sign-ins before the
 * account existed) lose that address.
 */
export function erasureStatements(db: Database, user: UserRow, ctx: AuditContext, by: string) {
  const { id, email } = user;
  const removesActiveAdmin = sql`(${users.role} = 'admin' AND ${users.disabledAt} IS NULL)`;
  const anotherAdmin = sql`(SELECT COUNT(*) FROM users o WHERE o.role = 'admin' AND o.disabled_at IS NULL AND o.id != ${id}) >= 1`;
  const gone = sql`NOT EXISTS (SELECT 1 FROM users WHERE id = ${id})`;
  const ownSessions = db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, id));
  return [
    db
      .delete(users)
      .where(
        and(
          eq(users.id, id),
          eq(users.email, email),
          sql`(NOT ${removesActiveAdmin} OR ${anotherAdmin})`,
        ),
      )
      .returning({ id: users.id }),
    db.delete(refreshTokens).where(and(inArray(refreshTokens.sessionId, ownSessions), gone)),
    db.delete(sessions).where(and(eq(sessions.userId, id), gone)),
    db.delete(oneTimeTokens).where(and(eq(oneTimeTokens.userId, id), gone)),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, id), gone)),
    db.delete(mfaChallenges).where(and(eq(mfaChallenges.userId, id), gone)),
    db.delete(identities).where(and(eq(identities.userId, id), gone)),
    db.delete(passkeys).where(and(eq(passkeys.userId, id), gone)),
    db.delete(webauthnChallenges).where(and(eq(webauthnChallenges.userId, id), gone)),
    db.delete(oauthStates).where(and(eq(oauthStates.linkUserId, id), gone)),
    db.delete(emailCodes).where(and(eq(emailCodes.email, email), gone)),
    db.delete(loginFailures).where(and(eq(loginFailures.email, email), gone)),
    db.delete(devMailbox).where(and(eq(devMailbox.to, email), gone)),
    db
      .update(auditEvents)
      .set({ ip: null, userAgent: null, detail: scrubbed(sql`type = 'text' AND value LIKE '%@%'`) })
      .where(and(eq(auditEvents.userId, id), gone)),
    db
      .update(auditEvents)
      .set({ detail: scrubbed(sql`type = 'text' AND value = ${email}`) })
      .where(
        and(
          sql`${auditEvents.userId} IS NOT ${id}`,
          sql`instr(${auditEvents.detail}, json_quote(${email})) > 0`,
          gone,
        ),
      ),
    auditEvent(db, ctx, 'account.deleted', id, { by }, gone),
  ] as const;
}

/** A session shard's rows of an erased user: sessions, their tokens, and the audit's IPs. */
export function shardErasureStatements(db: Database, id: string) {
  const ownSessions = db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, id));
  return [
    db.delete(refreshTokens).where(inArray(refreshTokens.sessionId, ownSessions)),
    db.delete(sessions).where(eq(sessions.userId, id)),
    db
      .update(auditEvents)
      .set({ ip: null, userAgent: null, detail: scrubbed(sql`type = 'text' AND value LIKE '%@%'`) })
      .where(eq(auditEvents.userId, id)),
  ] as const;
}

/**
 * Erases `user` (self-deletion or an admin's). Access tokens are cut in KV before D1 (as every
 * revocation here: a failure in between leaves more revoked, never less) and again after it, so
 * a token minted by a refresh that won the race against the batch is cut too; any refresh after
 * the batch finds no session. `ctx` is the actor's: a user deleting themselves passes one
 * without IP or user agent, which are theirs. Answers 409 `last_admin` or 404 when nothing was
 * deleted.
 */
export async function eraseUser(
  c: Context<AppEnv>,
  user: UserRow,
  ctx: AuditContext,
  by: string,
): Promise<void> {
  const config = c.var.config;
  const db = database(c.env.DB);
  let row = user;
  // One retry: an email change confirmed between the read and the batch moves the address.
  for (let attempt = 0; attempt < 2; attempt++) {
    await cutOffUser(c.env.KV, config, row.id, Date.now());
    const [deleted] = await db.batch(erasureStatements(db, row, ctx, by));
    if (deleted.length === 1) {
      await cutOffUser(c.env.KV, config, row.id, Date.now());
      // Then the user's rows on the other session shards (docs/sharding.md). Until this is done
      // their sessions cannot be used: a shard's refresh reads the user, and there is none.
      await Promise.all(
        otherShards(c.env.DB, config).map((shard) =>
          shard.db.batch(shardErasureStatements(shard.db, row.id)),
        ),
      );
      await userWritten(profileStores(c), row.id, null);
      sendLater(c, lifecycleMail.accountDeleted(row.email, config.PRODUCT_NAME));
      return;
    }
    const now = await userById(db, row.id);
    if (!now) throw new ApiError('not_found', 'No such user.');
    if (now.email === row.email) break;
    row = now;
  }
  throw lastAdmin();
}
