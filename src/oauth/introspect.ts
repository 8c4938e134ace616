import type { Context } from 'hono';
import type { AccessClaims } from '../crypto/jwt';
import { database } from '../db/client';
import { isSessionLive } from '../sessions/store';
import type { AppEnv } from '../env';
import { acceptedAccessToken } from '../middleware/bearer';
import { MAX_TOKEN_LENGTH } from './revoke';

/** RFC 7662 §2.2: every claim of an active access token; nothing else about the user. */
export type Introspection =
  ({ active: true; token_type: 'Bearer' } & AccessClaims) | { active: false };

export const INACTIVE = { active: false } as const;

/**
 * Whether the worker would accept this access token now (the bearer middleware's rules: the
 * signature and claims, then the KV denylist), and whether its session is live in D1. D1 is the
 * record KV copies with up to a minute's delay elsewhere: a service that asks here sees a
 * sign-out at once, even where the denylist has not arrived yet.
 *
 * Refresh tokens are never active here: they belong to the client alone, and a resource server
 * has no business holding one. §2.2 says a token "the protected resource is not allowed to
 * introspect" is `active: false`, the same answer as an unknown one.
 */
export async function introspect(c: Context<AppEnv>, token: string): Promise<Introspection> {
  if (token.length > MAX_TOKEN_LENGTH) return INACTIVE;
  const now = Date.now();
  const claims = await acceptedAccessToken(c, token, now);
  if (!claims) return INACTIVE;
  if (!(await isSessionLive(database(c.env.DB), claims.sid, claims.sub, now))) return INACTIVE;
  return {
    active: true,
    token_type: 'Bearer',
    iss: claims.iss,
    sub: claims.sub,
    aud: claims.aud,
    exp: claims.exp,
    iat: claims.iat,
    jti: claims.jti,
    sid: claims.sid,
    role: claims.role,
    email_verified: claims.email_verified,
  };
}
