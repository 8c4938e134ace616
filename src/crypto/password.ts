import { parseLegacyHash } from './legacy/formats';
import { verifyLegacyHash } from './legacy/verify';
import { hmac, timingSafeEqual } from './tokens';

/**
 * Production Workers refuse PBKDF2 above 100,000 iterations (NotSupportedError) while local
 * workerd accepts more: a higher value here would pass every local test and break every
 * production login. See ../shared/PLATFORM.md.
 */
export const PBKDF2_MAX_ITERATIONS = 100_000;

const CURRENT = { algorithm: 'pbkdf2-sha512', iterations: 100_000, saltBytes: 16, keyBytes: 64 };
const HASHES = { 'pbkdf2-sha512': 'SHA-512', 'pbkdf2-sha256': 'SHA-256' } as const;
type Algorithm = keyof typeof HASHES;

/** A stored hash we cannot or must not evaluate: a server fault, never a wrong password. */
export class PasswordHashError extends Error {}

type Parsed = { algorithm: Algorithm; iterations: number; salt: Uint8Array; hash: Uint8Array };

// PHC-style: $pbkdf2-sha512$i=100000,l=64$<salt>$<hash> (unpadded standard base64).
const FORMAT =
  /^\$(pbkdf2-sha(?:512|256))\$i=(\d{1,10}),l=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

const OWN = /^\$pbkdf2-sha(?:512|256)\$i=/;

function parse(stored: string): Parsed {
  const m = FORMAT.exec(stored);
  if (!m) throw new PasswordHashError('unrecognised password hash format');
  const iterations = Number(m[2]);
  if (iterations > PBKDF2_MAX_ITERATIONS || iterations < 1_000) {
    throw new PasswordHashError(
      `password hash iterations ${iterations} outside 1000..${PBKDF2_MAX_ITERATIONS}`,
    );
  }
  let salt: Uint8Array, hash: Uint8Array;
  try {
    [salt, hash] = [fromBase64(m[4]!), fromBase64(m[5]!)];
  } catch {
    throw new PasswordHashError('password hash is not valid base64');
  }
  if (hash.byteLength !== Number(m[3]) || hash.byteLength < 32 || salt.byteLength < 8) {
    throw new PasswordHashError('password hash lengths do not match its parameters');
  }
  return { algorithm: m[1] as Algorithm, iterations, salt, hash };
}

async function derive(
  password: string,
  pepper: string,
  p: Omit<Parsed, 'hash'>,
  bytes: number,
): Promise<Uint8Array> {
  // The pepper (HMAC-SHA-256 under a Worker secret) makes a stolen database useless without the
  // secret, and fixes PBKDF2's input length whatever the password's.
  const peppered = await hmac(pepper, 'password-pepper', password);
  const material = await crypto.subtle.importKey('raw', peppered, 'PBKDF2', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: HASHES[p.algorithm], salt: p.salt, iterations: p.iterations },
    material,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

/** `password` must already be NFKC-normalised (see policy/password.ts). */
export async function hashPassword(password: string, pepper: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(CURRENT.saltBytes));
  const params = {
    algorithm: CURRENT.algorithm as Algorithm,
    iterations: CURRENT.iterations,
    salt,
  };
  const hash = await derive(password, pepper, params, CURRENT.keyBytes);
  return `$${CURRENT.algorithm}$i=${CURRENT.iterations},l=${CURRENT.keyBytes}$${toBase64(salt)}$${toBase64(hash)}`;
}

export type Verification = { valid: boolean; needsRehash: boolean };

/**
 * Constant-time check; throws PasswordHashError for a hash we refuse to evaluate. A hash brought
 * in by POST /admin/users/import (bcrypt, argon2id, scrypt, PBKDF2: crypto/legacy) is checked
 * here too, so every caller handles it, and always needs a rehash into the worker's own form.
 */
export async function verifyPassword(
  password: string,
  stored: string,
  pepper: string,
): Promise<Verification> {
  if (!OWN.test(stored)) {
    const legacy = parseLegacyHash(stored);
    if (!legacy.ok) throw new PasswordHashError(`stored password hash refused: ${legacy.problem}`);
    return { valid: await verifyLegacyHash(password, legacy.hash), needsRehash: true };
  }
  const parsed = parse(stored);
  const candidate = await derive(password, pepper, parsed, parsed.hash.byteLength);
  return {
    valid: timingSafeEqual(candidate, parsed.hash),
    needsRehash:
      parsed.algorithm !== CURRENT.algorithm ||
      parsed.iterations !== CURRENT.iterations ||
      parsed.hash.byteLength !== CURRENT.keyBytes ||
      parsed.salt.byteLength !== CURRENT.saltBytes,
  };
}

/** The stored hash of an account without a password (made through an identity provider). */
export const NO_PASSWORD = '';

/**
 * Verified instead of a real hash when the email is unknown, so that a login for a missing
 * account costs exactly one derivation with the current parameters, like a wrong password.
 */
export const DUMMY_HASH = `$${CURRENT.algorithm}$i=${CURRENT.iterations},l=${CURRENT.keyBytes}$${'A'.repeat(22)}$${'A'.repeat(86)}`;

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, '');
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text.padEnd(Math.ceil(text.length / 4) * 4, '='));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
