import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { JSON_TYPE } from '../middleware/json-body';

// API.md: `__Host-refresh_token`, Path=/, HttpOnly, Secure, SameSite=Strict, no Domain. The
// __Host- prefix makes browsers enforce Secure, Path=/ and no Domain themselves.
const SECURE_NAME = '__Host-refresh_token';
/**
 * A refresh token is 32 random bytes in base64url (43 characters), followed on a session shard
 * other than the main database by a shard letter and the user id (docs/sharding.md); anything
 * else is unknown.
 */
export const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}(?:[B-P][A-Za-z0-9_-]{1,256})?$/;
const INSECURE_NAME = 'refresh_token';

export const refreshCookieName = (c: Context<AppEnv>) =>
  c.var.config.COOKIE_INSECURE_DEV ? INSECURE_NAME : SECURE_NAME;

function attributes(c: Context<AppEnv>, maxAge: number): string {
  const secure = c.var.config.COOKIE_INSECURE_DEV ? '' : '; Secure';
  return `Path=/; Max-Age=${maxAge}; HttpOnly${secure}; SameSite=Strict`;
}

export function setRefreshCookie(c: Context<AppEnv>, token: string, maxAgeSeconds: number) {
  c.header('Set-Cookie', `${refreshCookieName(c)}=${token}; ${attributes(c, maxAgeSeconds)}`, {
    append: true,
  });
}

export function clearRefreshCookie(c: Context<AppEnv>) {
  c.header('Set-Cookie', `${refreshCookieName(c)}=; ${attributes(c, 0)}`, { append: true });
}

/**
 * The refresh token from the JSON body, else from the cookie. A cookie travels with any request
 * the browser makes, so relying on it requires proof the request comes from our own pages:
 * JSON (which a cross-site form cannot send without a preflight), not `Sec-Fetch-Site:
 * cross-site`, and an Origin on the allowlist or the worker's own (THREATS E5; a missing Origin
 * is refused too).
 */
export function refreshTokenFrom(
  c: Context<AppEnv>,
  body: { refresh_token?: unknown },
): string | undefined {
  const given = body.refresh_token;
  if (given !== undefined && given !== null) return typeof given === 'string' ? given : '';
  const cookie = getCookie(c, refreshCookieName(c));
  if (cookie === undefined) return undefined;
  const origin = c.req.header('Origin');
  const jsonRequest = JSON_TYPE.test(c.req.header('Content-Type') ?? '');
  if (
    !jsonRequest ||
    c.req.header('Sec-Fetch-Site') === 'cross-site' ||
    !origin ||
    !(
      origin === new URL(c.var.config.ISSUER).origin ||
      c.var.config.ALLOWED_ORIGINS.includes(origin)
    )
  ) {
    throw new ApiError(
      'csrf_rejected',
      'Cookie-authenticated requests must come from an allowed origin.',
    );
  }
  return cookie;
}
