// Test-side token forgery kit: signs with our real key or a foreign one, with chosen claims and
// headers, so the verifier's every rule can be attacked directly.
import { env } from 'cloudflare:workers';
import { SignJWT, base64url, generateKeyPair, importJWK, type JWK, type JWTPayload } from 'jose';
import { loadConfig } from '../src/config';

export const config = () => loadConfig(env);
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export function ourKey() {
  const jwk = config().JWT_SIGNING_KEYS!.keys[0]!;
  return { jwk, kid: jwk.kid };
}

export function validClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  const iat = nowSeconds();
  return {
    iss: config().ISSUER,
    aud: config().AUDIENCE,
    sub: '0190d1c4-0000-7000-8000-000000000001',
    sid: '0190d1c4-0000-7000-8000-000000000002',
    jti: crypto.randomUUID(),
    iat,
    exp: iat + 900,
    role: 'user',
    email_verified: false,
    ...overrides,
  };
}

export async function signWith(
  key: CryptoKey,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
  alg = 'RS256',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'at+jwt', kid: ourKey().kid, ...header })
    .sign(key);
}

export async function signOurs(claims: JWTPayload = validClaims(), header = {}): Promise<string> {
  const key = (await importJWK({ ...ourKey().jwk, alg: 'RS256' } as JWK, 'RS256')) as CryptoKey;
  return signWith(key, claims, header);
}

export async function foreignKey(): Promise<CryptoKey> {
  return (await generateKeyPair('RS256', { extractable: true })).privateKey;
}

/** A JWS assembled by hand, for algorithms jose refuses to produce (none, HS256 with an RSA key). */
export async function handMade(
  header: Record<string, unknown>,
  claims: JWTPayload,
  sign: (input: Uint8Array) => Promise<Uint8Array> | Uint8Array,
): Promise<string> {
  const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
  const input = `${enc(header)}.${enc(claims)}`;
  const signature = await sign(new TextEncoder().encode(input));
  return `${input}.${base64url.encode(signature)}`;
}

export async function hmacSign(secret: Uint8Array, input: Uint8Array): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey(
    'raw',
    secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, input));
}
