import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { acceptedAccessToken } from '../middleware/bearer';
import { REFRESH_TOKEN_FORMAT } from '../sessions/cookie';
import { revokeSession, sessionByRefreshToken, sessionIsLive } from '../sessions/store';

// Far above any access token we mint (about 1 KB); longer ones are no token of ours.
export const MAX_TOKEN_LENGTH = 4096;

export type TokenKind = 'access_token' | 'refresh_token';

/**
 * The session a token belongs to, if it is one of ours. The two kinds cannot be confused (an
 * access token is a JWT, a refresh token base64url without dots, docs/sharding.md), so every token
 * is looked up as what it is, whatever `token_type_hint` says: RFC 7009 §2.1 lets the hint only
 * speed up the search, and a server that misses with it "MUST extend its search across all of
 * its supported token types".
 */
async function sessionOf(c: Context<AppEnv>, token: string) {
  if (REFRESH_TOKEN_FORMAT.test(token)) {
    // Any token of the session's chain, as /auth/logout takes it: a retired one could end the
    // session anyway, by being presented to /auth/refresh (reuse detection).
    const row = await sessionByRefreshToken(database(c.env.DB), token);
    return row && { ...row, kind: 'refresh_token' as const };
  }
  if (token.length > MAX_TOKEN_LENGTH) return undefined;
  // Only a token the worker would accept now: the same rule as /auth/logout's Bearer token.
  const claims = await acceptedAccessToken(c, token);
  if (!claims) return undefined;
  return { sessionId: claims.sid, userId: claims.sub, kind: 'access_token' as const };
}

/**
 * RFC 7009: revokes the session of a refresh token or of an access token. For an access token
 * the session goes too (§2.1 allows it): the session is this worker's unit of revocation (the KV
 * denylist is keyed by it, so the worker refuses the token at once), and whoever holds an access
 * token can already end its session through /auth/logout. Unknown and invalid tokens change
 * nothing and are not an error (§2.2).
 */
export async function revokeToken(c: Context<AppEnv>, token: string): Promise<TokenKind | null> {
  const session = await sessionOf(c, token);
  if (!session) return null;
  const { sessionId, userId, kind } = session;
  const db = database(c.env.DB);
  await revokeSession(db, c.env.KV, c.var.config, sessionId, 'token_revoked', Date.now(), {
    alsoRun: (sessionDb) => [
      auditEvent(
        sessionDb,
        auditContext(c),
        'session.revoked',
        userId,
        { session_id: sessionId, via: 'oauth_revoke', token_type: kind },
        sessionIsLive(sessionId),
      ),
    ],
  });
  return kind;
}
