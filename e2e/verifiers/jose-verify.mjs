// A downstream verifier written the way a service that is not ours would: it knows only the
// issuer URL and its audience, finds the JWKS through OpenID discovery and verifies with jose's
// createRemoteJWKSet. Runs as its own Node process.
//
// stdin:  {"issuer": "...", "audience": "...", "tokens": {"name": "<jwt>", ...}}
// stdout: {"jwks_uri": "...", "results": {"name": {"valid": true, "kid": "...", "sub": "..."}
//                                         | {"valid": false, "error": "ERR_..."}}}
import { readFileSync } from 'node:fs';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const { issuer, audience, tokens } = JSON.parse(readFileSync(0, 'utf8'));

const discovery = await fetch(`${issuer}/.well-known/openid-configuration`, {
  signal: AbortSignal.timeout(5_000),
});
if (!discovery.ok) throw new Error(`discovery answered ${discovery.status}`);
const metadata = await discovery.json();
// OpenID Connect Discovery 1.0 §4.3: the document must name the issuer we asked.
if (metadata.issuer !== issuer) throw new Error(`discovery issuer ${metadata.issuer} != ${issuer}`);
const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: 5_000 });

const results = {};
for (const [name, token] of Object.entries(tokens)) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      algorithms: ['RS256'],
      typ: 'at+jwt',
      issuer,
      audience,
      clockTolerance: 30,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    results[name] = { valid: true, kid: protectedHeader.kid, sub: payload.sub };
  } catch (err) {
    results[name] = { valid: false, error: err.code ?? err.name, message: err.message };
  }
}
process.stdout.write(JSON.stringify({ jwks_uri: metadata.jwks_uri, results }));
