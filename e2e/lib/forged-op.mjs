// An OP-like server on 127.0.0.1 that forges ID tokens, for what a certified OP will never send:
// a wrong nonce, iss or aud, an expired token, a signature by a key that is not in its JWKS. It
// serves discovery, a JWKS, an authorization endpoint that approves at once (redirecting back
// with a code and the state) and a token endpoint that checks the client, the code and the PKCE
// verifier like a real one, then answers an ID token made (with jose) per `mode`; `ok` makes a
// correct one, so a refusal is the forgery's doing, not the server's.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/**
 * Each forgery, and what the worker's client (src/federation/id-token.ts, jose under it) must
 * say about it (the worker logs its message).
 */
export const FORGERIES = {
  nonce: /unexpected "nonce" claim value/,
  iss: /unexpected "iss" claim value/,
  aud: /unexpected "aud" claim value/,
  expired: /"exp" claim timestamp check failed/,
  key: /signature verification failed/,
};

const s256 = (verifier) => createHash('sha256').update(verifier).digest('base64url');
const random = () => randomBytes(16).toString('hex');

async function readForm(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

/**
 * `client` is { clientId, clientSecret }. Set `forger.mode` before each sign-in; `issued` lists
 * { mode, sub, email } of every ID token answered, for the checks that nothing was written.
 */
export async function serveForgedOp(port, client) {
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}/forger`;
  const ours = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(ours.publicKey)), kid: 'forger-1', alg: 'RS256', use: 'sig' };
  const codes = new Map();
  const forger = { mode: 'ok', issued: [] };

  async function idToken(grant) {
    const now = Math.floor(Date.now() / 1000);
    const mode = forger.mode;
    const sub = `forged-${mode}-${random().slice(0, 8)}`;
    const email = `e2e-${sub}@example.com`;
    forger.issued.push({ mode, sub, email });
    const claims = { email, email_verified: true, name: `Forged ${mode}`, nonce: grant.nonce };
    let iss = issuer;
    let aud = client.clientId;
    let [iat, exp] = [now, now + 300];
    if (mode === 'nonce') claims.nonce = `${grant.nonce}x`;
    if (mode === 'iss') iss = `${origin}/someone-else`;
    if (mode === 'aud') aud = 'another-client';
    if (mode === 'expired') [iat, exp] = [now - 7_200, now - 3_600];
    // Another key under the published key's kid: only the signature gives it away.
    const key = mode === 'key' ? other.privateKey : ours.privateKey;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
      .setIssuer(iss)
      .setSubject(sub)
      .setAudience(aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
  }

  const json = (res, status, body) =>
    res
      .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      .end(JSON.stringify(body));

  async function handle(req, res) {
    const url = new URL(req.url, origin);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /forger/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_post'],
      });
    }
    if (route === 'GET /forger/jwks') return json(res, 200, { keys: [jwk] });
    if (route === 'GET /forger/authorize') {
      const p = url.searchParams;
      const code = random();
      codes.set(code, {
        nonce: p.get('nonce'),
        challenge: p.get('code_challenge'),
        redirectUri: p.get('redirect_uri'),
      });
      const back = new URL(p.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state') ?? '');
      return res.writeHead(302, { Location: back.href }).end();
    }
    if (route === 'POST /forger/token') {
      const body = await readForm(req);
      const grant = codes.get(body.get('code') ?? '');
      codes.delete(body.get('code') ?? '');
      const valid =
        grant &&
        body.get('client_id') === client.clientId &&
        body.get('client_secret') === client.clientSecret &&
        body.get('redirect_uri') === grant.redirectUri &&
        s256(body.get('code_verifier') ?? '') === grant.challenge;
      if (!valid) return json(res, 400, { error: 'invalid_grant' });
      return json(res, 200, {
        access_token: random(),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await idToken(grant),
      });
    }
    json(res, 404, { error: 'not_found' });
  }

  const server = createServer((req, res) =>
    handle(req, res).catch((err) => res.headersSent || json(res, 500, { error: String(err) })),
  );
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        issuer,
        forger,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}
