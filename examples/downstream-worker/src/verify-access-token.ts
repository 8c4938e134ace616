// Verifies the auth worker's access tokens in a downstream service: a Hono middleware to copy.
// Dependencies: `hono` and `jose` only. Nothing here talks to the auth worker except the public
// JWKS, so it works in any Worker (or Node, Deno, Bun) that can reach the issuer.
//
//   app.use('/api/*', requireAccessToken({ issuer: 'https://auth.example.com', audience: 'example-api' }));
//   app.get('/api/me', (c) => c.json({ user: c.var.accessToken.claims.sub }));
//
// What it checks (API.md "Tokens"): RS256 only, header `typ: at+jwt`, a `kid` from the issuer's
// JWKS, the signature, `iss` and `aud` exactly, `exp` (and `nbf`) with 30 s of clock skew, and
// the presence of `iat`, `sub`, `sid` and `jti`. It does not see revocations: a token stays
// valid here until its `exp` (15 minutes at most by default) even after a logout.
//
// The JWKS is fetched once per isolate and cached for `cacheMaxAgeSeconds` (the auth worker
// sends `Cache-Control: max-age=300`). A token with an unknown `kid` (a key rotation) triggers one
// refetch, at most once per `cooldownSeconds`, so a flood of forged kids cannot turn into a flood
// of JWKS requests. A JWKS that cannot be fetched is 503, not 401: the client's token may be fine.
import { createMiddleware } from 'hono/factory';
import {
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';

export type VerifierOptions = {
  /** The auth worker's ISSUER, exactly (no trailing slash), e.g. `https://auth.example.com`. */
  issuer: string;
  /** The auth worker's AUDIENCE, e.g. `example-api`. */
  audience: string;
  /** Defaults to `${issuer}/.well-known/jwks.json` (the discovery document's `jwks_uri`). */
  jwksUrl?: string;
  /** How long fetched keys are used before the JWKS is fetched again. Default 300. */
  cacheMaxAgeSeconds?: number;
  /** Minimum time between two fetches caused by an unknown `kid`. Default 30. */
  cooldownSeconds?: number;
  /** Tolerated clock difference for `exp` and `nbf`. Default 30 (API.md). */
  clockToleranceSeconds?: number;
  /** JWKS request timeout. Default 5000. */
  timeoutMs?: number;
};

export type AccessTokenClaims = JWTPayload & {
  iss: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  role: 'user' | 'admin';
  email_verified: boolean;
};

export type AccessTokenVariables = {
  accessToken: { claims: AccessTokenClaims; header: JWTHeaderParameters };
};

const ACCESS_TOKEN_TYPE = 'at+jwt';
const MAX_AUTHORIZATION_LENGTH = 4096;
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

type RemoteKeySet = ReturnType<typeof createRemoteJWKSet>;
/** One remote key set per JWKS URL and cache policy, shared by every request of the isolate. */
const keySets = new Map<string, RemoteKeySet>();

function keySet(options: Required<Omit<VerifierOptions, 'issuer' | 'audience'>>): RemoteKeySet {
  const id = JSON.stringify([options.jwksUrl, options.cacheMaxAgeSeconds, options.cooldownSeconds]);
  let set = keySets.get(id);
  if (!set) {
    set = createRemoteJWKSet(new URL(options.jwksUrl), {
      cacheMaxAge: options.cacheMaxAgeSeconds * 1000,
      cooldownDuration: options.cooldownSeconds * 1000,
      timeoutDuration: options.timeoutMs,
    });
    keySets.set(id, set);
  }
  return set;
}

/** The JWKS could not be fetched or parsed: not the token's fault. */
class KeySetUnavailable extends Error {}

export type VerifyResult =
  | { ok: true; claims: AccessTokenClaims; header: JWTHeaderParameters }
  | { ok: false; status: 401 | 503; error: string };

/** Verifies one compact JWT. Never throws for a bad token; usable outside Hono too. */
export async function verifyAccessToken(
  token: string,
  options: VerifierOptions,
): Promise<VerifyResult> {
  const full = {
    jwksUrl: options.jwksUrl ?? `${options.issuer}/.well-known/jwks.json`,
    cacheMaxAgeSeconds: options.cacheMaxAgeSeconds ?? 300,
    cooldownSeconds: options.cooldownSeconds ?? 30,
    clockToleranceSeconds: options.clockToleranceSeconds ?? 30,
    timeoutMs: options.timeoutMs ?? 5000,
  };
  const jwks = keySet(full);
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      async (header, jws) => {
        try {
          return await jwks(header, jws);
        } catch (err) {
          // An unknown kid (after the one allowed refetch) is the token's fault; anything else
          // (timeout, network, a non-200 or malformed JWKS) is ours.
          if (err instanceof errors.JWKSNoMatchingKey) throw err;
          if (err instanceof errors.JWKSMultipleMatchingKeys) throw err;
          throw new KeySetUnavailable(err instanceof Error ? err.message : String(err));
        }
      },
      {
        algorithms: ['RS256'],
        typ: ACCESS_TOKEN_TYPE,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: full.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
      },
    );
    if (typeof payload.role !== 'string' || typeof payload.email_verified !== 'boolean') {
      return { ok: false, status: 401, error: 'ERR_JWT_CLAIM_VALIDATION_FAILED' };
    }
    return { ok: true, claims: payload as AccessTokenClaims, header: protectedHeader };
  } catch (err) {
    if (err instanceof KeySetUnavailable) {
      return { ok: false, status: 503, error: 'jwks_unavailable' };
    }
    if (err instanceof errors.JOSEError) return { ok: false, status: 401, error: err.code };
    throw err;
  }
}

function problem(status: 401 | 503, code: string, detail: string, headers: HeadersInit): Response {
  return new Response(
    JSON.stringify({
      type: 'about:blank',
      title: status === 401 ? 'Unauthorized' : 'Service Unavailable',
      status,
      code,
      detail,
    }),
    { status, headers: { 'Content-Type': 'application/problem+json', ...headers } },
  );
}

/**
 * 401 (RFC 6750 `WWW-Authenticate: Bearer`) unless the request carries a valid access token;
 * on success the claims and header are in `c.var.accessToken`. `options` may be a function of
 * the context, to read the issuer and audience from `c.env`.
 */
export function requireAccessToken<E extends { Bindings?: object }>(
  options: VerifierOptions | ((env: E['Bindings']) => VerifierOptions),
) {
  return createMiddleware<{ Bindings: E['Bindings']; Variables: AccessTokenVariables }>(
    async (c, next) => {
      const header = c.req.header('Authorization');
      const match =
        header && header.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(header) : null;
      if (!match) {
        return problem(401, 'unauthorized', 'A bearer access token is required.', {
          'WWW-Authenticate': 'Bearer',
        });
      }
      const opts = typeof options === 'function' ? options(c.env) : options;
      const result = await verifyAccessToken(match[1]!, opts);
      if (!result.ok && result.status === 503) {
        return problem(503, 'jwks_unavailable', 'Signing keys unavailable; try again.', {
          'Retry-After': '5',
        });
      }
      if (!result.ok) {
        return problem(401, 'invalid_token', 'The access token is not valid.', {
          'WWW-Authenticate': 'Bearer error="invalid_token"',
        });
      }
      c.set('accessToken', { claims: result.claims, header: result.header });
      await next();
    },
  );
}
