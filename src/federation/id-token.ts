import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ProviderError, nonEmptyString } from './protocol';

// ID token validation, OIDC Core 3.1.3.7. The token came straight from the token endpoint over
// TLS, and its signature is checked all the same (against the provider's JWKS), so a leaked
// client secret or a compromised token endpoint proxy cannot mint identities.

// Asymmetric JWS algorithms only: never `none`, never HS* (keyed with the client secret, which
// more parties than the provider know).
const SIGNING_ALGS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'Ed25519',
  'EdDSA',
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
]);

/** Clock skew allowed on `exp`, `nbf` and `iat`. */
export const CLOCK_TOLERANCE_S = 30;

/**
 * The algorithms an ID token may use: those the provider's metadata lists in
 * `id_token_signing_alg_values_supported`, else RS256 (the default of OIDC Discovery 3), and
 * in any case only asymmetric ones.
 */
export function idTokenAlgorithms(listed: unknown): string[] {
  const algs = Array.isArray(listed) ? listed : ['RS256'];
  return algs.filter((alg): alg is string => typeof alg === 'string' && SIGNING_ALGS.has(alg));
}

export type IdTokenExpectations = {
  issuer: string;
  clientId: string;
  nonce: string;
  algorithms: string[];
  keys: JWTVerifyGetKey;
};

/** The claims of a valid ID token, or a ProviderError / jose error saying what is wrong. */
export async function verifyIdToken(idToken: string, x: IdTokenExpectations): Promise<JWTPayload> {
  // jose: a compact JWS, `alg` in the list, the key chosen by `kid` from the provider's JWKS,
  // the signature, `iss` exactly, `client_id` in `aud`, `exp` (and `nbf`) within the tolerance,
  // and every claim below present.
  const { payload: claims, protectedHeader } = await jwtVerify(idToken, x.keys, {
    algorithms: x.algorithms,
    issuer: x.issuer,
    audience: x.clientId,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce'],
  });
  const refuse = (message: string) => new ProviderError('id_token_claim', message);
  // No extension may change how the token is read.
  if (protectedHeader.crit !== undefined) {
    throw new ProviderError('id_token_header', 'the ID token has a "crit" header');
  }
  if (!nonEmptyString(claims.sub)) throw refuse('unexpected "sub" claim value');
  // The token must be for us alone, or name us as the party it was issued to.
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if ((audiences.length !== 1 || claims.azp !== undefined) && claims.azp !== x.clientId) {
    throw refuse('unexpected "azp" claim value');
  }
  const now = Date.now() / 1000;
  if (typeof claims.iat !== 'number' || claims.iat > now + CLOCK_TOLERANCE_S) {
    throw refuse('unexpected "iat" claim value (in the future)');
  }
  // The nonce ties the token to this browser's sign-in: a token replayed from another is refused.
  if (claims.nonce !== x.nonce) throw refuse('unexpected "nonce" claim value');
  const authTime = claims.auth_time;
  if (authTime !== undefined && (typeof authTime !== 'number' || authTime < 0)) {
    throw refuse('unexpected "auth_time" claim value');
  }
  return claims;
}
