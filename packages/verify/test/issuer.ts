// A stand-in for the auth worker's discovery and JWKS routes, with its own RSA keys, and a signer
// for tokens shaped like the worker's (API.md "Tokens").
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';

export const ISSUER = 'https://auth.test';
export const AUDIENCE = 'example-api';

export async function signingKey(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, jwk };
}
export type SigningKey = Awaited<ReturnType<typeof signingKey>>;

export function claims(overrides: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'user-1',
    sid: 'session-1',
    jti: crypto.randomUUID(),
    iat: now,
    exp: now + 900,
    role: 'user',
    email_verified: true,
    ...overrides,
  };
}

export function sign(
  key: SigningKey,
  payload: Record<string, unknown> = claims(),
  header: Record<string, unknown> = {},
) {
  const clean = Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
  return new SignJWT(clean)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** `fetch` answering discovery and the JWKS of `keys` (changeable), counting the requests. */
export function issuer(keys: SigningKey[], { maxAge = 300 as number | null } = {}) {
  const state = {
    keys,
    discovery: 0,
    jwks: 0,
    notModified: 0,
    down: false,
    metadataIssuer: ISSUER,
    maxAge,
  };
  const etag = () => `"${state.keys.map((k) => k.kid).join(',')}"`;
  const fetch = async (input: string, init?: RequestInit) => {
    if (state.down) throw new TypeError('fetch failed');
    const url = new URL(input);
    const headers = new Headers(init?.headers);
    if (url.pathname === '/.well-known/openid-configuration') {
      state.discovery++;
      return Response.json({
        issuer: state.metadataIssuer,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      });
    }
    if (url.pathname === '/.well-known/jwks.json') {
      state.jwks++;
      const cache: Record<string, string> =
        state.maxAge === null ? {} : { 'Cache-Control': `public, max-age=${state.maxAge}` };
      if (headers.get('If-None-Match') === etag()) {
        state.notModified++;
        return new Response(null, { status: 304, headers: { ETag: etag(), ...cache } });
      }
      return Response.json(
        { keys: state.keys.map((k) => k.jwk) },
        { headers: { ETag: etag(), ...cache } },
      );
    }
    return new Response('not found', { status: 404 });
  };
  return { state, fetch };
}
