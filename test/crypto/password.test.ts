import { describe, expect, it } from 'vitest';
import {
  DUMMY_HASH,
  PBKDF2_MAX_ITERATIONS,
  PasswordHashError,
  hashPassword,
  verifyPassword,
} from '../../src/crypto/password';

const PEPPER = 'unit-test-pepper-0123456789abcdefghijklmnop';

describe('password hashing', () => {
  it('never exceeds the 100,000-iteration PBKDF2 cap of production Workers', async () => {
    expect(PBKDF2_MAX_ITERATIONS).toBeLessThanOrEqual(100_000);
    const stored = await hashPassword('a password', PEPPER);
    const iterations = Number(/\$i=(\d+),/.exec(stored)![1]);
    expect(iterations).toBeLessThanOrEqual(PBKDF2_MAX_ITERATIONS);
    expect(DUMMY_HASH).toContain(`i=${iterations},`);
  });

  it('stores a self-describing string with a 16-byte salt and a 64-byte SHA-512 key', async () => {
    const stored = await hashPassword('a password', PEPPER);
    expect(stored).toMatch(
      /^\$pbkdf2-sha512\$i=100000,l=64\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{86}$/,
    );
    expect(await hashPassword('a password', PEPPER)).not.toBe(stored);
  });

  it('verifies the right password only, and only with the same pepper', async () => {
    const stored = await hashPassword('a password', PEPPER);
    expect(await verifyPassword('a password', stored, PEPPER)).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect((await verifyPassword('a Password', stored, PEPPER)).valid).toBe(false);
    expect((await verifyPassword('a password', stored, `${PEPPER}x`)).valid).toBe(false);
  });

  it.each([
    [
      'iterations above the cap',
      '$pbkdf2-sha512$i=100001,l=64$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86),
    ],
    [
      'a billion iterations',
      '$pbkdf2-sha512$i=1000000000,l=64$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86),
    ],
    ['an unknown algorithm', '$argon2id$v=19$m=65536,t=3,p=4$AAAA$AAAA'],
    [
      'a length that does not match',
      '$pbkdf2-sha512$i=100000,l=32$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86),
    ],
    ['broken base64', '$pbkdf2-sha512$i=100000,l=64$A$' + 'A'.repeat(85)],
    ['an empty string', ''],
  ])(
    'refuses to evaluate a stored hash with %s (a server fault, not a wrong password)',
    async (_n, stored) => {
      await expect(verifyPassword('a password', stored, PEPPER)).rejects.toBeInstanceOf(
        PasswordHashError,
      );
    },
  );
});
