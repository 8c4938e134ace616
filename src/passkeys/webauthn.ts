import {
  ClientDataType,
  COSEKeyType,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
  createAssertionSignatureMessage,
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientDataJSON,
  type AuthenticatorData,
  type COSEPublicKey,
} from '@oslojs/webauthn';
import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor';
import { base64url } from 'jose';

export const b64url = (bytes: Uint8Array) => base64url.encode(bytes);

// The WebAuthn Level 3 checks (§7.1 registration, §7.2 authentication) that do not need
// storage. @oslojs/webauthn parses the CBOR, the authenticator data and the COSE key (its
// parsers refuse malformed input); every decision is made here, one named check each, and
// signatures are verified with WebCrypto. Attestation statements are not verified: we ask for
// `attestation: "none"` and trust no authenticator make, so a statement proves nothing we use.

/** Why a WebAuthn response is refused; logged and audited, never shown beyond `invalid_passkey`. */
export class WebAuthnRefusal extends Error {}

const refuse = (why: string): never => {
  throw new WebAuthnRefusal(why);
};

/** The algorithms we accept, most preferred first (pubKeyCredParams). */
export const ALGORITHMS = [coseAlgorithmEdDSA, coseAlgorithmES256, coseAlgorithmRS256];

export type RelyingParty = { id: string; origins: readonly string[] };

/** What the ceremony checks against: where it may come from and the challenge it must carry. */
type Expected = RelyingParty & { type: ClientDataType };

/** base64url without padding, in its one canonical form (no other characters, no loose bits). */
export function decode(field: string, value: string): Uint8Array {
  let bytes: Uint8Array | undefined;
  try {
    bytes = base64url.decode(value);
  } catch {
    // refused below
  }
  if (!bytes || base64url.encode(bytes) !== value) refuse(`${field} is not base64url`);
  return bytes!;
}

/**
 * clientDataJSON: the ceremony's type, an allowed origin, not from a cross-origin frame. Returns
 * the challenge it carries (base64url), for the caller to spend.
 */
export function checkClientData(expected: Expected, clientDataJSON: string) {
  const bytes = decode('clientDataJSON', clientDataJSON);
  let data;
  try {
    data = parseClientDataJSON(bytes);
  } catch {
    return refuse('clientDataJSON is not valid');
  }
  if (data.type !== expected.type) refuse('wrong ceremony type');
  if (!expected.origins.includes(data.origin)) {
    refuse(`origin not allowed: ${data.origin.slice(0, 100)}`);
  }
  if (data.crossOrigin) refuse('cross-origin frame');
  return { challenge: b64url(data.challenge), bytes };
}

/** The RP id hash, user presence and user verification (required: a passkey is two factors). */
function checkAuthenticatorData(rp: RelyingParty, data: AuthenticatorData) {
  if (!data.verifyRelyingPartyIdHash(rp.id)) refuse('wrong relying party id');
  if (!data.userPresent) refuse('user not present');
  if (!data.userVerified) refuse('user not verified');
}

/** Backup eligibility (BE, bit 3) and state (BS, bit 4) of the flags byte, which oslo leaves. */
function backupFlags(authenticatorData: Uint8Array) {
  const flags = authenticatorData[32] ?? 0;
  const backupEligible = (flags & 0x08) !== 0;
  const backedUp = (flags & 0x10) !== 0;
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
  let parsed;
  let authData: unknown;
  try {
    parsed = parseAttestationObject(raw);
    authData = (decodeCBORToNativeValueNoLeftoverBytes(raw, 4) as { authData?: unknown }).authData;
  } catch {
    return refuse('attestationObject is not valid');
  }
  if (!(authData instanceof Uint8Array)) return refuse('attestationObject is not valid');
  const data = parsed.authenticatorData;
  checkAuthenticatorData(rp, data);
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
    signCount: data.signatureCounter,
    ...backupFlags(authData),
    aaguid: aaguidString(credential.authenticatorAAGUID),
  };
}

function aaguidString(bytes: Uint8Array): string {
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const bigBytes = (n: bigint, size: number) => {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  if (n !== 0n) refuse('key coordinate too large');
  return out;
};
const bigB64url = (n: bigint) => {
  const hex = n.toString(16);
  return b64url(bigBytes(n, Math.ceil(hex.length / 2)));
};

/** The credential's COSE key as a JWK WebCrypto can import, for one of ALGORITHMS only. */
function toJwk(key: COSEPublicKey): { jwk: JsonWebKey; algorithm: number } {
  let type: COSEKeyType;
  let algorithm: number;
  try {
    type = key.type();
    algorithm = key.algorithm();
  } catch {
    return refuse('COSE key without type or algorithm');
  }
  try {
    if (algorithm === coseAlgorithmES256 && type === COSEKeyType.EC2) {
      const ec = key.ec2();
      if (ec.curve !== coseEllipticCurveP256) refuse('ES256 key not on P-256');
      const x = b64url(bigBytes(ec.x, 32));
      const y = b64url(bigBytes(ec.y, 32));
      return { jwk: { kty: 'EC', crv: 'P-256', x, y }, algorithm };
    }
    if (algorithm === coseAlgorithmEdDSA && type === COSEKeyType.OKP) {
      const okp = key.okp();
      if (okp.curve !== coseEllipticCurveEd25519 || okp.x.length !== 32) refuse('not Ed25519');
      return { jwk: { kty: 'OKP', crv: 'Ed25519', x: b64url(okp.x) }, algorithm };
    }
    if (algorithm === coseAlgorithmRS256 && type === COSEKeyType.RSA) {
      const rsa = key.rsa();
      const bits = rsa.n.toString(2).length;
      if (bits < 2048 || bits > 4096) refuse('RSA key not 2048 to 4096 bits');
      if (rsa.e !== 65537n) refuse('RSA exponent other than 65537');
      return { jwk: { kty: 'RSA', n: bigB64url(rsa.n), e: bigB64url(rsa.e) }, algorithm };
    }
  } catch (err) {
    if (err instanceof WebAuthnRefusal) throw err;
    return refuse('COSE key is not valid');
  }
  return refuse(`algorithm not accepted: ${algorithm}`);
}

const IMPORT: Record<number, Parameters<SubtleCrypto['importKey']>[2]> = {
  [coseAlgorithmES256]: { name: 'ECDSA', namedCurve: 'P-256' },
  [coseAlgorithmEdDSA]: { name: 'Ed25519' },
  [coseAlgorithmRS256]: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
};
const VERIFY: Record<number, Parameters<SubtleCrypto['verify']>[0]> = {
  [coseAlgorithmES256]: { name: 'ECDSA', hash: 'SHA-256' },
  [coseAlgorithmEdDSA]: { name: 'Ed25519' },
  [coseAlgorithmRS256]: { name: 'RSASSA-PKCS1-v1_5' },
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

/** §7.2 steps 15-21: the assertion's authenticator data, then its signature with the stored key. */
export async function checkAssertion(
  rp: RelyingParty,
  key: StoredKey,
  authenticatorDataB64: string,
  clientDataBytes: Uint8Array,
  signatureB64: string,
) {
  const authenticatorData = decode('authenticatorData', authenticatorDataB64);
  let data;
  try {
    data = parseAuthenticatorData(authenticatorData);
  } catch {
    return refuse('authenticatorData is not valid');
  }
  checkAuthenticatorData(rp, data);
  const flags = backupFlags(authenticatorData);
  const cryptoKey = await importVerifyKey(key);
  let signature = decode('signature', signatureB64);
  if (key.algorithm === coseAlgorithmES256) signature = derToRaw(signature);
  // workerd throws (not false) for an Ed25519 signature of another length.
  if (key.algorithm === coseAlgorithmEdDSA && signature.length !== 64) refuse('bad signature');
  const message = createAssertionSignatureMessage(authenticatorData, clientDataBytes);
  let valid = false;
  try {
    valid = await crypto.subtle.verify(VERIFY[key.algorithm]!, cryptoKey, signature, message);
  } catch {
    // refused below: anything a client sends is a refusal, never a 500
  }
  if (!valid) refuse('signature does not verify');
  return { signCount: data.signatureCounter, ...flags };
}

export { ClientDataType };
