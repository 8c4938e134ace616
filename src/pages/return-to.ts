import type { Config } from '../config';

export const DEFAULT_RETURN = '/account';

/**
 * Where to go after signing in: `return_to` only when it is an absolute http(s) URL on an origin
 * of ALLOWED_ORIGINS or APP_URL, without credentials in it; anything else (a path, `//host`,
 * `/\host`, `javascript:`, an encoded or look-alike origin) lands on /account (THREATS K1). The
 * URL parser decides what the origin is, exactly as the browser following the redirect will.
 */
export function safeReturnTo(config: Config, raw: unknown): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2048) return DEFAULT_RETURN;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return DEFAULT_RETURN;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return DEFAULT_RETURN;
  if (url.username !== '' || url.password !== '') return DEFAULT_RETURN;
  return returnOrigins(config).includes(url.origin) ? url.href : DEFAULT_RETURN;
}

/** The origins a sign-in may return to: the app's pages and every allowed origin. */
export function returnOrigins(config: Config): string[] {
  const app = config.APP_URL ? [new URL(config.APP_URL).origin] : [];
  return [...new Set([...app, ...config.ALLOWED_ORIGINS])];
}
