// RFC 6238 codes (HMAC-SHA1, 30 s steps, 6 digits) from the base32 `secret` the setup route
// returns, computed the way an authenticator app does.
import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Decode(text) {
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = BASE32.indexOf(ch);
    if (index === -1) throw new Error(`not base32: ${text}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

/** RFC 4226 HOTP of `counter`, dynamic truncation, leading zeros kept. */
export function hotp(key, counter) {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 1_000_000).padStart(6, '0');
}

export const currentStep = () => Math.floor(Date.now() / 30_000);

/**
 * A code source for one secret. The worker takes each step at most once and allows one step of
 * drift, so every code is for a later step than the one before: the current step, or the next.
 */
export function totpCodes(secret) {
  const key = base32Decode(secret);
  let last = -1;
  return () => {
    last = Math.max(currentStep(), last + 1);
    return hotp(key, last);
  };
}
