import { argon2id } from '@noble/hashes/argon2.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { timingSafeEqual } from '../tokens';
import { bcryptVerify } from './bcrypt';
import { LIMITS, type LegacyHash } from './formats';

// Pure JavaScript (bcrypt.ts is ours, the others @noble/hashes): Workers cannot compile
// WebAssembly from bytes at run time, so WASM builds of these algorithms do not load there. The
// computations are synchronous on purpose: at most one argon2 or scrypt buffer (up to
// LIMITS.memoryKiB) is live in an isolate at a time.
const utf8 = (text: string) => new TextEncoder().encode(text);
const maxmem = LIMITS.memoryKiB * 1024 + 1024 * 1024;
const WEBCRYPTO_PBKDF2_MAX = 100_000;

/** `password` is the normalised one every sign-in path checks (policy/password.ts). */
export async function verifyLegacyHash(password: string, legacy: LegacyHash): Promise<boolean> {
  switch (legacy.kind) {
    case 'bcrypt': {
      const input = legacy.prehash ? await sha256Hex(password) : password;
      return bcryptVerify(input, legacy.text);
    }
    case 'argon2id': {
      const { m, t, p, salt, hash } = legacy;
      const candidate = argon2id(utf8(password), salt, { m, t, p, dkLen: hash.length, maxmem });
      return timingSafeEqual(candidate, hash);
    }
    case 'scrypt': {
      const { n, r, p, salt, hash } = legacy;
      const candidate = scrypt(utf8(password), salt, { N: n, r, p, dkLen: hash.length, maxmem });
      return timingSafeEqual(candidate, hash);
    }
    case 'pbkdf2':
      return timingSafeEqual(await pbkdf2Bytes(password, legacy), legacy.hash);
  }
}

async function pbkdf2Bytes(password: string, legacy: LegacyHash & { kind: 'pbkdf2' }) {
  const { digest, iterations, salt, hash } = legacy;
  // WebCrypto where production allows it (PLATFORM.md: at most 100,000 iterations); above that
  // (Django's 1,000,000 and more) only a JavaScript PBKDF2 can run, at several times the CPU.
  if (iterations > WEBCRYPTO_PBKDF2_MAX) {
    const fn = digest === 'sha256' ? sha256 : sha512;
    return pbkdf2(fn, utf8(password), salt, { c: iterations, dkLen: hash.length });
  }
  const key = await crypto.subtle.importKey('raw', utf8(password), 'PBKDF2', false, ['deriveBits']);
  const name = digest === 'sha256' ? 'SHA-256' : 'SHA-512';
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: name, salt, iterations },
    key,
    hash.length * 8,
  );
  return new Uint8Array(bits);
}

async function sha256Hex(password: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8(password)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
