import bcryptjs from 'bcryptjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bcryptVerify, piWords } from '../../../src/crypto/legacy/bcrypt';
import python from './python-bcrypt-vectors.json';

const hex = (text: string) => Uint8Array.from(text.match(/../g)!, (h) => parseInt(h, 16));

// Published vectors, each made by an implementation other than ours and bcryptjs.
const PUBLISHED: [source: string, password: string | Uint8Array, hash: string][] = [
  // The original bcrypt vectors: Damien Miller's jBCrypt (OpenBSD's bcrypt.c ported), as kept
  // in Bouncy Castle's OpenBSDBCryptTest.
  ['jBCrypt', '', '$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.'],
  ['jBCrypt', '', '$2a$08$HqWuK6/Ng6sg9gQzbLrgb.Tl.ZHfXLhvt/SgVyWhQqgqcZ7ZuUtye'],
  ['jBCrypt', '', '$2a$10$k1wbIrmNyFAPwPVPSVa/zecw2BCEnBwVS2GbrmgzxFUOqW9dk4TCW'],
  ['jBCrypt', 'a', '$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe'],
  ['jBCrypt', 'a', '$2a$08$cfcvVd2aQ8CMvoMpP2EBfeodLEkkFJ9umNEfPD18.hUF62qqlC/V.'],
  ['jBCrypt', 'a', '$2a$10$k87L/MF28Q673VKh8/cPi.SUl7MU/rWuSiIDDFayrKk/1tBsSQu4u'],
  ['jBCrypt', 'abc', '$2a$06$If6bvum7DFjUnE9p2uDeDu0YHzrHM6tf.iqN8.yx.jNN1ILEf7h0i'],
  ['jBCrypt', 'abc', '$2a$08$Ro0CUfOqk6cXEKf3dyaM7OhSCvnwM9s4wIX9JeLapehKK5YdLxKcm'],
  ['jBCrypt', 'abc', '$2a$10$WvvTPHKwdBJ3uk0Z37EMR.hLA2W6N9AEBhEgrAOljy2Ae5MtaSIUi'],
  [
    'jBCrypt',
    'abcdefghijklmnopqrstuvwxyz',
    '$2a$06$.rCVZVOThsIa97pEDOxvGuRRgzG64bvtJ0938xuqzv18d3ZpQhstC',
  ],
  [
    'jBCrypt',
    'abcdefghijklmnopqrstuvwxyz',
    '$2a$08$aTsUwsyowQuzRrDqFflhgekJ8d9/7Z3GV3UcgvzQW3J5zMyrTvlz.',
  ],
  [
    'jBCrypt',
    'abcdefghijklmnopqrstuvwxyz',
    '$2a$10$fVH8e28OQRj9tqiDXs1e1uxpsjN0c7II7YPKXua2NAKYvM6iQk7dq',
  ],
  [
    'jBCrypt',
    '~!@#$%^&*()      ~!@#$%^&*()PNBFRD',
    '$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO',
  ],
  [
    'jBCrypt',
    '~!@#$%^&*()      ~!@#$%^&*()PNBFRD',
    '$2a$08$Eq2r4G/76Wv39MzSX262huzPz612MZiYHVUJe/OcOql2jo4.9UxTW',
  ],
  [
    'jBCrypt',
    '~!@#$%^&*()      ~!@#$%^&*()PNBFRD',
    '$2a$10$LgfYWkbzEvQ4JakH7rOvHe0y8pHKF9OaFgwUZ2q7W2FFZmZzJYlfS',
  ],
  ['jBCrypt', '\u00a3', '$2a$06$DCq7YPn5Rq63x1Lad4cll.UkvN5ZG3eIdYifdePATjpEDDrmdFKRK'],
  // Solar Designer's crypt_blowfish (what PHP's crypt() and password_hash() run), the tests of
  // its wrapper.c as PHP's ext/standard/tests/crypt/crypt_blowfish.phpt keeps them; the 8-bit
  // passwords as bytes. ($2x$, its emulation of an old sign-extension bug, is refused: below.)
  ['crypt_blowfish', 'U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['crypt_blowfish', 'U*U*', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK'],
  ['crypt_blowfish', 'U*U*U', '$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a'],
  [
    'crypt_blowfish',
    '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored',
    '$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui',
  ],
  ['crypt_blowfish', hex('ffffa3'), '$2y$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e'],
  ['crypt_blowfish', hex('ffffa3'), '$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e'],
  ['crypt_blowfish', hex('a3'), '$2y$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq'],
  ['crypt_blowfish', hex('a3'), '$2a$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq'],
  ['crypt_blowfish', hex('a3'), '$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq'],
  [
    'crypt_blowfish',
    hex('ffa33334ffffffa3333435'),
    '$2y$05$/OK.fbVrR/bpIqNJ5ianF.o./n25XVfn6oAPaUvHe.Csk4zRfsYPi',
  ],
  [
    'crypt_blowfish',
    hex('ffa3333435'),
    '$2a$05$/OK.fbVrR/bpIqNJ5ianF.nRht2l/HRhr6zmCp9vYUvvsqynflf9e',
  ],
  ['crypt_blowfish', hex('a36162'), '$2y$05$/OK.fbVrR/bpIqNJ5ianF.6IflQkJytoRVc1yuaNtHfiuq.FRlSIS'],
  [
    'crypt_blowfish',
    new Uint8Array([...new Uint8Array(72).fill(0xaa), ...hex('6368617273')]),
    '$2a$05$/OK.fbVrR/bpIqNJ5ianF.swQOIzjOiJ9GHEPuhEkvqrUyvWhEMx6',
  ],
  [
    'crypt_blowfish',
    hex('aa55'.repeat(36)),
    '$2a$05$/OK.fbVrR/bpIqNJ5ianF.R9xrDjiycxMbQE2bp.vgqlYpW5wx2yy',
  ],
  [
    'crypt_blowfish',
    hex('55aaff'.repeat(24)),
    '$2a$05$/OK.fbVrR/bpIqNJ5ianF.9tQZzcJfm3uj2NvJ/n5xkhpqLrMpWCe',
  ],
  ['crypt_blowfish', '', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy'],
  // PHP: password_verify()'s manual page and php-src's crypt.phpt.
  ['PHP', 'rasmuslerdorf', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a'],
  ['PHP', 'rasmuslerdorf', '$2a$07$rasmuslerd............nIdrcHdxcUxWomQX9j6kvERCFjTg7Ra'],
  // Laravel's UserFactory (PHP password_hash) for "password".
  ['Laravel', 'password', '$2y$10$92IXUNpkjO0rOQ5byMi.Ye4oKoEa3Ro9llC/.og/at2.uheWG/igi'],
];

const cost = (hash: string) => Number(hash.slice(4, 6));

describe('piWords', () => {
  it("is Blowfish's initial state: the fractional hex digits of pi", () => {
    const words = [...piWords()].map((w) => (w >>> 0).toString(16).padStart(8, '0'));
    // First and last word of the P-array and of each S-box, as Schneier's tables print them.
    expect([0, 17, 18, 273, 274, 529, 530, 785, 786, 1041].map((i) => words[i])).toEqual([
      '243f6a88',
      '8979fb1b',
      'd1310ba6',
      '6e85076a',
      '4b7a70e9',
      'db83adf7',
      'e93d5a68',
      '406000e0',
      '3a39ce37',
      '3ac372e6',
    ]);
    // Every word, against pi by another formula: Machin's, 16 atan(1/5) - 4 atan(1/239).
    const bits = 1042n * 32n + 64n;
    const atan = (x: bigint) => {
      let sum = 0n;
      for (let term = (1n << bits) / x, k = 1n; term; term /= x * x, k += 2n) {
        sum += (k % 4n === 1n ? term : -term) / k;
      }
      return sum;
    };
    const pi = (16n * atan(5n) - 4n * atan(239n)) >> 64n;
    expect(words.join('')).toBe(pi.toString(16).slice(1));
  });
});

describe('bcryptVerify', () => {
  it.each(PUBLISHED)('%s: %j matches %s', (_, password, hash) => {
    expect(bcryptVerify(password, hash)).toBe(true);
    if (cost(hash) <= 6) {
      const wrong =
        typeof password === 'string' ? `x${password}` : Uint8Array.of(0x78, ...password);
      expect(bcryptVerify(wrong, hash)).toBe(false);
    }
  });

  it.each(python.vectors)(`${python.maker}: %j`, ({ password, hash }) => {
    expect(bcryptVerify(password, hash)).toBe(true);
    // One more character changes nothing once the password has 72 bytes.
    const full = new TextEncoder().encode(password).length >= 72;
    if (cost(hash) <= 6) expect(bcryptVerify(`${password}\u00e9`, hash)).toBe(full);
  });

  it('counts the first 72 UTF-8 bytes only, even when they end inside a character', () => {
    const hash = python.vectors.find((v) => v.password === `${'a'.repeat(71)}é`)!.hash;
    // 71 'a' and the first byte of 'é' (C3) or 'è' (C3): the same 72 bytes.
    expect(bcryptVerify(`${'a'.repeat(71)}è`, hash)).toBe(true);
    expect(bcryptVerify(`${'a'.repeat(71)}èèè`, hash)).toBe(true);
    expect(bcryptVerify('a'.repeat(71), hash)).toBe(false);
    expect(bcryptVerify(`${'a'.repeat(70)}bé`, hash)).toBe(false);
  });

  it('computes what bcryptjs computes: random passwords, every prefix, the 72-byte boundary', () => {
    const char = fc.oneof(
      fc.constantFrom('a', 'é', '€', '🔑', '\u0000', '\u00ff'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      // A lone surrogate (JSON can carry one): bcryptjs encodes it as its own 3 bytes.
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    );
    const password = fc.oneof(
      fc.array(char, { maxLength: 30 }).map((a) => a.join('')),
      // Around the boundary: 66 to 76 ASCII bytes, then more characters or none.
      fc
        .tuple(fc.integer({ min: 66, max: 76 }), fc.array(char, { maxLength: 3 }))
        .map(([n, tail]) => 'p'.repeat(n) + tail.join('')),
    );
    fc.assert(
      fc.property(password, password, fc.constantFrom('2a', '2b', '2y'), (right, other, minor) => {
        const hash = bcryptjs.hashSync(right, `$${minor}$04$${bcryptjs.genSaltSync(4).slice(7)}`);
        expect(bcryptVerify(right, hash)).toBe(true);
        for (const attempt of [other, `${right}x`, right.slice(0, -1)]) {
          expect(bcryptVerify(attempt, hash)).toBe(bcryptjs.compareSync(attempt, hash));
        }
      }),
      { numRuns: 100 },
    );
  });

  it("refuses a hash whose salt or digest has bits set that bcrypt's encoding leaves zero", () => {
    // The 22nd salt character and the 31st digest character each carry fewer than 6 bits; any
    // other character there decodes to the same bytes but is not what bcrypt writes.
    const hash = bcryptjs.hashSync('pw', 4);
    for (const at of [28, 59]) {
      for (const char of './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789') {
        const altered = hash.slice(0, at) + char + hash.slice(at + 1);
        expect(bcryptVerify('pw', altered)).toBe(bcryptjs.compareSync('pw', altered));
        expect(bcryptVerify('pw', altered)).toBe(altered === hash);
      }
    }
  });

  // Each is one change to a hash of `right`: a shape check that let it through would match.
  const right = hex('a3');
  const valid = '$2b$05$/OK.fbVrR/bpIqNJ5ianF.Sa7shbm4.OzKpvFnX1pQLmQW96oUlCq';
  it('starts from a hash that verifies', () => {
    expect(bcryptVerify(right, valid)).toBe(true);
  });
  it.each([
    ['empty', ''],
    ['the salt only', valid.slice(0, 29)],
    ['one character short', valid.slice(0, -1)],
    ['one character long', `${valid}.`],
    ['a trailing newline', `${valid}\n`],
    ['a leading space', ` ${valid}`],
    ['base64 "+" in the digest', `${valid.slice(0, -1)}+`],
    ['base64 padding', `${valid.slice(0, -1)}=`],
    ['a non-ASCII character', `${valid.slice(0, -1)}é`],
    ['cost 03', valid.replace('$05$', '$03$')],
    ['cost 00', valid.replace('$05$', '$00$')],
    ['cost 32', valid.replace('$05$', '$32$')],
    ['cost 99', valid.replace('$05$', '$99$')],
    ['a one-digit cost', valid.replace('$05$', '$5$')],
    ['a cost in letters', valid.replace('$05$', '$0a$')],
    // crypt_blowfish's $2x$ (its old sign-extension bug on 8-bit bytes like this one's).
    ["crypt_blowfish's $2x$", valid.replace('$2b$', '$2x$')],
    ['the original $2$', valid.replace('$2b$', '$2$')],
    ['$2c$', valid.replace('$2b$', '$2c$')],
    ['upper case $2B$', valid.replace('$2b$', '$2B$')],
    ['$3b$', valid.replace('$2b$', '$3b$')],
    ['another scheme', '$argon2id$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA'],
  ])('refuses %s without throwing', (_, hash) => {
    expect(bcryptVerify(right, hash)).toBe(false);
    expect(bcryptVerify('', hash)).toBe(false);
  });
});
