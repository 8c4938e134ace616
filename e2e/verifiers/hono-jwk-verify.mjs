// A downstream verifier built on Hono's own `hono/jwk` middleware, configured the way README
// "Verifying tokens downstream" says: jwks_uri from OpenID discovery, RS256, and
// `verification: { typ: 'at+jwt', iss, aud }`. Each token is one `app.request()` through the
// middleware, which fetches jwks_uri over real HTTP. Runs as its own Node process.
//
// stdin:  {"issuer": "...", "audience": "...", "tokens": {"name": "<jwt>", ...},
//          "verification": {...}}  (optional: the middleware's `verification` as given, to show
//                                   what other settings do; default the README's)
// stdout: {"jwks_uri": "...", "jwks_fetches": n,
//          "results": {"name": {"valid": true, "kid": "...", "sub": "..."}
//                              | {"valid": false, "error": "JwtTokenAudience", "message": "..."}}}
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { jwk } from 'hono/jwk';
import { decode } from 'hono/jwt';

const input = JSON.parse(readFileSync(0, 'utf8'));
const { issuer, audience, tokens } = input;

const discovery = await fetch(`${issuer}/.well-known/openid-configuration`, {
  signal: AbortSignal.timeout(5_000),
});
if (!discovery.ok) throw new Error(`discovery answered ${discovery.status}`);
const metadata = await discovery.json();
if (metadata.issuer !== issuer) throw new Error(`discovery issuer ${metadata.issuer} != ${issuer}`);

// Counted here as well as in the worker's request log: the middleware calls the global fetch.
let jwksFetches = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  if (String(url) === metadata.jwks_uri) jwksFetches++;
  return realFetch(url, init);
};

const app = new Hono();
app.use(
  '/api/*',
  jwk({
    jwks_uri: metadata.jwks_uri,
    alg: ['RS256'],
    verification: input.verification ?? { typ: 'at+jwt', iss: issuer, aud: audience },
  }),
);
app.get('/api/me', (c) => c.json({ sub: c.get('jwtPayload').sub }));
// The middleware throws an HTTPException (401) whose cause is the JWT library's error.
app.onError((err, c) => {
  const cause = err.cause ?? err;
  return c.json({ error: cause.name, message: cause.message }, err.status ?? 500);
});

const results = {};
for (const [name, token] of Object.entries(tokens)) {
  const res = await app.request('/api/me', { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.json();
  results[name] =
    res.status === 200
      ? { valid: true, kid: decode(token).header.kid, sub: body.sub }
      : { valid: false, error: body.error, message: body.message };
}
process.stdout.write(
  JSON.stringify({ jwks_uri: metadata.jwks_uri, jwks_fetches: jwksFetches, results }),
);
