import { and, desc, gt, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { sha256 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { sessions, users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { REFRESH_TOKEN_FORMAT, refreshCookieName } from '../sessions/cookie';
import { readOrConfirm } from '../replicas/read-db';

export type PageSession = { user: UserRow; sessionId: string };

/**
 * Pages know who is signed in from the refresh cookie the API sets too: its current token, of a
 * live session of an enabled user. Reading it rotates nothing, and no access token is ever made
 * for a page (none can leak into HTML, a URL or browser storage).
 */
async function cookieTokenHash(c: Context<AppEnv>): Promise<string | null> {
  const token = getCookie(c, refreshCookieName(c));
  return token && REFRESH_TOKEN_FORMAT.test(token) ? sha256(token) : null;
}

/** The statements that find the cookie's live session and its enabled user, for one batch. */
function lookup(db: Database, tokenHash: string, now: number) {
  const sessionId = sql`(SELECT t.session_id FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
    WHERE t.token_hash = ${tokenHash} AND t.used_at IS NULL AND t.expires_at > ${now}
      AND s.revoked_at IS NULL AND s.expires_at > ${now})`;
  const userId = sql`(SELECT user_id FROM sessions WHERE id = ${sessionId})`;
  return {
    session: db
      .select({ id: sessions.id })
      .from(sessions)
      .where(sql`${sessions.id} = ${sessionId}`),
    user: db
      .select()
      .from(users)
      .where(and(sql`${users.id} = ${userId}`, isNull(users.disabledAt))),
    sessions: db
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

// GET pages read a replica (src/replicas); a cookie it does not know yet (a sign-in whose
// bookmark the browser did not send back) is confirmed on the primary before the page refuses it.
export async function pageSession(c: Context<AppEnv>): Promise<PageSession | null> {
  const tokenHash = await cookieTokenHash(c);
  if (!tokenHash) return null;
  return readOrConfirm(c, async (db) => {
    const q = lookup(db, tokenHash, Date.now());
    const [[session], [user]] = await db.batch([q.session, q.user]);
    return session && user ? { user, sessionId: session.id } : null;
  });
}

/** The signed-in user and their live sessions, in one round trip (the account page). */
export async function pageSessionWithSessions(c: Context<AppEnv>) {
  const tokenHash = await cookieTokenHash(c);
  if (!tokenHash) return null;
  return readOrConfirm(c, async (db) => {
    const q = lookup(db, tokenHash, Date.now());
    const [[session], [user], list] = await db.batch([q.session, q.user, q.sessions]);
    return session && user ? { user, sessionId: session.id, sessions: list } : null;
  });
}
