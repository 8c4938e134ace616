import { base64url } from 'jose';
import type { CBORMap } from './cbor';
import {
  ClientDataType,
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientData,
  decode,
  type AuthenticatorData,
} from './parse';
import { refuse, WebAuthnRefusal } from './refusal';

export const b64url = (bytes: Uint8Array) => base64url.encode(bytes);

// The WebAuthn Level 3 checks (§7.1 registration, §7.2 authentication) that do not need
// storage. parse.ts reads the client data, the authenticator data and the attestation object
// (its own strict CBOR decoder, cbor.ts, refuses anything malformed); every decision is made
// here, one named check each, and signatures are verified with WebCrypto. Attestation
// statements are not verified: we ask for `attestation: "none"` and trust no authenticator make,
// so a statement proves nothing we use.

// COSE algorithms and key parameters (IANA "COSE Algorithms", "COSE Key Types", RFC 9053).
const ES256 = -7;
const EDDSA = -8;
const RS256 = -257;
const KTY_OKP = 1;
const KTY_EC2 = 2;
const KTY_RSA = 3;
const CRV_P256 = 1;
const CRV_ED25519 = 6;

/** The algorithms we accept, most preferred first (pubKeyCredParams). */
export const ALGORITHMS = [EDDSA, ES256, RS256];

export type RelyingParty = { id: string; origins: readonly string[] };

/** What the ceremony checks against: where it may come from and the challenge it must carry. */
type Expected = RelyingParty & { type: ClientDataType };

/**
 * clientDataJSON: the ceremony's type, an allowed origin, not from a cross-origin frame. Returns
 * the challenge it carries (base64url), for the caller to spend.
 */
export function checkClientData(expected: Expected, clientDataJSON: string) {
  const bytes = decode('clientDataJSON', clientDataJSON);
  const data = parseClientData(bytes);
  if (data.type !== expected.type) refuse('wrong ceremony type');
  if (!expected.origins.includes(data.origin)) {
    refuse(`origin not allowed: ${data.origin.slice(0, 100)}`);
  }
  if (data.crossOrigin) refuse('cross-origin frame');
  return { challenge: data.challenge, bytes };
}

const sha256 = async (bytes: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));

/** The RP id hash, user presence and user verification (required: a passkey is two factors). */
async function checkAuthenticatorData(rp: RelyingParty, data: AuthenticatorData) {
  const expected = await sha256(new TextEncoder().encode(rp.id));
  if (!expected.every((byte, i) => data.rpIdHash[i] === byte)) refuse('wrong relying party id');
  if (!data.userPresent) refuse('user not present');
  if (!data.userVerified) refuse('user not verified');
}

/** Backup eligibility (BE) and state (BS). */
function backupFlags({ backupEligible, backedUp }: AuthenticatorData) {
  // §6.1: BS without BE is invalid.
  if (backedUp && !backupEligible) refuse('backup state without eligibility');
  return { backupEligible, backedUp };
}

export type NewCredential = {
  credentialId: string;
  publicKey: JsonWebKey;
  algorithm: number;
  signCount: number;
  backupEligible: boolean;
  backedUp: boolean;
  aaguid: string;
};

/** A registration's attestation object, after its client data was checked (§7.1 steps 12-26). */
export async function readAttestation(
  rp: RelyingParty,
  attestationObject: string,
  claimedId: string,
): Promise<NewCredential> {
  const raw = decode('attestationObject', attestationObject);
  const data = parseAttestationObject(raw).authenticatorData;
  await checkAuthenticatorData(rp, data);
  const credential = data.credential ?? refuse('no attested credential');
  const credentialId = b64url(credential.id);
  if (credential.id.length > 1023) refuse('credential id too long');
  if (credentialId !== claimedId) refuse('credential id differs from the response id');
  const { jwk, algorithm } = toJwk(credential.publicKey);
  // A key WebCrypto will not take (a point off the curve) is refused now, not at every sign-in.
  await importVerifyKey({ publicKey: jwk, algorithm });
  return {
    credentialId,
    publicKey: jwk,
    algorithm,
    signCount: data.signCount,
    ...backupFlags(data),
    aaguid: aaguidString(credential.aaguid),
  };
}

function aaguidString(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The credential's COSE key (RFC 9053 §7: labels 1 kty, 3 alg, -1 crv or n, -2 x or e, -3 y) as
 * a JWK WebCrypto can import, for one of ALGORITHMS only.
 */
export function toJwk(key: CBORMap): { jwk: JsonWebKey; algorithm: number } {
  const type = key.get(1);
  const algorithm = key.get(3);
  if (typeof type !== 'number' || typeof algorithm !== 'number') {
    return refuse('COSE key without type or algorithm');
  }
  // Label -4 is the private part (d) of EC2, OKP and RSA keys alike: never in a public key.
  if (key.has(-4)) refuse('COSE key with a private part');
  const bytes = (label: number, length?: number) => {
    const value = key.get(label);
    const valid = value instanceof Uint8Array && (length === undefined || value.length === length);
    return valid ? value : refuse('COSE key is not valid');
  };
  const curve = key.get(-1);
  if (algorithm === ES256 && type === KTY_EC2) {
    if (typeof curve !== 'number') refuse('COSE key is not valid');
    const [x, y] = [bytes(-2, 32), bytes(-3, 32)];
    if (curve !== CRV_P256) refuse('ES256 key not on P-256');
    return { jwk: { kty: 'EC', crv: 'P-256', x: b64url(x), y: b64url(y) }, algorithm };
  }
  if (algorithm === EDDSA && type === KTY_OKP) {
    if (typeof curve !== 'number') refuse('COSE key is not valid');
    const x = bytes(-2);
    if (curve !== CRV_ED25519 || x.length !== 32) refuse('not Ed25519');
    return { jwk: { kty: 'OKP', crv: 'Ed25519', x: b64url(x) }, algorithm };
  }
  if (algorithm === RS256 && type === KTY_RSA) {
    // n of 256 bytes and e of 3, as the parser before this one (@oslojs/webauthn) required.
    const [n, e] = [bytes(-1, 256), bytes(-2, 3)];
    const first = n.findIndex((byte) => byte !== 0);
    const bits = first < 0 ? 0 : (n.length - first) * 8 - (Math.clz32(n[first]!) - 24);
    if (bits < 2048 || bits > 4096) refuse('RSA key not 2048 to 4096 bits');
    if (e[0] !== 1 || e[1] !== 0 || e[2] !== 1) refuse('RSA exponent other than 65537');
    return { jwk: { kty: 'RSA', n: b64url(n.subarray(first)), e: 'AQAB' }, algorithm };
  }
  return refuse(`algorithm not accepted: ${algorithm}`);
}

const IMPORT: Record<number, Parameters<SubtleCrypto['importKey']>[2]> = {
  [ES256]: { name: 'ECDSA', namedCurve: 'P-256' },
  [EDDSA]: { name: 'Ed25519' },
  [RS256]: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
};
const VERIFY: Record<number, Parameters<SubtleCrypto['verify']>[0]> = {
  [ES256]: { name: 'ECDSA', hash: 'SHA-256' },
  [EDDSA]: { name: 'Ed25519' },
  [RS256]: { name: 'RSASSA-PKCS1-v1_5' },
};

/**
 * An ECDSA signature in its DER form (SEQUENCE of two INTEGERs), strictly parsed, as the fixed
 * 64-byte r‖s WebCrypto verifies.
 */
export function derToRaw(der: Uint8Array): Uint8Array {
  let at = 0;
  const next = () => der[at++] ?? refuse('truncated signature');
  if (next() !== 0x30 || next() !== der.length - 2) refuse('signature is not a DER sequence');
  const out = new Uint8Array(64);
  for (const offset of [0, 32]) {
    if (next() !== 0x02) refuse('signature part is not an INTEGER');
    const length = next();
    if (length < 1 || length > 33 || at + length > der.length) refuse('bad INTEGER length');
    let value = der.subarray(at, at + length);
    at += length;
    // Minimal encoding: one leading zero only to keep a high bit positive.
    if (value.length > 1 && value[0] === 0 && (value[1]! & 0x80) === 0) refuse('non-minimal');
    if ((value[0]! & 0x80) !== 0) refuse('negative INTEGER');
    if (value[0] === 0) value = value.subarray(1);
    if (value.length > 32) refuse('INTEGER too large');
    out.set(value, offset + 32 - value.length);
  }
  if (at !== der.length) refuse('trailing bytes after the signature');
  return out;
}

export type StoredKey = { publicKey: JsonWebKey; algorithm: number };

async function importVerifyKey(key: StoredKey): Promise<CryptoKey> {
  const importAs = IMPORT[key.algorithm] ?? refuse('algorithm unknown');
  try {
    return await crypto.subtle.importKey('jwk', key.publicKey, importAs, false, ['verify']);
  } catch {
    return refuse('public key not accepted by WebCrypto');
  }
}

/** §7.2 step 20: what the authenticator signed, authenticatorData ‖ SHA-256(clientDataJSON). */
export async function assertionMessage(authenticatorData: Uint8Array, clientData: Uint8Array) {
  const hash = await sha256(clientData);
  const message = new Uint8Array(authenticatorData.length + hash.length);
  message.set(authenticatorData);
  message.set(hash, authenticatorData.length);
  return message;
}

/** §7.2 steps 15-21: the assertion's authenticator data, then its signature with the stored key. */
export async function checkAssertion(
  rp: RelyingParty,
  key: StoredKey,
  authenticatorDataB64: string,
  clientDataBytes: Uint8Array,
  signatureB64: string,
) {
  const authenticatorData = decode('authenticatorData', authenticatorDataB64);
  const data = parseAuthenticatorData(authenticatorData);
  await checkAuthenticatorData(rp, data);
  const flags = backupFlags(data);
  const cryptoKey = await importVerifyKey(key);
  let signature = decode('signature', signatureB64);
  if (key.algorithm === ES256) signature = derToRaw(signature);
  // workerd throws (not false) for an Ed25519 signature of another length.
  if (key.algorithm === EDDSA && signature.length !== 64) refuse('bad signature');
  const message = await assertionMessage(authenticatorData, clientDataBytes);
  let valid = false;
  try {
    valid = await crypto.subtle.verify(VERIFY[key.algorithm]!, cryptoKey, signature, message);
  } catch {
    // refused below: anything a client sends is a refusal, never a 500
  }
  if (!valid) refuse('signature does not verify');
  return { signCount: data.signCount, ...flags };
}

export { ClientDataType, WebAuthnRefusal };
