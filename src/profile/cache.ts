import type { Context } from 'hono';
import { database, type Database } from '../db/client';
import type { UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import type { Logger } from '../logger';
import { toUserObject, userById, type UserObject } from '../users/users';

// KV keys (docs/storage.md). Two keys, so that no KV write can undo another's: KV has no
// compare-and-set, and a reader that read D1 just before a write could otherwise put its stale
// row after the writer's fresh one. Readers put only `fill`, writers only `written`; the reader
// takes the one with the newer `updatedAt`, the written one on a tie, and a deletion always.
const writtenKey = (userId: string) => `profile:${userId}`;
const fillKey = (userId: string) => `profile:fill:${userId}`;

/** KV's minimum: a fill is the oldest a profile read at another location can be (README). */
export const FILL_TTL = 60;
/**
 * A written profile outlives every fill that was read from D1 before its write, so an expired
 * written entry never hands the last word back to a stale fill (a reader between its D1 read and
 * its put would have to stall for a minute).
 */
export const WRITTEN_TTL = 2 * FILL_TTL;

/** The API's user object, plus what decides a 401, versioned by `users.updated_at`. */
type Entry = { v: number; user: UserObject; disabled: boolean } | { gone: true };

export type CachedProfile = { user: UserObject; disabled: boolean } | { gone: true };

/** The keys to read, in the bearer check's one KV bulk get, for `userId`'s profile. */
export const profileKeys = (userId: string) => [writtenKey(userId), fillKey(userId)];

/** The profile the keys of `found` hold, or null (a miss: read D1). */
export function cachedProfile(
  found: Map<string, string | null>,
  userId: string,
): CachedProfile | null {
  const written = parse(found.get(writtenKey(userId)));
  if (written && 'gone' in written) return written;
  const read = parse(found.get(fillKey(userId)));
  const fill = read && !('gone' in read) ? read : null;
  const best = written && (!fill || written.v >= fill.v) ? written : fill;
  return best && { user: best.user, disabled: best.disabled };
}

function parse(raw: string | null | undefined): Entry | null {
  if (!raw) return null;
  try {
    const entry = JSON.parse(raw) as Entry;
    return 'gone' in entry || typeof entry.v === 'number' ? entry : null;
  } catch {
    return null;
  }
}

const entryOf = (row: UserRow): string =>
  JSON.stringify({ v: row.updatedAt, user: toUserObject(row), disabled: row.disabledAt !== null });

/** After a miss: caches the row read from D1. Best effort; a failure only means another miss. */
export async function fillProfile(kv: KVNamespace, row: UserRow, log: Logger) {
  try {
    await kv.put(fillKey(row.id), entryOf(row), { expirationTtl: FILL_TTL });
  } catch (err) {
    log.warn('profile cache fill failed', { error: String(err) });
  }
}

export type ProfileStores = { db: Database; kv: KVNamespace; log?: Logger | undefined };

export const profileStores = (c: Context<AppEnv>): ProfileStores => ({
  db: database(c.env.DB),
  kv: c.env.KV,
  log: c.var.log,
});

/**
 * Every write of a `users` row ends here (test/profile/writes.test.ts fails for one that does
 * not), after D1 has committed it: the row as it now is (`row` when the write returned it, else
 * read again from the primary; null when it was deleted) becomes the written profile, so the
 * user's next GET /users/me at this location sees it without a D1 read. Awaited before the
 * response: KV is read-your-writes only within one location. A failure (the read or the put) is
 * logged and the write stands, as it must: the change is committed, and a 503 would make the
 * client retry what may not be repeatable (a spent link). The cache then lags by at most
 * WRITTEN_TTL (README "Failure policy").
 */
export async function userWritten(to: ProfileStores, userId: string, row?: UserRow | null) {
  try {
    const now = row === undefined ? await userById(to.db, userId) : row;
    const value = now ? entryOf(now) : JSON.stringify({ gone: true });
    await to.kv.put(writtenKey(userId), value, { expirationTtl: WRITTEN_TTL });
  } catch (err) {
    (to.log ?? console).error('profile cache write failed', { error: String(err) });
  }
}
