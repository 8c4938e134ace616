import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { verifyAccessToken } from '../crypto/jwt';
import type { AppEnv } from '../env';
import { ApiError, unavailable } from '../errors';
import { database } from '../db/client';
import { isRevoked } from '../sessions/revocation';
import { userById } from '../users/users';

// Far above any token we mint (~1 KB); anything longer is refused before any crypto (THREATS A19).
const MAX_AUTHORIZATION_LENGTH = 4096;
// RFC 6750 §2.1: the scheme is case-insensitive. Tokens in the query string are never read.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

/** Reads and checks the access token: signature and claims, then revocation in KV. */
export async function bearerToken(c: Context<AppEnv>) {
  const header = c.req.header('Authorization');
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = BEARER.exec(header);
  if (!match) return null;
  const claims = await verifyAccessToken(c.var.config, match[1]!, Date.now());
  if (!claims) return null;
  let revoked: boolean;
  try {
    revoked = await isRevoked(c.env.KV, claims);
  } catch (err) {
    // Fail closed, but as 503: a 401 would make the client throw away a session that may be fine.
    c.var.log.error('revocation check failed', { error: String(err) });
    throw unavailable();
  }
  return revoked ? null : claims;
}

// With REQUIRE_ADMIN_MFA, an admin without TOTP reaches only these.
const ENROLMENT = new Set(['/users/me/mfa/totp/setup', '/users/me/mfa/totp/enable']);

/** 401 with `WWW-Authenticate: Bearer` unless a live access token is presented. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await bearerToken(c);
  if (!claims) throw new ApiError('unauthorized', 'A valid access token is required.');
  c.set('auth', claims);
  if (c.var.config.REQUIRE_ADMIN_MFA && claims.role === 'admin' && !ENROLMENT.has(c.req.path)) {
    const user = await userById(database(c.env.DB), claims.sub);
    if (user?.totpEnabledAt == null) {
      throw new ApiError('forbidden', 'Admins must turn on two-factor authentication first.');
    }
  }
  await next();
});
