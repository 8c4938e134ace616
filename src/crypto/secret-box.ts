import { base64url } from 'jose';

export type SealingKey = { version: number; key: string };
export type Sealed = { ciphertext: string; version: number };

const keys = new Map<string, Promise<CryptoKey>>();
function importKey(raw: string): Promise<CryptoKey> {
  let key = keys.get(raw);
  if (!key) {
    key = crypto.subtle.importKey('raw', base64url.decode(raw), 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    keys.set(raw, key);
  }
  return key;
}

const encoder = new TextEncoder();

/**
 * AES-256-GCM with a random 96-bit IV, under the first (current) key. `context` is bound as
 * additional data (the user id), so a sealed value copied onto another row does not open.
 */
export async function seal(
  ring: SealingKey[],
  plaintext: Uint8Array,
  context: string,
): Promise<Sealed> {
  const current = ring[0]!;
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
    await importKey(current.key),
    plaintext,
  );
  const out = new Uint8Array(iv.length + ct.byteLength);
  out.set(iv);
  out.set(new Uint8Array(ct), iv.length);
  return { ciphertext: base64url.encode(out), version: current.version };
}

/** Opens a value sealed under any key still in the ring; throws if it was tampered with. */
export async function open(
  ring: SealingKey[],
  sealed: Sealed,
  context: string,
): Promise<Uint8Array> {
  const key = ring.find((k) => k.version === sealed.version);
  if (!key) throw new Error(`no sealing key version ${sealed.version}`);
  const bytes = base64url.decode(sealed.ciphertext);
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: encoder.encode(context) },
    await importKey(key.key),
    bytes.slice(12),
  );
  return new Uint8Array(plain);
}
