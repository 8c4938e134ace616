import { describe, expect, it } from 'vitest';
import { base32Encode, hotp, matchTotp, otpauthUri, stepAt } from '../../src/crypto/totp';

const ascii = (s: string) => new TextEncoder().encode(s);
// RFC 6238 Appendix B: the seeds are these ASCII strings, one per hash.
const seeds = {
  'SHA-1': ascii('12345678901234567890'),
  'SHA-256': ascii('12345678901234567890123456789012'),
  'SHA-512': ascii('1234567890123456789012345678901234567890123456789012345678901234'),
} as const;
const vectors: [number, string, string, string][] = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(vectors)(
    'reproduces Appendix B at T=%i (8 digits, and the 6-digit truncation)',
    async (t, sha1, sha256, sha512) => {
      const step = stepAt(t * 1000);
      const expected = { 'SHA-1': sha1, 'SHA-256': sha256, 'SHA-512': sha512 } as const;
      for (const hash of ['SHA-1', 'SHA-256', 'SHA-512'] as const) {
        expect(await hotp(seeds[hash], step, 8, hash)).toBe(expected[hash]);
        expect(await hotp(seeds[hash], step, 6, hash)).toBe(expected[hash].slice(-6));
      }
    },
  );

  it('keeps leading zeros (T=1111111109 is 081804 in 6 digits)', async () => {
    const code = await hotp(seeds['SHA-1'], stepAt(1111111109 * 1000));
    expect(code).toBe('081804');
    expect(await matchTotp(seeds['SHA-1'], '081804', 1111111109 * 1000)).toBe(
      stepAt(1111111109 * 1000),
    );
    expect(await matchTotp(seeds['SHA-1'], '81804', 1111111109 * 1000)).toBeNull();
  });

  it('accepts one step either side and no further', async () => {
    const now = 1_700_000_000_000;
    const step = stepAt(now);
    for (const offset of [-1, 0, 1]) {
      expect(await matchTotp(seeds['SHA-1'], await hotp(seeds['SHA-1'], step + offset), now)).toBe(
        step + offset,
      );
    }
    for (const offset of [-2, 2]) {
      expect(
        await matchTotp(seeds['SHA-1'], await hotp(seeds['SHA-1'], step + offset), now),
      ).toBeNull();
    }
  });

  it('encodes base32 per RFC 4648 and builds the otpauth URI apps scan', () => {
    expect(base32Encode(ascii('foobar'))).toBe('MZXW6YTBOI');
    const uri = otpauthUri(seeds['SHA-1'], 'Edge Auth', 'ana@example.com');
    expect(uri).toBe(
      'otpauth://totp/Edge%20Auth:ana%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Edge%20Auth&algorithm=SHA1&digits=6&period=30',
    );
  });
});
