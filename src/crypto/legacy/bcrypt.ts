/**
 * bcrypt verification for imported hashes (Provos and Mazières, "A Future-Adaptable Password
 * Scheme", 1999; OpenBSD's bcrypt.c). Only verify: the worker never makes a bcrypt hash, it
 * replaces one with its own at the first sign-in (verify.ts). Our own code instead of bcryptjs
 * (9 KiB gzip in the bundle, mostly its hashing API, an unrolled cipher and the Blowfish tables as
 * decimal literals). It computes exactly what bcryptjs 3 computes, for every input (the tests
 * check it against bcryptjs, OpenBSD, crypt_blowfish and Python's bcrypt).
 */

const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const HASH = /^\$2[aby]\$(\d\d)\$([./A-Za-z0-9]{22})[./A-Za-z0-9]{31}$/;

let initial: Int32Array | undefined;

/**
 * True when `password` (a string, as UTF-8; bytes for tests of other implementations' vectors)
 * matches `hash` (`$2a$`, `$2b$` or `$2y$`, cost 4 to 31). False for anything else, never
 * throws. Callers bound the cost first (formats.ts): cost 31 would run for days.
 */
export function bcryptVerify(password: string | Uint8Array, hash: string): boolean {
  const match = HASH.exec(hash);
  const cost = Number(match?.[1]);
  if (!match || cost < 4 || cost > 31) return false;
  // bcrypt's base64 is the standard one with another alphabet and no padding. The salt's last
  // character carries 2 bits; the others are dropped here and the re-encoded salt below has
  // them zero, so a hash with them set never matches (as in bcryptjs, OpenBSD and PHP).
  const salt = [...atob(translate(match[2]!, BCRYPT_ALPHABET, BASE64_ALPHABET))].map(code);
  // The key is the password's bytes and a NUL, repeated to 72 bytes: only the first 72 bytes of
  // a longer password count (OpenBSD $2b$; bcryptjs and crypt_blowfish alike for $2a$ and $2y$).
  const bytes = typeof password === 'string' ? utf8(password) : [...password];
  const key = words([...bytes, 0], 18);
  const saltWords = words(salt, 18);
  initial ??= piWords();
  const state = initial.slice();
  expand(state, key, saltWords);
  for (let round = 2 ** cost; round > 0; round--) {
    expand(state, key);
    expand(state, saltWords);
  }
  const text = words([...'OrpheanBeholderScryDoubt'].map(code), 6);
  for (let i = 0; i < 64; i++)
    for (let j = 0; j < 6; j += 2) encrypt(state, text[j]!, text[j + 1]!, text, j);
  const digest = [...text].flatMap((w) => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255]);
  const expected = encode(salt) + encode(digest.slice(0, 23));
  // Constant time: the loop runs over all 53 characters whatever differs.
  let diff = 0;
  for (let i = 0; i < 53; i++) diff |= expected.charCodeAt(i) ^ hash.charCodeAt(7 + i);
  return diff === 0;
}

/**
 * Blowfish's initial state, the fractional hex digits of pi: the P-array (18 words), then the four
 * S-boxes (256 words each). Computed, not stored: these 4,168 bytes are random-looking, so no text
 * form of them is below 4.1 KiB gzip, and only an isolate that verifies an imported bcrypt hash
 * needs them. Once per isolate, about 10 ms of CPU (README, "Bringing existing users in").
 * Chudnovsky's series summed by binary splitting: pi = 426880 sqrt(10005) Q / T.
 * Exported for its test only.
 */
export function piWords(): Int32Array {
  const split = (a: bigint, b: bigint): [bigint, bigint, bigint] => {
    if (b - a === 1n) {
      const p = a ? (6n * a - 5n) * (2n * a - 1n) * (6n * a - 1n) : 1n;
      const t = p * (13591409n + 545140134n * a);
      return [p, a ? a * a * a * 10939058860032000n : 1n, a & 1n ? -t : t];
    }
    const m = (a + b) / 2n;
    const [p1, q1, t1] = split(a, m);
    const [p2, q2, t2] = split(m, b);
    return [p1 * p2, q1 * q2, q2 * t1 + p1 * t2];
  };
  // Each term adds 14.18 decimal digits: 712 give 33,500 bits, the table needs 33,344.
  const [, q, t] = split(0n, 712n);
  // sqrt(10005) in 33 * 2^10 = 33,792 bits: Newton's method from a float, doubling each step.
  let bits = 33n;
  let root = BigInt(Math.round(Math.sqrt(10005) * 2 ** 33));
  for (; bits < 33_344n; bits *= 2n) root = ((root << bits) + (10005n << (3n * bits)) / root) >> 1n;
  const hex = ((426880n * root * q) / t).toString(16); // "3243f6a8885a308d3..."
  return Int32Array.from({ length: 1042 }, (_, i) => parseInt(hex.slice(1 + 8 * i, 9 + 8 * i), 16));
}

/** EksBlowfish's ExpandKey: `key` into the P-array, then `salt` (if any) into each block. */
function expand(state: Int32Array, key: Int32Array, salt?: Int32Array) {
  for (let i = 0; i < 18; i++) state[i]! ^= key[i]!;
  let l = 0;
  let r = 0;
  for (let i = 0; i < 1042; i += 2) {
    if (salt) {
      l ^= salt[i & 3]!;
      r ^= salt[(i + 1) & 3]!;
    }
    encrypt(state, l, r, state, i);
    l = state[i]!;
    r = state[i + 1]!;
  }
}

/** One Blowfish encryption of the block `l`, `r` under `s`, written to `out[at]`, `out[at + 1]`. */
function encrypt(s: Int32Array, l: number, r: number, out: Int32Array, at: number) {
  l ^= s[0]!;
  // F(x) = ((S0[a] + S1[b]) ^ S2[c]) + S3[d] mod 2^32: each XOR truncates the sum to 32 bits.
  for (let i = 1; i < 17; i += 2) {
    r ^=
      (((s[18 + (l >>> 24)]! + s[274 + ((l >>> 16) & 255)]!) ^ s[530 + ((l >>> 8) & 255)]!) +
        s[786 + (l & 255)]!) ^
      s[i]!;
    l ^=
      (((s[18 + (r >>> 24)]! + s[274 + ((r >>> 16) & 255)]!) ^ s[530 + ((r >>> 8) & 255)]!) +
        s[786 + (r & 255)]!) ^
      s[i + 1]!;
  }
  out[at] = r ^ s[17]!;
  out[at + 1] = l;
}

/** `count` big-endian 32-bit words read from `bytes`, cycling over them as bcrypt's key stream. */
function words(bytes: number[], count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count * 4; i++) out[i >> 2] = (out[i >> 2]! << 8) | bytes[i % bytes.length]!;
  return out;
}

/**
 * UTF-8, with a lone surrogate encoded as its own code point (3 bytes) as bcryptjs does: a Node
 * service that hashed with bcryptjs turned such a password into those bytes.
 */
function utf8(text: string): number[] {
  const out: number[] = [];
  for (const char of text) {
    const c = char.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

function encode(bytes: number[]): string {
  const base64 = btoa(String.fromCharCode(...bytes)).replace(/=+$/, '');
  return translate(base64, BASE64_ALPHABET, BCRYPT_ALPHABET);
}

function translate(text: string, from: string, to: string): string {
  return text.replace(/[^=]/g, (char) => to[from.indexOf(char)]!);
}

const code = (char: string) => char.charCodeAt(0);
