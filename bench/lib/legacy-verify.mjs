// What a first sign-in with an imported hash costs inside the worker: one verifyPassword of a
// hash made by Python's bcrypt, argon2-cffi or passlib (bench/micro/legacy-hashes.ts), compared
// with one PBKDF2 hash of our own (the rehash that follows is one more of those). The heavy ones
// take seconds, so each is timed at n = 0 and n = 1 (the slope still cancels the request).
import { perOperation } from './micro-client.mjs';

export const LEGACY_ROWS = [
  ['bcrypt-10', 'bcrypt cost 10'],
  ['bcrypt-12', 'bcrypt cost 12'],
  ['argon2id-owasp', 'argon2id m=19456,t=2,p=1 (OWASP)'],
  ['argon2id-cffi', 'argon2id m=65536,t=3,p=4 (argon2-cffi default)'],
  ['scrypt-14', 'scrypt ln=14,r=8,p=1'],
  ['scrypt-16', 'scrypt ln=16,r=8,p=1 (passlib default)'],
  ['pbkdf2-passlib', 'pbkdf2-sha256 29,000 (passlib default; WebCrypto)'],
  ['pbkdf2-django', 'pbkdf2_sha256 1,200,000 (Django 6.0; JavaScript)'],
];

export async function legacyVerifyCosts(microBase) {
  const costs = {};
  for (const [op, label] of LEGACY_ROWS) {
    costs[op] = { label, ...(await perOperation(microBase, op, 0, 1, 3)) };
  }
  return costs;
}

/** Table rows: each verification's CPU and its ratio to one PBKDF2 hash of our own. */
export function legacyRows(costs, pbkdf2) {
  return Object.values(costs).map((m) => ({
    name: `legacy verify: ${m.label} (in-worker)`,
    connections: 1,
    rps: m.opsPerSecond,
    p50Ms: m.ms,
    p99Ms: null,
    errors: 0,
    vsLive: null,
    vsReady: null,
    vsLimit: `${(m.ms / pbkdf2.ms).toFixed(1)}x hash`,
  }));
}
