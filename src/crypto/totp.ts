import { renderSVG } from 'uqr';
import { timingSafeEqual } from './tokens';

/** RFC 6238 with the parameters every authenticator app supports. */
export const TOTP = { stepSeconds: 30, digits: 6, window: 1, secretBytes: 20 } as const;
type Hash = 'SHA-1' | 'SHA-256' | 'SHA-512';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: what otpauth:// URIs and apps expect. */
export function base32Encode(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A fresh 160-bit secret (RFC 4226 §4 recommends 160 bits) from the CSPRNG. */
export const newTotpSecret = () => crypto.getRandomValues(new Uint8Array(TOTP.secretBytes));

/** RFC 4226 HOTP with dynamic truncation; the result keeps its leading zeros. */
export async function hotp(
  secret: Uint8Array,
  counter: number,
  digits: number = TOTP.digits,
  hash: Hash = 'SHA-1',
) {
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash }, false, ['sign']);
  const message = new Uint8Array(8);
  new DataView(message.buffer).setBigUint64(0, BigInt(counter));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, message));
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary =
    ((mac[offset]! & 0x7f) << 24) |
    (mac[offset + 1]! << 16) |
    (mac[offset + 2]! << 8) |
    mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

export const stepAt = (timeMs: number) => Math.floor(timeMs / 1000 / TOTP.stepSeconds);

/**
 * The time step whose code equals `code`, trying the current step and one either side (RFC 6238
 * §5.2 allows at most one step of drift), or null. The caller makes it single-use by recording
 * the step with a conditional update, so a code is never accepted twice.
 */
export async function matchTotp(
  secret: Uint8Array,
  code: string,
  nowMs: number,
): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const offered = new TextEncoder().encode(code);
  const current = stepAt(nowMs);
  let matched: number | null = null;
  // Every candidate is computed and compared, so the time taken does not say which one matched.
  for (let step = current - TOTP.window; step <= current + TOTP.window; step++) {
    const expected = new TextEncoder().encode(await hotp(secret, step));
    if (timingSafeEqual(expected, offered) && matched === null) matched = step;
  }
  return matched;
}

/** Key URI Format (the QR code apps scan): otpauth://totp/Issuer:account?secret=...&issuer=... */
export function otpauthUri(secret: Uint8Array, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const params = new URLSearchParams({
    secret: base32Encode(secret),
    issuer,
    algorithm: 'SHA1',
    digits: String(TOTP.digits),
    period: String(TOTP.stepSeconds),
  });
  return `otpauth://totp/${label}?${params.toString().replace(/\+/g, '%20')}`;
}

/** The URI as an SVG QR code for the enrolment page: one unit per module, a 4-module quiet zone. */
export const qrSvg = (uri: string) => renderSVG(uri, { pixelSize: 1, border: 4 });
