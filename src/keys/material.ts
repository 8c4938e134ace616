import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { RsaPrivateJwk } from '../config';
import { open, seal, type SealingKey } from '../crypto/secret-box';
import type { SigningKeyRow } from '../db/schema';

export type PublicParts = { n: string; e: string };
export class KeyDecryptionError extends Error {}

const PRIVATE_MEMBERS = ['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The sealed value is bound to its kid: a private key copied onto another row does not open. */
const context = (kid: string) => `signing-key:${kid}`;

/** A fresh RSA-2048 key pair from WebCrypto; the kid is its RFC 7638 thumbprint. */
export async function generateRsaKey(): Promise<RsaPrivateJwk> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey('jwk', pair.privateKey)) as JsonWebKey;
  const parts = Object.fromEntries(PRIVATE_MEMBERS.map((m) => [m, jwk[m]!]));
  const kid = await calculateJwkThumbprint({ kty: 'RSA', n: parts.n!, e: parts.e! });
  return { kty: 'RSA', kid, ...parts } as RsaPrivateJwk;
}

/** What a row stores of a private JWK: the public parts in clear, the whole key sealed. */
export async function sealKey(ring: SealingKey[], jwk: RsaPrivateJwk) {
  const parts = Object.fromEntries(PRIVATE_MEMBERS.map((m) => [m, jwk[m]]));
  const sealed = await seal(ring, encoder.encode(JSON.stringify(parts)), context(jwk.kid));
  return {
    publicJwk: JSON.stringify({ n: jwk.n, e: jwk.e } satisfies PublicParts),
    privateSealed: sealed.ciphertext,
    sealingVersion: sealed.version,
  };
}

// Opening and importing a private key costs an AES-GCM and an RSA import: once per isolate per
// key, keyed by the sealing ring too, so another KEY_ENCRYPTION_KEY never reuses a result.
const privateKeys = new Map<string, Promise<CryptoKey>>();

/** The row's private key as a signing CryptoKey; a wrong KEY_ENCRYPTION_KEY is a clear error. */
export function privateKeyOf(ring: SealingKey[], row: SigningKeyRow): Promise<CryptoKey> {
  const cacheKey = `${row.kid}\n${row.sealingVersion}\n${ring.map((k) => k.key).join(',')}`;
  let key = privateKeys.get(cacheKey);
  if (!key) {
    key = openKey(ring, row);
    privateKeys.set(cacheKey, key);
    key.catch(() => privateKeys.delete(cacheKey));
  }
  return key;
}

async function openKey(ring: SealingKey[], row: SigningKeyRow): Promise<CryptoKey> {
  if (!row.privateSealed || row.sealingVersion === null) {
    throw new KeyDecryptionError(`signing key ${row.kid} has no private key`);
  }
  let plain: Uint8Array;
  try {
    plain = await open(
      ring,
      { ciphertext: row.privateSealed, version: row.sealingVersion },
      context(row.kid),
    );
  } catch (err) {
    // AES-GCM says only "OperationError": name the likely cause for the operator's log.
    throw new KeyDecryptionError(
      `signing key ${row.kid} does not open with KEY_ENCRYPTION_KEY (wrong or rotated-out key?): ${String(err)}`,
    );
  }
  const parts = JSON.parse(decoder.decode(plain)) as Record<string, string>;
  return (await importJWK({ kty: 'RSA', alg: 'RS256', ...parts } as JWK, 'RS256')) as CryptoKey;
}

export function publicPartsOf(row: SigningKeyRow): PublicParts {
  return JSON.parse(row.publicJwk!) as PublicParts;
}
