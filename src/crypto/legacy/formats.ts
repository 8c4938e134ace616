/**
 * Password hashes made by other systems, accepted by POST /admin/users/import and verified once,
 * at the first sign-in, before the worker's own hash replaces them (see verify.ts). Parsing is
 * strict, and every cost is bounded by what one Worker request can afford: a hash we would have
 * to refuse at sign-in is refused at import time instead, with a reason the admin can act on.
 */
export type LegacyHash =
  /** `$2a$`/`$2b$`/`$2y$`; with `prehash`, bcrypt was fed sha256(password).hexdigest(). */
  | { kind: 'bcrypt'; text: string; cost: number; prehash: boolean }
  | { kind: 'argon2id'; m: number; t: number; p: number; salt: Uint8Array; hash: Uint8Array }
  | { kind: 'scrypt'; n: number; r: number; p: number; salt: Uint8Array; hash: Uint8Array }
  | {
      kind: 'pbkdf2';
      digest: 'sha256' | 'sha512';
      iterations: number;
      salt: Uint8Array;
      hash: Uint8Array;
    };

export type LegacyProblem = 'unsupported_hash' | 'malformed_hash' | 'hash_cost_too_high';

/** The declared pre-hash variant: bcrypt over the lower-case hex SHA-256 of the password. */
export const PREHASH_SHA256_HEX = 'prehash-sha256-hex:';

/**
 * What one request can hold and spend. A Worker isolate has 128 MB and serves several requests
 * at once; argon2 and scrypt allocate their whole memory cost, so 64 MiB (argon2-cffi's and
 * RFC 9106's second profile, passlib's scrypt default) is the ceiling. The CPU bounds keep a
 * verification within the bench's measured times (README, "Bringing existing users in").
 */
export const LIMITS = {
  bcryptCost: { min: 4, max: 14 },
  memoryKiB: 64 * 1024,
  argon2: { maxT: 10, maxP: 16 },
  scrypt: { maxLogN: 20, maxP: 16 },
  pbkdf2: { min: 1_000, max: 2_000_000 },
} as const;

type Parsed = { ok: true; hash: LegacyHash } | { ok: false; problem: LegacyProblem };
const fail = (problem: LegacyProblem): Parsed => ({ ok: false, problem });
const ok = (hash: LegacyHash): Parsed => ({ ok: true, hash });

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const ARGON2ID = /^\$argon2id\$v=(\d+)\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([^$]+)\$([^$]+)$/;
const SCRYPT = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([^$]+)\$([^$]+)$/;
const PASSLIB_PBKDF2 = /^\$pbkdf2-(sha256|sha512)\$(\d{1,10})\$([^$]+)\$([^$]+)$/;
const DJANGO_PBKDF2 = /^pbkdf2_sha256\$(\d{1,10})\$([^$]+)\$([A-Za-z0-9+/]+={0,2})$/;

/** Parses and bounds an imported hash; never evaluates it. */
export function parseLegacyHash(text: string): Parsed {
  if (text.length > 400) return fail('malformed_hash');
  const prehash = text.startsWith(PREHASH_SHA256_HEX);
  const body = prehash ? text.slice(PREHASH_SHA256_HEX.length) : text;
  if (body.startsWith('$2')) return bcrypt(body, prehash);
  if (prehash) return fail('unsupported_hash');
  if (body.startsWith('$argon2id$')) return argon2id(body);
  if (body.startsWith('$scrypt$')) return scrypt(body);
  if (body.startsWith('$pbkdf2-sha256$') || body.startsWith('$pbkdf2-sha512$')) {
    return passlibPbkdf2(body);
  }
  if (body.startsWith('pbkdf2_sha256$')) return djangoPbkdf2(body);
  return fail('unsupported_hash');
}

function bcrypt(text: string, prehash: boolean): Parsed {
  const m = BCRYPT.exec(text);
  if (!m) return fail(/^\$2[aby]\$/.test(text) ? 'malformed_hash' : 'unsupported_hash');
  const cost = Number(m[1]);
  if (cost < LIMITS.bcryptCost.min) return fail('malformed_hash');
  if (cost > LIMITS.bcryptCost.max) return fail('hash_cost_too_high');
  return ok({ kind: 'bcrypt', text, cost, prehash });
}

function argon2id(text: string): Parsed {
  const m = ARGON2ID.exec(text);
  if (!m) return fail('malformed_hash');
  const [v, mem, t, p] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  const bytes = saltAndHash(m[5]!, m[6]!);
  if (v !== 19 || !bytes || t < 1 || p < 1 || mem < 8 * p) return fail('malformed_hash');
  if (mem > LIMITS.memoryKiB || t > LIMITS.argon2.maxT || p > LIMITS.argon2.maxP) {
    return fail('hash_cost_too_high');
  }
  return ok({ kind: 'argon2id', m: mem, t, p, ...bytes });
}

function scrypt(text: string): Parsed {
  const m = SCRYPT.exec(text);
  if (!m) return fail('malformed_hash');
  const [logN, r, p] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const bytes = saltAndHash(m[4]!, m[5]!);
  if (!bytes || logN < 1 || r < 1 || p < 1) return fail('malformed_hash');
  // scrypt's memory is 128 * r * N bytes (RFC 7914 §5), its CPU that times p.
  if (logN > LIMITS.scrypt.maxLogN || p > LIMITS.scrypt.maxP) return fail('hash_cost_too_high');
  if (128 * r * 2 ** logN > LIMITS.memoryKiB * 1024) return fail('hash_cost_too_high');
  return ok({ kind: 'scrypt', n: 2 ** logN, r, p, ...bytes });
}

function passlibPbkdf2(text: string): Parsed {
  const m = PASSLIB_PBKDF2.exec(text);
  if (!m) return fail('malformed_hash');
  const bytes = saltAndHash(m[3]!, m[4]!);
  if (!bytes) return fail('malformed_hash');
  return pbkdf2(m[1] as 'sha256' | 'sha512', Number(m[2]), bytes.salt, bytes.hash);
}

function djangoPbkdf2(text: string): Parsed {
  const m = DJANGO_PBKDF2.exec(text);
  // Django's salt is used as its ASCII text, not decoded.
  if (!m || !/^[\x21-\x7e]{1,64}$/.test(m[2]!)) return fail('malformed_hash');
  const hash = fromBase64(m[3]!);
  if (!hash) return fail('malformed_hash');
  return pbkdf2('sha256', Number(m[1]), new TextEncoder().encode(m[2]!), hash);
}

function pbkdf2(
  digest: 'sha256' | 'sha512',
  iterations: number,
  salt: Uint8Array,
  hash: Uint8Array,
): Parsed {
  if (iterations < LIMITS.pbkdf2.min || hash.byteLength > 64) return fail('malformed_hash');
  if (iterations > LIMITS.pbkdf2.max) return fail('hash_cost_too_high');
  return ok({ kind: 'pbkdf2', digest, iterations, salt, hash });
}

/** PHC fields: unpadded base64, or passlib's "adapted" base64 ('.' for '+'). */
function saltAndHash(salt: string, hash: string) {
  const [s, h] = [fromBase64(salt), fromBase64(hash)];
  if (!s || !h || s.byteLength < 8 || s.byteLength > 64 || h.byteLength < 16) return null;
  if (h.byteLength > 64) return null;
  return { salt: s, hash: h };
}

function fromBase64(text: string): Uint8Array | null {
  const standard = text.replace(/\./g, '+').replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]+$/.test(standard) || standard.length % 4 === 1) return null;
  const binary = atob(standard.padEnd(Math.ceil(standard.length / 4) * 4, '='));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}
