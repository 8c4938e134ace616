import type { Context } from 'hono';
import { SQL, is, sql } from 'drizzle-orm';
import { uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { auditEvents } from '../db/schema';
import type { AppEnv } from '../env';
import { clientMeta } from '../request-meta';

export type AuditType =
  | 'user.registered'
  | 'login.succeeded'
  | 'login.failed'
  | 'account.locked'
  | 'token.refreshed'
  | 'token.reuse_detected'
  | 'session.revoked'
  | 'logout'
  | 'logout_all'
  | 'password.changed'
  | 'email.verified'
  | 'password.reset_requested'
  | 'password.reset'
  | 'mfa.enabled'
  | 'mfa.disabled'
  | 'mfa.failed'
  | 'mfa.recovery_code_used'
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'sessions.revoked_by_admin'
  | 'mfa.removed_by_admin'
  | 'access.denied'
  | 'identity.linked'
  | 'identity.unlinked'
  | 'passkey.registered'
  | 'passkey.used'
  | 'passkey.renamed'
  | 'passkey.deleted'
  | 'passkey.refused'
  | 'key.imported'
  | 'key.created'
  | 'key.activated'
  | 'key.retired'
  | 'key.removed'
  | 'key.rotation_scheduled'
  | 'email.change_requested'
  | 'email.changed'
  | 'account.exported'
  | 'account.deleted'
  | 'user.invited'
  | 'invite.accepted'
  | 'account.unlocked'
  | 'password.reset_sent_by_admin'
  | 'password.rehashed'
  | 'users.imported';

/** Ids, codes, counts and canonical emails only: never a password, token, code or secret. */
export type AuditDetail = Record<string, string | number | boolean | null>;

/** Who did it, from where, in which request: the same for every event of one request. */
export type AuditContext = { requestId: string; ip: string | null; userAgent: string | null };

export function auditContext(c: Context<AppEnv>): AuditContext {
  return { requestId: c.var.requestId, ...clientMeta(c) };
}

/**
 * The INSERT of one audit event, for the caller's batch: the event commits with the change it
 * records, or neither does. With `onlyIf`, the row is written only when that SQL condition holds
 * inside the batch (for example "the session was still live"), so racing requests record an
 * event exactly once.
 */
export function auditEvent(
  db: Database,
  ctx: AuditContext,
  type: AuditType,
  userId: string | null | SQL,
  detail: AuditDetail | SQL = {},
  onlyIf?: SQL,
) {
  const now = Date.now();
  const id = uuidv7(now);
  const json = is(detail, SQL) ? detail : JSON.stringify(detail);
  // One form for every call: `onlyIf` defaults to true. Column order follows the table
  // definition, which is what drizzle's INSERT ... SELECT lists.
  return db
    .insert(auditEvents)
    .select(
      sql`SELECT ${id}, ${now}, ${type}, ${userId}, ${ctx.ip}, ${ctx.userAgent}, ${ctx.requestId}, ${json} WHERE ${onlyIf ?? sql`1`}`,
    );
}

/** For raw D1 batches (refresh rotation): the same INSERT as a prepared statement. */
export function auditStatement(
  d1: D1Database,
  query: { toSQL(): { sql: string; params: unknown[] } },
) {
  const { sql: text, params } = query.toSQL();
  return d1.prepare(text).bind(...params);
}
