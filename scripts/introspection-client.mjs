#!/usr/bin/env node
// Makes a credential for a downstream service that calls POST /oauth/introspect:
//   npm run introspection:client -- <client_id> [existing INTROSPECTION_CLIENTS JSON]
// prints the secret (give it to the service, once) and the INTROSPECTION_CLIENTS value to store
// as a Worker secret, which holds only the secret's SHA-256. The same hash by hand:
//   printf '%s' "$SECRET" | sha256sum
import { createHash } from 'node:crypto';
import { generateSecret } from './lib/keys.mjs';

const [clientId, existing = '{}'] = process.argv.slice(2);
if (!clientId || !/^[A-Za-z0-9._~-]{1,64}$/.test(clientId)) {
  console.error('usage: npm run introspection:client -- <client_id> [existing JSON]');
  console.error('client_id: 1-64 of A-Z a-z 0-9 . _ ~ -');
  process.exit(2);
}
let clients;
try {
  clients = JSON.parse(existing);
} catch {
  console.error('the existing INTROSPECTION_CLIENTS value is not JSON');
  process.exit(2);
}
const secret = generateSecret();
clients[clientId] = `sha256:${createHash('sha256').update(secret).digest('hex')}`;
console.log(`client_id:     ${clientId}`);
console.log(`client_secret: ${secret}   (shown once: give it to the service)`);
console.log(`\nINTROSPECTION_CLIENTS=${JSON.stringify(clients)}`);
console.log(
  `\nProduction: echo '${JSON.stringify(clients)}' | npx wrangler secret put INTROSPECTION_CLIENTS --env production`,
);
