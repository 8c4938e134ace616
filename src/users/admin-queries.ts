import * as z from 'zod';
import { base64url } from 'jose';
import { and, desc, eq, gt, isNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';
import { auditEvents, loginFailures, sessions, users, type UserRow } from '../db/schema';
import { allShards } from '../shards';
import { iso, toUserObject } from './users';

/** Cursors are opaque to clients: the last id of a page (UUIDv7, time-ordered), base64url. */
export const encodeCursor = (id: string) => base64url.encode(id);

function decodeCursor(cursor: string): string | undefined {
  try {
    const id = new TextDecoder().decode(base64url.decode(cursor));
    return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id) &&
      encodeCursor(id) === cursor
      ? id
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `cursor` query parameter: absent or empty for the first page, otherwise exactly a
 * `next_cursor` this API returned. Anything else is 422, never silently the first page (a client
 * that mangled its cursor would walk the same page forever).
 */
export const cursorParam = z
  .string()
  .max(200)
  .optional()
  .transform((cursor, ctx) => {
    if (!cursor) return undefined;
    const id = decodeCursor(cursor);
    if (id === undefined) {
      ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
      return z.NEVER;
    }
    return id;
  })
  .openapi({ type: 'string', description: 'next_cursor of the previous page' });

export function adminUser(user: UserRow, lockedUntil: number | null = null) {
  return {
    ...toUserObject(user),
    disabled: user.disabledAt !== null,
    locked_until: lockedUntil !== null && lockedUntil > Date.now() ? iso(lockedUntil) : null,
  };
}

/** LIKE with the user's text taken literally: %, _ and \ are escaped (THREATS D6). */
const like = (column: SQL | typeof users.email, text: string) =>
  sql`${column} LIKE ${`%${text.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`} ESCAPE '\\'`;

/**
 * Users in id order after `afterId`. Ids are UUIDv7, so users created during a walk sort after
 * every existing one: a walk sees each user at most once, and every user that existed when it
 * started exactly once (the page boundary is a key, not an offset).
 */
export function listUsers(db: Database, limit: number, afterId?: string, q?: string) {
  const search = q
    ? sql`(${like(users.email, q.toLowerCase())} OR ${like(sql`lower(${users.name})`, q.toLowerCase())})`
    : undefined;
  return db
    .select()
    .from(users)
    .where(and(afterId ? gt(users.id, afterId) : undefined, search))
    .orderBy(users.id)
    .limit(limit + 1);
}

export async function lockedUntil(db: Database, email: string) {
  const [row] = await db
    .select({ until: loginFailures.lockedUntil })
    .from(loginFailures)
    .where(eq(loginFailures.email, email));
  return row?.until ?? null;
}

/**
 * Newest first: `beforeId` is the last id of the previous page. Session events of sharded users
 * are audited in their shard (docs/sharding.md): each database gives its newest `limit + 1`, in
 * parallel, and the merge keeps the newest of all (ids are UUIDv7, time-ordered everywhere).
 */
export async function listAudit(
  db: Database,
  limit: number,
  filters: { userId?: string; type?: string; beforeId?: string },
) {
  const pages = await Promise.all(
    allShards(db.$client).map(({ db: source }) =>
      source
        .select()
        .from(auditEvents)
        .where(
          and(
            filters.userId ? eq(auditEvents.userId, filters.userId) : undefined,
            filters.type ? eq(auditEvents.type, filters.type) : undefined,
            filters.beforeId ? lt(auditEvents.id, filters.beforeId) : undefined,
          ),
        )
        .orderBy(desc(auditEvents.id))
        .limit(limit + 1),
    ),
  );
  return pages
    .flat()
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .slice(0, limit + 1);
}

export async function stats(db: Database, now: number) {
  const dayAgo = now - 86_400_000;
  const [u, s, l] = await db.batch([
    db
      .select({
        total: sql<number>`COUNT(*)`,
        verified: sql<number>`COUNT(${users.emailVerifiedAt})`,
        admins: sql<number>`COALESCE(SUM(${users.role} = 'admin'), 0)`,
        disabled: sql<number>`COUNT(${users.disabledAt})`,
      })
      .from(users),
    db
      .select({ active: sql<number>`COUNT(*)` })
      .from(sessions)
      .where(and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now))),
    db
      .select({
        succeeded: sql<number>`COALESCE(SUM(${auditEvents.type} = 'login.succeeded'), 0)`,
        failed: sql<number>`COALESCE(SUM(${auditEvents.type} = 'login.failed'), 0)`,
      })
      .from(auditEvents)
      .where(gt(auditEvents.at, dayAgo)),
  ]);
  // Live sessions of the other shards (docs/sharding.md), counted in parallel by each.
  const counts = await Promise.all(
    allShards(db.$client)
      .filter((shard) => shard.index !== 0)
      .map(({ db: source }) =>
        source
          .select({ active: sql<number>`COUNT(*)` })
          .from(sessions)
          .where(and(isNull(sessions.revokedAt), gt(sessions.expiresAt, now))),
      ),
  );
  const active = counts.reduce((sum, [row]) => sum + (row?.active ?? 0), s[0]!.active);
  return { users: u[0]!, sessions: { active }, logins_24h: l[0]! };
}
