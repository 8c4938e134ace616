// @edge-auth/verify in both modes, side by side, as a Node service would run it: JWKS only, and
// with `introspection` (the worker's /oauth/introspect, RFC 7662). Reads
//   {"issuer", "audience", "introspection": {clientId, clientSecret}, "tokens": {name: jwt}}
// from stdin; prints {"results": {name: {"jwks": verdict, "introspection": verdict}}}, each
// verdict {valid, status, code, reason}.
import { createVerifier } from '@edge-auth/verify';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const { issuer, audience, introspection, tokens } = JSON.parse(input);
const jwks = createVerifier({ issuer, audience });
const introspecting = createVerifier({ issuer, audience, introspection });

const verdict = (result) =>
  result.ok
    ? { valid: true, sub: result.claims.sub }
    : { valid: false, status: result.status, code: result.code, reason: result.reason };

const results = {};
for (const [name, token] of Object.entries(tokens)) {
  results[name] = {
    jwks: verdict(await jwks.verify(token)),
    introspection: verdict(await introspecting.verify(token)),
  };
}
console.log(JSON.stringify({ results }));
