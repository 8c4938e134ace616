import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { sha256 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { sessions, users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { REFRESH_TOKEN_FORMAT, refreshCookieName } from '../sessions/cookie';
import { readOrConfirm } from '../replicas/read-db';
import { parseRefreshToken, shardAt } from '../shards';

export type PageSession = { user: UserRow; sessionId: string };

/**
 * Pages know who is signed in from the refresh cookie the API sets too: its current token, of a
 * live session of an enabled user. Reading it rotates nothing, and no access token is ever made
 * for a page (none can leak into HTML, a URL or browser storage).
 */
async function cookieToken(c: Context<AppEnv>) {
  const token = getCookie(c, refreshCookieName(c));
  if (!token || !REFRESH_TOKEN_FORMAT.test(token)) return null;
  const parsed = parseRefreshToken(token);
  const shard = parsed && shardAt(c.env.DB, parsed.shard);
  return parsed && shard ? { tokenHash: await sha256(token), shard, userId: parsed.userId } : null;
}

/** The statements that find the cookie's live session and its enabled user, for one batch. */
function lookup(db: Database, tokenHash: string, now: number, owner: string | null) {
  const sessionId = sql`(SELECT t.session_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
    WHERE t.token_hash = ${tokenHash} AND t.used_at IS NULL AND t.expires_at > ${now}
      AND s.revoked_at IS NULL AND s.expires_at > ${now})`;
  const userId = owner ?? sql`(SELECT user_id FROM sessions WHERE id = ${sessionId})`;
  return {
    session: db
      .select({ id: sessions.id })
      .from(sessions)
      .where(
        and(
          sql`${sessions.id} = ${sessionId}`,
          owner === null ? undefined : eq(sessions.userId, owner),
        ),
      ),
    user: (main: Database) =>
      main
        .select()
        .from(users)
        .where(and(sql`${users.id} = ${userId}`, isNull(users.disabledAt))),
    sessions: (target: Database) =>
      target
        .select()
        .from(sessions)
        .where(
          and(
            sql`${sessions.userId} = ${userId}`,
            isNull(sessions.revokedAt),
            gt(sessions.expiresAt, now),
          ),
        )
        .orderBy(desc(sessions.lastUsedAt)),
  };
}

/**
 * The cookie's session, its user and (with `list`) the user's live sessions. On the main
 * database one batch; on another shard the token names the user, so the shard's batch and the
 * main database's run in parallel: one round trip either way. GET pages read the main database
 * on a replica (src/replicas); a cookie it does not know yet (a sign-in whose bookmark the
 * browser did not send back) is confirmed on the primary before the page refuses it.
 */
async function find(c: Context<AppEnv>, list: boolean) {
  const found = await cookieToken(c);
  if (!found) return null;
  const { shard, tokenHash, userId } = found;
  return readOrConfirm(c, async (main) => {
    const now = Date.now();
    if (shard.index === 0) {
      const q = lookup(main, tokenHash, now, null);
      const [[session], [user], rows] = await main.batch([
        q.session,
        q.user(main),
        q.sessions(main),
      ]);
      return session && user ? { user, sessionId: session.id, sessions: list ? rows : [] } : null;
    }
    const q = lookup(shard.db, tokenHash, now, userId);
    const [[[session], rows], [[user], legacy]] = await Promise.all([
      shard.db.batch([q.session, q.sessions(shard.db)]),
      main.batch([q.user(main), q.sessions(main)]),
    ]);
    if (!session || !user) return null;
    const all = [...rows, ...legacy].sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    return { user, sessionId: session.id, sessions: list ? all : [] };
  });
}

export async function pageSession(c: Context<AppEnv>): Promise<PageSession | null> {
  const found = await find(c, false);
  return found && { user: found.user, sessionId: found.sessionId };
}

/** The signed-in user and their live sessions, in one round trip (the account page). */
export async function pageSessionWithSessions(c: Context<AppEnv>) {
  return find(c, true);
}
