import { eq, sql } from 'drizzle-orm';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import type { Role } from '../crypto/jwt';
import type { Database } from '../db/client';
import { sessions, users, type UserRow } from '../db/schema';
import { ApiError } from '../errors';
import { cutOffUser } from '../sessions/revocation';
import { revocationStatements, revokeInShards } from '../sessions/store';
import { userWritten } from '../profile/cache';

export type UserChange = { role?: Role | undefined; disabled?: boolean | undefined };

/**
 * Applies an admin's change to a user with one conditional UPDATE. It matches only if it changes
 * something and, when it would take away an active admin (demote or disable one), only if
 * another active admin remains: D1 runs statements one at a time, so of two concurrent requests
 * that would each remove one of the last two admins, the second finds no other admin and fails.
 * The audit rows follow in the same batch, each written only if the row before it was
 * (SQLite's changes()), and a disable revokes every session in that batch too.
 */
export async function applyUserChange(
  db: Database,
  kv: KVNamespace,
  config: Config,
  ctx: AuditContext,
  target: UserRow,
  change: UserChange,
  actorId: string,
  now: number,
): Promise<UserRow> {
  const role = change.role ?? target.role;
  const disabled = change.disabled ?? target.disabledAt !== null;
  const id = target.id;
  const removesActiveAdmin = sql`(${users.role} = 'admin' AND ${users.disabledAt} IS NULL AND (${role} != 'admin' OR ${disabled ? 1 : 0}))`;
  const anotherAdmin = sql`(SELECT COUNT(*) FROM users o WHERE o.role = 'admin' AND o.disabled_at IS NULL AND o.id != ${id}) >= 1`;
  const changesSomething = sql`(${users.role} != ${role} OR (${users.disabledAt} IS NOT NULL) != ${disabled ? 1 : 0})`;

  const audits = [];
  if (role !== target.role) {
    audits.push(['user.role_changed', { by: actorId, from: target.role, to: role }] as const);
  }
  if (disabled !== (target.disabledAt !== null)) {
    audits.push([disabled ? 'user.disabled' : 'user.enabled', { by: actorId }] as const);
  }
  const isDisabled = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id} AND disabled_at IS NOT NULL)`;
  const statements = [
    db
      .update(users)
      .set({
        role,
        disabledAt: disabled ? sql`COALESCE(${users.disabledAt}, ${now})` : null,
        updatedAt: now,
      })
      .where(
        sql`${users.id} = ${id} AND ${changesSomething} AND (NOT ${removesActiveAdmin} OR ${anotherAdmin})`,
      ),
    // changes() is the row count of the statement just before: the UPDATE, then each audit row.
    ...audits.map(([type, detail]) => auditEvent(db, ctx, type, id, detail, sql`changes() = 1`)),
    ...revocationStatements(
      db,
      sql`${sessions.userId} = ${id} AND ${isDisabled}`,
      'user_disabled',
      now,
    ),
    db.select().from(users).where(eq(users.id, id)),
  ] as const;
  const results = await db.batch(statements);
  const after = (results.at(-1) as UserRow[])[0]!;
  await userWritten({ db, kv }, id, after);
  if (after.role !== role || (after.disabledAt !== null) !== disabled) {
    throw new ApiError('last_admin', 'The last active admin cannot be demoted or disabled.');
  }
  // A role change cuts the user's access tokens at this worker, so the next refresh carries the
  // new role (admin routes read the stored role anyway). The cut is taken after the change, so
  // no token minted with the old role escapes it. Also on a repeated request that changed
  // nothing: the cut-off is idempotent, and a retry after a KV failure still completes it.
  if (disabled || change.role !== undefined) await cutOffUser(kv, config, id, Date.now());
  // Sessions on the other shards (docs/sharding.md) end last: a failure before leaves them in
  // place, but their refresh reads the user (disabled) from the main database and is refused,
  // and the cut-off above has ended their access tokens. A retry repeats both, idempotently.
  if (after.disabledAt !== null) {
    await revokeInShards(db, config, eq(sessions.userId, id), 'user_disabled', now);
  }
  return after;
}
