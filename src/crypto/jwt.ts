import { SignJWT, base64url, errors, importJWK, jwtVerify, type JWK } from 'jose';
import * as z from 'zod';
import type { Config, RsaPrivateJwk } from '../config';
import { storedKeyRing } from '../keys/ring';
import { sha256, uuidv7 } from './tokens';

/** RFC 9068 §2.1: access tokens carry `typ: at+jwt`, so no other JWT can pass as one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** API.md: "exp in the future (at most 30 s clock tolerance)". */
export const CLOCK_TOLERANCE_SECONDS = 30;

export type PublicJwk = { kty: 'RSA'; kid: string; use: 'sig'; alg: 'RS256'; n: string; e: string };

export type KeyRing = {
  /** The key that signs a token issued at `now`. */
  signerAt(now: number): Promise<{ kid: string; key: CryptoKey }>;
  verifiers: Map<string, CryptoKey>;
  jwks: { keys: PublicJwk[] };
  etag: string;
};

// Importing an RSA key is the expensive part of a first request: do it once per isolate and
// per key set (tests run several key sets in one isolate).
const rings = new Map<string, Promise<KeyRing>>();
// The parsed key set is one object per cached config, so the hot path (every sign and verify)
// finds its ring without serialising the key set; the map above shares a ring between configs.
const ringOfKeys = new WeakMap<NonNullable<Config['JWT_SIGNING_KEYS']>, Promise<KeyRing>>();

/**
 * The keys that sign and verify: those stored in D1 when the store is in use (with `d1` and
 * KEY_ENCRYPTION_KEY, see src/keys/), else JWT_SIGNING_KEYS, the bootstrap (docs/keys.md).
 */
export async function keyRing(config: Config, d1?: D1Database, now = Date.now()): Promise<KeyRing> {
  if (d1 && config.KEY_ENCRYPTION_KEY) {
    const stored = await storedKeyRing(d1, config, now);
    if (stored) return stored;
  }
  return envKeyRing(config);
}

function envKeyRing(config: Config): Promise<KeyRing> {
  const keys = config.JWT_SIGNING_KEYS;
  if (!keys) return Promise.reject(new Error('no signing key: set JWT_SIGNING_KEYS'));
  let ring = ringOfKeys.get(keys);
  if (ring) return ring;
  const cacheKey = JSON.stringify(keys);
  ring = rings.get(cacheKey);
  if (!ring) {
    ring = importRing(keys.keys);
    rings.set(cacheKey, ring);
  }
  ringOfKeys.set(keys, ring);
  // A failed import must not be cached forever: the next request tries again.
  ring.catch(() => {
    rings.delete(cacheKey);
    ringOfKeys.delete(keys);
  });
  return ring;
}

async function importRing(keys: RsaPrivateJwk[]): Promise<KeyRing> {
  const publics = keys.map(({ kid, n, e }): PublicJwk => ({
    kty: 'RSA',
    kid,
    use: 'sig',
    alg: 'RS256',
    n,
    e,
  }));
  const [first] = keys;
  if (!first) throw new Error('no signing key');
  const signKey = await importJWK({ ...first, alg: 'RS256' } as JWK, 'RS256');
  const verifiers = new Map<string, CryptoKey>();
  for (const jwk of publics) {
    verifiers.set(jwk.kid, (await importJWK(jwk, 'RS256')) as CryptoKey);
  }
  const jwks = { keys: publics };
  const signer = { kid: first.kid, key: signKey as CryptoKey };
  return {
    signerAt: () => Promise.resolve(signer),
    verifiers,
    jwks,
    etag: `"${await sha256(JSON.stringify(jwks))}"`,
  };
}

export type Role = 'user' | 'admin';

const accessClaims = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: z.string().min(1).max(64),
  sid: z.string().min(1).max(64),
  jti: z.string().min(1).max(64),
  // RFC 7519 NumericDate; we only mint whole seconds and refuse anything else (THREATS A11).
  iat: z.number().int().nonnegative(),
  exp: z.number().int().nonnegative(),
  role: z.enum(['user', 'admin']),
  email_verified: z.boolean(),
});
/** The claims, and the `kid` of the key that signed them (for the removed-key check). */
export type AccessClaims = z.infer<typeof accessClaims> & { kid?: string };

export type AccessTokenInput = {
  userId: string;
  sessionId: string;
  role: Role;
  emailVerified: boolean;
};

export async function signAccessToken(
  config: Config,
  input: AccessTokenInput,
  now: number,
  d1?: D1Database,
): Promise<string> {
  const signer = await (await keyRing(config, d1, now)).signerAt(now);
  const iat = Math.floor(now / 1000);
  return new SignJWT({
    sid: input.sessionId,
    role: input.role,
    email_verified: input.emailVerified,
  })
    .setProtectedHeader({ alg: 'RS256', typ: ACCESS_TOKEN_TYPE, kid: signer.kid })
    .setIssuer(config.ISSUER)
    .setAudience(config.AUDIENCE)
    .setSubject(input.userId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + config.ACCESS_TOKEN_TTL)
    .setJti(uuidv7(now))
    .sign(signer.key);
}

/**
 * Verifies signature and claims only (revocation is the bearer middleware's job). Returns null
 * for every invalid token: the reason is not the client's business.
 */
export async function verifyAccessToken(
  config: Config,
  token: string,
  now: number,
  d1?: D1Database,
): Promise<AccessClaims | null> {
  if (!isCanonicalCompactJws(token)) return null;
  const { verifiers } = await keyRing(config, d1, now);
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      // The key comes only from our own set, chosen by `kid`; `jwk`, `jku`, `x5u` and `x5c`
      // headers are never consulted (RFC 8725 §3.10).
      (header) => {
        const key = typeof header.kid === 'string' ? verifiers.get(header.kid) : undefined;
        if (!key) throw new errors.JWKSNoMatchingKey();
        return key;
      },
      {
        algorithms: ['RS256'],
        typ: ACCESS_TOKEN_TYPE,
        issuer: config.ISSUER,
        audience: config.AUDIENCE,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: config.ACCESS_TOKEN_TTL,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'sid'],
        currentDate: new Date(now),
      },
    );
    const claims = accessClaims.safeParse(payload);
    return claims.success ? { ...claims.data, kid: protectedHeader.kid } : null;
  } catch (err) {
    if (err instanceof errors.JOSEError) return null;
    throw err;
  }
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Three segments, each in the one base64url form of its bytes: no padding, no other characters,
 * and no stray bits in the last character (RFC 7515 §2 and RFC 4648 §3.5). Decoders accept
 * `sig==` or a flipped unused bit as the same bytes; refusing them means a token has exactly one
 * spelling, so nothing keyed by the token's text can be dodged by re-spelling it (THREATS A17).
 */
function isCanonicalCompactJws(token: string): boolean {
  const segments = token.split('.');
  if (segments.length !== 3) return false;
  return segments.every((segment) => {
    if (!BASE64URL.test(segment) || segment.length % 4 === 1) return false;
    try {
      return base64url.encode(base64url.decode(segment)) === segment;
    } catch {
      return false;
    }
  });
}
