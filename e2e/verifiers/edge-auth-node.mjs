// A plain Node HTTP API (node:http, no framework) that trusts the auth worker's access tokens
// through @edge-auth/verify, as a Node service would. Its own process, kept running across the
// worker's restarts by the rotation phase, so its JWKS cache lives through a key rotation.
//   node e2e/verifiers/edge-auth-node.mjs <port> <issuer> <audience> <cooldown seconds>
// Any path: 200 {sub, role, kid} for a valid bearer, else a problem with the result's status and
// code (and its reason, for the suite: a real API would log that instead).
import { createServer } from 'node:http';
import { createVerifier } from '@edge-auth/verify';

const [port, issuer, audience, cooldown] = process.argv.slice(2);
const verifier = createVerifier({ issuer, audience, cooldownSeconds: Number(cooldown) });

createServer(async (req, res) => {
  const result = await verifier.verifyRequest(req);
  if (result.ok) {
    const { sub, role } = result.claims;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ sub, role, kid: result.kid }));
    return;
  }
  const challenge = result.code === 'invalid_token' ? 'Bearer error="invalid_token"' : 'Bearer';
  res.writeHead(result.status, {
    'Content-Type': 'application/problem+json',
    ...(result.status === 401 && { 'WWW-Authenticate': challenge }),
  });
  res.end(JSON.stringify({ status: result.status, code: result.code, reason: result.reason }));
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
