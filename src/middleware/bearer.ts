import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { verifyAccessToken, type AccessClaims } from '../crypto/jwt';
import type { AppEnv } from '../env';
import { ApiError, unavailable } from '../errors';
import { database } from '../db/client';
import type { UserRow } from '../db/schema';
import { isRevoked } from '../sessions/revocation';
import { userById } from '../users/users';

// Far above any token we mint (~1 KB); anything longer is refused before any crypto (THREATS A19).
const MAX_AUTHORIZATION_LENGTH = 4096;
// RFC 6750 §2.1: the scheme is case-insensitive. Tokens in the query string are never read. Our
// tokens are JWTs (base64url and dots); the verifier refuses anything not in canonical form.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

/** The access token's signature and claims (revocation is checked apart, see isLive). */
export async function verifiedBearer(c: Context<AppEnv>) {
  const header = c.req.header('Authorization');
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = BEARER.exec(header);
  if (!match) return null;
  return verifiedAccessToken(c, match[1]!);
}

/**
 * A token's signature and claims against the worker's keys now: the stored ring when keys are
 * stored (src/keys), else JWT_SIGNING_KEYS. Every reader of access tokens comes through here
 * (the bearer check, /oauth/introspect, /oauth/revoke), so none can check another key set.
 */
export function verifiedAccessToken(c: Context<AppEnv>, token: string, now = Date.now()) {
  return verifyAccessToken(c.var.config, token, now, c.env.DB);
}

/** A token the worker accepts now: verified, and not revoked (the bearer rule). */
export async function acceptedAccessToken(c: Context<AppEnv>, token: string, now = Date.now()) {
  const claims = await verifiedAccessToken(c, token, now);
  return claims && (await isLive(c, claims)) ? claims : null;
}

/** Whether verified claims are still alive: the revocation lookup in KV. */
export async function isLive(c: Context<AppEnv>, claims: AccessClaims) {
  try {
    return !(await isRevoked(c.env.KV, claims));
  } catch (err) {
    // Fail closed, but as 503: a 401 would make the client throw away a session that may be fine.
    c.var.log.error('revocation check failed', { error: String(err) });
    throw unavailable();
  }
}

/** Reads and checks the access token: signature and claims, then revocation in KV. */
export async function bearerToken(c: Context<AppEnv>) {
  const claims = await verifiedBearer(c);
  return claims && (await isLive(c, claims)) ? claims : null;
}

export const unauthorized = () => new ApiError('unauthorized', 'A valid access token is required.');

// With REQUIRE_ADMIN_MFA, an admin without TOTP reaches only these.
const ENROLMENT = new Set(['/users/me/mfa/totp/setup', '/users/me/mfa/totp/enable']);

export function assertAdminMfa(c: Context<AppEnv>, user: UserRow) {
  if (
    c.var.config.REQUIRE_ADMIN_MFA &&
    user.role === 'admin' &&
    user.totpEnabledAt === null &&
    !ENROLMENT.has(c.req.path)
  ) {
    throw new ApiError('forbidden', 'Admins must turn on two-factor authentication first.');
  }
}

/** 401 with `WWW-Authenticate: Bearer` unless a live access token is presented. */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const claims = await bearerToken(c);
  if (!claims) throw unauthorized();
  c.set('auth', claims);
  if (c.var.config.REQUIRE_ADMIN_MFA && claims.role === 'admin') {
    const user = await userById(database(c.env.DB), claims.sub);
    if (user) assertAdminMfa(c, user);
  }
  await next();
});
