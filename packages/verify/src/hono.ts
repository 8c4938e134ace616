// The Hono middleware. Only Hono's types are imported: the package adds no runtime dependency
// on Hono, and the main entry point works without it.
import type { MiddlewareHandler } from 'hono';
import type { AccessTokenClaims, Role, Verifier, VerifyResult } from './index.js';

/** `c.var.auth`: the verified claims. */
export type AuthVariables = { auth: AccessTokenClaims };

export interface RequireAuthOptions {
  /** Only these roles pass (403 otherwise). Default: any signed-in user. */
  role?: Role | readonly Role[];
}

const TITLES = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' };

function problem(
  status: 401 | 403 | 503,
  code: string,
  detail: string,
  headers: Record<string, string>,
) {
  const body = { type: 'about:blank', title: TITLES[status], status, code, detail };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

function refuse(result: Exclude<VerifyResult, { ok: true }>) {
  if (result.status === 503) {
    // The caller's token may be fine: never a 401, which would make a client sign out.
    const what = result.code === 'jwks_unavailable' ? 'Signing keys' : 'Token introspection';
    return problem(503, result.code, `${what} unavailable; try again.`, { 'Retry-After': '5' });
  }
  // RFC 6750 §3.1: no error code when the request carried no token at all.
  const challenge = result.code === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer';
  const detail =
    result.code === 'invalid_token'
      ? 'The access token is not valid.'
      : 'A bearer access token is required.';
  return problem(401, result.code, detail, { 'WWW-Authenticate': challenge });
}

/**
 * 401 unless the request carries a valid access token, 403 when its role is not among
 * `options.role`; the claims are then `c.var.auth`. `verifier` may be a function of `c.env`
 * (Workers read settings per request): it must return the same verifier every time, since the
 * verifier holds the JWKS cache. A second requireAuth on the same request reuses the claims.
 */
export function requireAuth<B extends object = object>(
  verifier: Verifier | ((env: B) => Verifier),
  options: RequireAuthOptions = {},
): MiddlewareHandler<{ Bindings: B; Variables: AuthVariables }> {
  const roles: readonly Role[] | null = options.role === undefined ? null : [options.role].flat();
  return async (c, next) => {
    let claims: AccessTokenClaims | undefined = c.get('auth');
    if (!claims) {
      const resolved = typeof verifier === 'function' ? verifier(c.env) : verifier;
      const result = await resolved.verifyRequest(c.req.raw);
      if (!result.ok) return refuse(result);
      claims = result.claims;
      c.set('auth', claims);
    }
    if (roles && !roles.includes(claims.role)) {
      return problem(403, 'forbidden', 'This needs another role.', {
        'WWW-Authenticate': 'Bearer error="insufficient_scope"',
      });
    }
    await next();
  };
}
