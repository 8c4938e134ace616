// Stand-ins for identity providers, running in Node (the vitest config process): the worker's
// real outbound fetch() calls to these hosts arrive here through miniflare's `outboundService`.
// They implement the token, JWKS, discovery and (GitHub) API endpoints the worker calls, and
// check what the worker sends: the PKCE verifier against the challenge, the client secret (for
// Apple, the ES256 client-secret JWT). A test registers what the next code yields:
//   POST https://idp.stand-in.test/_codes  {code, challenge, nonce, claims?, foreignKey?, …}
// The end-to-end suite runs a real, certified OpenID Provider instead (e2e/phases/federation.mjs).
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose';
import { SCRIPTED_HOST, scriptedProvider } from './scripted-provider';

export const IDP_HOSTS = new Set([
  'idp.stand-in.test',
  'accounts.google.com',
  'oauth2.googleapis.com',
  'www.googleapis.com',
  'login.microsoftonline.com',
  'appleid.apple.com',
  'github.com',
  'api.github.com',
  SCRIPTED_HOST,
]);

export type Registered = {
  code: string;
  /** The PKCE challenge from the authorization request the worker built. */
  challenge: string;
  nonce: string;
  clientId: string;
  clientSecret: string;
  /** Claims of the ID token, over the defaults (iss of the host, aud, sub, iat, exp, nonce). */
  claims?: Record<string, unknown>;
  /** Sign with a key that is not in the provider's JWKS. */
  foreignKey?: boolean;
  /** An unsigned ID token (`alg: none`). */
  unsigned?: boolean;
  /** GitHub: what /user and /user/emails answer. */
  github?: { user: unknown; emails: unknown };
  /** Apple: the public key the client-secret JWT must verify with (a JWK). */
  appleKey?: JsonWebKey;
  /** The token endpoint fails (the provider is down). */
  down?: boolean;
};

const codes = new Map<string, Registered>();
const tokens = new Map<string, Registered>();
const keys = (async () => {
  const ours = await generateKeyPair('RS256', { extractable: true });
  const foreign = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(ours.publicKey)), kid: 'stand-in-1', alg: 'RS256', use: 'sig' };
  return { ours, foreign, jwks: { keys: [jwk] } };
})();

const ISSUERS: Record<string, (url: URL, claims: Record<string, unknown>) => string> = {
  'idp.stand-in.test': () => 'https://idp.stand-in.test',
  'oauth2.googleapis.com': () => 'https://accounts.google.com',
  'appleid.apple.com': () => 'https://appleid.apple.com',
  'login.microsoftonline.com': (_url, claims) =>
    `https://login.microsoftonline.com/${String(claims.tid)}/v2.0`,
};

async function challengeOf(verifier: string) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return Buffer.from(digest).toString('base64url');
}

async function token(url: URL, request: Request): Promise<Response> {
  const form = new URLSearchParams(await request.text());
  const entry = codes.get(form.get('code') ?? '');
  const refuse = (error: string) => Response.json({ error }, { status: 400 });
  if (!entry) return refuse('invalid_grant');
  codes.delete(entry.code); // a code is single-use, as at a real provider
  if (entry.down) return new Response('unavailable', { status: 503 });
  if ((await challengeOf(form.get('code_verifier') ?? '')) !== entry.challenge) {
    return refuse('invalid_grant');
  }
  if (form.get('client_id') !== entry.clientId) return refuse('invalid_client');
  const secret = form.get('client_secret') ?? '';
  if (entry.appleKey) {
    try {
      await jwtVerify(secret, await importJWK(entry.appleKey as never, 'ES256'), {
        algorithms: ['ES256'],
        audience: 'https://appleid.apple.com',
        subject: entry.clientId,
      });
    } catch {
      return refuse('invalid_client');
    }
  } else if (secret !== entry.clientSecret) {
    return refuse('invalid_client');
  }
  const accessToken = crypto.randomUUID();
  tokens.set(accessToken, entry);
  if (url.hostname === 'github.com') {
    return Response.json({ access_token: accessToken, token_type: 'bearer', scope: 'user:email' });
  }
  const { ours, foreign } = await keys;
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: 'subject-1', ...entry.claims };
  // Defaults of a valid ID token, then whatever the test chose instead (a wrong iss, aud, nonce
  // or exp).
  const payload = {
    iss: ISSUERS[url.hostname]!(url, claims),
    aud: entry.clientId,
    iat: now,
    exp: now + 600,
    nonce: entry.nonce,
    ...claims,
  };
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const idToken = entry.unsigned
    ? `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`
    : await new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: 'stand-in-1' })
        .sign(entry.foreignKey ? foreign.privateKey : ours.privateKey);
  return Response.json({
    access_token: accessToken,
    token_type: 'Bearer',
    expires_in: 600,
    id_token: idToken,
  });
}

function github(url: URL, request: Request): Response {
  const auth = request.headers.get('authorization') ?? '';
  const entry = tokens.get(auth.replace(/^Bearer /, ''));
  if (!entry?.github) return Response.json({ message: 'Bad credentials' }, { status: 401 });
  if (url.pathname === '/user') return Response.json(entry.github.user);
  if (url.pathname === '/user/emails') return Response.json(entry.github.emails);
  return new Response('not found', { status: 404 });
}

export async function identityProviderStandIn(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname === SCRIPTED_HOST) return scriptedProvider(request);
  if (url.hostname === 'idp.stand-in.test' && url.pathname === '/_codes') {
    const entry = (await request.json()) as Registered;
    codes.set(entry.code, entry);
    return new Response(null, { status: 204 });
  }
  if (
    url.hostname === 'idp.stand-in.test' &&
    url.pathname === '/.well-known/openid-configuration'
  ) {
    const issuer = 'https://idp.stand-in.test';
    return Response.json({
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  }
  if (/\/(jwks|keys|certs)$/.test(url.pathname)) return Response.json((await keys).jwks);
  if (/token$/.test(url.pathname) && request.method === 'POST') return token(url, request);
  if (url.hostname === 'api.github.com') return github(url, request);
  return new Response('not found', { status: 404 });
}
