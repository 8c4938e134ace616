// The worker's bundle gives @oslojs/webauthn @noble/hashes' SHA-256 in place of @oslojs/crypto's
// (wrangler.toml [alias], src/oslojs-sha2-noble.ts). Both must be SHA-256: FIPS 180-4's example
// vectors, and the two libraries agree on every length across the 64-byte block boundaries.
import { sha256 as oslojsSha256 } from '@oslojs/crypto/sha2';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/oslojs-sha2-noble';

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('the SHA-256 given to @oslojs/webauthn', () => {
  it.each([
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
  ])('hashes %j as FIPS 180-4 says', (message, digest) => {
    expect(hex(sha256(utf8(message)))).toBe(digest);
  });

  it('hashes a million "a" as FIPS 180-4 says', () => {
    const digest = 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0';
    expect(hex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(digest);
  });

  it('agrees with @oslojs/crypto on every length from 0 to 300 bytes', () => {
    for (let length = 0; length <= 300; length++) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      expect(sha256(data)).toEqual(oslojsSha256(data));
    }
  });
});
