import { and, desc, eq, gt, inArray, isNull, ne, type SQL } from 'drizzle-orm';
import type { BatchItem } from 'drizzle-orm/batch';
import type { Config } from '../config';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { refreshTokens, sessions } from '../db/schema';
import { cutOffUser, denySessions } from './revocation';

export type ClientMeta = { ip: string | null; userAgent: string | null };

/**
 * The statements that open a session with its first refresh token, for the caller to put in
 * its own batch (login writes the session, its token and any rehash or audit row together).
 */
export async function openSession(
  db: Database,
  config: Config,
  userId: string,
  meta: ClientMeta,
  now: number,
) {
  const sessionId = uuidv7(now);
  const refreshToken = randomToken(32);
  const expiresAt = now + config.REFRESH_TOKEN_TTL * 1000;
  const statements = [
    db.insert(sessions).values({
      id: sessionId,
      userId,
      createdAt: now,
      lastUsedAt: now,
      expiresAt,
      ip: meta.ip,
      userAgent: meta.userAgent,
    }),
    db.insert(refreshTokens).values({
      id: uuidv7(now),
      sessionId,
      tokenHash: await sha256(refreshToken),
      createdAt: now,
      expiresAt,
    }),
  ] as const;
  return { sessionId, refreshToken, expiresAt, statements };
}

/**
 * Revokes the live sessions matching `which` and consumes their unused refresh tokens, in one
 * batch (no id list, so no 100-parameter limit). Returns the ids it revoked.
 */
async function revokeWhere(
  db: Database,
  which: SQL,
  reason: string,
  now: number,
  alsoRun: BatchItem<'sqlite'>[] = [],
) {
  const live = and(which, isNull(sessions.revokedAt));
  const [, revoked] = await db.batch([
    db
      .update(refreshTokens)
      .set({ usedAt: now })
      .where(
        and(
          isNull(refreshTokens.usedAt),
          inArray(
            refreshTokens.sessionId,
            db.select({ id: sessions.id }).from(sessions).where(live),
          ),
        ),
      ),
    db
      .update(sessions)
      .set({ revokedAt: now, revokeReason: reason })
      .where(live)
      .returning({ id: sessions.id }),
    ...alsoRun,
  ]);
  return revoked.map((r) => r.id);
}

/**
 * Revokes one session of `userId` (or of anyone, when `userId` is null): D1 first, so no refresh
 * can succeed, then the KV denylist for its access tokens. Returns whether it was live.
 */
export async function revokeSession(
  db: Database,
  kv: KVNamespace,
  config: Config,
  sessionId: string,
  userId: string | null,
  reason: string,
  now: number,
): Promise<boolean> {
  const owned = userId === null ? undefined : eq(sessions.userId, userId);
  const revoked = await revokeWhere(db, and(eq(sessions.id, sessionId), owned)!, reason, now);
  if (revoked.length === 0) return false;
  await denySessions(kv, config, revoked);
  return true;
}

/**
 * Every session of the user, or every other one when `keep` names the current session.
 * `alsoRun` joins the same batch (the password update that causes the revocation, say).
 */
export async function revokeUserSessions(
  db: Database,
  kv: KVNamespace,
  config: Config,
  userId: string,
  reason: string,
  now: number,
  options: { keep?: string; alsoRun?: BatchItem<'sqlite'>[] } = {},
): Promise<void> {
  const keep = options.keep ?? null;
  const except = keep === null ? undefined : ne(sessions.id, keep);
  await revokeWhere(db, and(eq(sessions.userId, userId), except)!, reason, now, options.alsoRun);
  // Taken after the D1 write: a refresh that committed just before it could otherwise sign a
  // token later than the cut-off. What remains of that race is the time one signature takes.
  await cutOffUser(kv, config, userId, Date.now(), keep);
}

export async function sessionByRefreshToken(db: Database, token: string) {
  const [row] = await db
    .select({ sessionId: refreshTokens.sessionId, userId: sessions.userId })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(eq(refreshTokens.tokenHash, await sha256(token)));
  return row;
}

export async function isSessionLive(db: Database, sessionId: string, now: number) {
  const [row] = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(
      and(eq(sessions.id, sessionId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
    );
  return row !== undefined;
}

export function liveSessions(db: Database, userId: string, now: number) {
  return db
    .select()
    .from(sessions)
    .where(
      and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)),
    )
    .orderBy(desc(sessions.lastUsedAt));
}
