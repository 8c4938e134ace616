import { base64url } from 'jose';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { hmac, randomToken, timingSafeEqual } from '../crypto/tokens';
import type { AppEnv } from '../env';

// Every page form carries a token bound to this browser: an HMAC (under the pepper, its own
// purpose) of a random value in an HttpOnly cookie. A foreign page can make the browser send the
// cookie but cannot read it or the token, so it cannot forge a form post: not a change to the
// account, and not a sign-in with the attacker's own credentials either (login CSRF, THREATS
// E6, K2). On top, a POST must come from this origin (`Origin`, or `Sec-Fetch-Site` where a
// browser names none: no Origin, or `Origin: null`, which Fetch's "serializing a request origin"
// prescribes, and Chromium sends, for a form POST from a page under `Referrer-Policy:
// no-referrer`, as every one of these pages is).

const SECURE_NAME = '__Host-csrf';
const INSECURE_NAME = 'csrf';
const MAX_AGE_SECONDS = 7 * 86_400;
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

const cookieName = (c: Context<AppEnv>) =>
  c.var.config.COOKIE_INSECURE_DEV ? INSECURE_NAME : SECURE_NAME;

const tokenFor = async (c: Context<AppEnv>, value: string) =>
  base64url.encode(await hmac(c.var.config.PASSWORD_PEPPER, 'page-form', value));

/** The token for this browser's forms, setting its cookie when it has none yet. */
export async function formToken(c: Context<AppEnv>): Promise<string> {
  let value = getCookie(c, cookieName(c));
  if (!value || !COOKIE_VALUE.test(value)) {
    value = randomToken(32);
    const secure = c.var.config.COOKIE_INSECURE_DEV ? '' : '; Secure';
    c.header(
      'Set-Cookie',
      `${cookieName(c)}=${value}; Path=/; Max-Age=${MAX_AGE_SECONDS}; HttpOnly${secure}; SameSite=Strict`,
      { append: true },
    );
  }
  return tokenFor(c, value);
}

/** Whether a form post comes from our own page in this browser. */
export async function isOwnForm(c: Context<AppEnv>, token: unknown): Promise<boolean> {
  const origin = c.req.header('Origin');
  const own = new Set([new URL(c.req.url).origin, new URL(c.var.config.ISSUER).origin]);
  const named = origin !== undefined && origin !== 'null';
  if (named ? !own.has(origin) : c.req.header('Sec-Fetch-Site') !== 'same-origin') return false;
  const value = getCookie(c, cookieName(c));
  if (!value || !COOKIE_VALUE.test(value) || typeof token !== 'string') return false;
  const expected = new TextEncoder().encode(await tokenFor(c, value));
  return timingSafeEqual(expected, new TextEncoder().encode(token));
}
