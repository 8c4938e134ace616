import { base64url } from 'jose';

const encoder = new TextEncoder();

/** An opaque secret token: `bytes` of CSPRNG output, base64url without padding. */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** SHA-256 as base64url: what we store instead of any bearer secret. */
export async function sha256(value: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(value));
  return base64url.encode(new Uint8Array(digest));
}

const hmacKeys = new Map<string, Promise<CryptoKey>>();

/**
 * HMAC-SHA-256 under a key derived from `secret` for one `purpose` (HKDF-style domain
 * separation), so one configured secret never serves two uses with the same key.
 */
export async function hmac(secret: string, purpose: string, message: string): Promise<Uint8Array> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let key = hmacKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const master = await crypto.subtle.importKey('raw', encoder.encode(secret), 'HKDF', false, [
        'deriveKey',
      ]);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode(purpose) },
        master,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign'],
      );
    })();
    hmacKeys.set(cacheKey, key);
  }
  return new Uint8Array(await crypto.subtle.sign('HMAC', await key, encoder.encode(message)));
}

/** Constant-time equality of two byte strings; lengths are compared first (they are not secret). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  // Workers' timingSafeEqual throws on a length mismatch: callers compare fixed-size digests.
  if (a.byteLength !== b.byteLength) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}

/** RFC 9562 UUIDv7: time-ordered, so ids double as stable pagination cursors. */
export function uuidv7(now = Date.now()): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
