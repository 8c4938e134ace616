import { base64url } from 'jose';
import { CBORError, decodeCBOR, decodeCBORExactly, type CBORMap } from './cbor';
import { refuse } from './refusal';

// The three structures of a WebAuthn response, parsed strictly (WebAuthn Level 3 §5.8.1, §6.1,
// §6.5): what they say, with no judgement on it. The checks are webauthn.ts's; here anything
// malformed is a WebAuthnRefusal naming the structure and the fault, never another exception.

export const ClientDataType = { Get: 'webauthn.get', Create: 'webauthn.create' } as const;
export type ClientDataType = (typeof ClientDataType)[keyof typeof ClientDataType];

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

// Fatal and BOM-keeping, as in cbor.ts: what is not plain UTF-8 JSON is refused, not repaired.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * CollectedClientData (§5.8.1). The challenge stays the base64url text the browser wrote, which
 * must be canonical: it is what the challenge is looked up by. tokenBinding is not read (Level 3
 * keeps the member only so that it is not reused; nothing here ever used it).
 */
export function parseClientData(bytes: Uint8Array) {
  let data: unknown;
  try {
    data = JSON.parse(utf8.decode(bytes));
  } catch {
    return refuse('clientDataJSON is not valid');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return refuse('clientDataJSON is not valid');
  }
  const { type, challenge, origin, crossOrigin = false } = data as Record<string, unknown>;
  if (type !== ClientDataType.Get && type !== ClientDataType.Create) {
    return refuse('clientDataJSON is not valid: type');
  }
  if (typeof challenge !== 'string') return refuse('clientDataJSON is not valid: challenge');
  decode('challenge', challenge);
  if (typeof origin !== 'string') return refuse('clientDataJSON is not valid: origin');
  if (typeof crossOrigin !== 'boolean') return refuse('clientDataJSON is not valid: crossOrigin');
  return { type, challenge, origin, crossOrigin };
}

export type AttestedCredential = { aaguid: Uint8Array; id: Uint8Array; publicKey: CBORMap };

export type AuthenticatorData = {
  rpIdHash: Uint8Array;
  userPresent: boolean;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  signCount: number;
  /** Present exactly when the AT flag is set. */
  credential: AttestedCredential | null;
  /** Present exactly when the ED flag is set: extension identifiers to their outputs. */
  extensions: CBORMap | null;
};

// §6.1 flags: UP bit 0, UV bit 2, BE bit 3, BS bit 4, AT bit 6, ED bit 7 (bits 1 and 5 are RFU).
const UP = 0x01;
const UV = 0x04;
const BE = 0x08;
const BS = 0x10;
const AT = 0x40;
const ED = 0x80;

/**
 * Authenticator data (§6.1): rpIdHash (32), flags (1), signCount (4), then the attested credential
 * data exactly when AT is set (aaguid 16, credentialIdLength 2, credentialId, the COSE key), then
 * the extensions map exactly when ED is set, then nothing: a flag without its part, a part
 * without its flag, or a byte more are all refused.
 */
export function parseAuthenticatorData(bytes: Uint8Array): AuthenticatorData {
  const invalid = (why: string) => refuse(`authenticatorData is not valid: ${why}`);
  if (bytes.length < 37) return invalid('shorter than 37 bytes');
  const flags = bytes[32]!;
  let at = 37;
  let credential: AttestedCredential | null = null;
  let extensions: CBORMap | null = null;
  /** The CBOR map that starts at `at`, whose keys are all of `keys`' type. */
  const map = (part: string, keys: 'number' | 'string') => {
    let value, end;
    try {
      [value, end] = decodeCBOR(bytes, at);
    } catch (err) {
      if (err instanceof CBORError) return invalid(`${part}: ${err.message}`);
      throw err;
    }
    at = end;
    if (!(value instanceof Map)) return invalid(`${part}: not a map`);
    // The decoder keeps one key type per map, so the first key tells (an empty map passes).
    const first = value.keys().next();
    if (!first.done && typeof first.value !== keys) return invalid(`${part}: keys of another type`);
    return value;
  };
  if (flags & AT) {
    if (bytes.length < at + 18) return invalid('attested credential data truncated');
    const aaguid = bytes.slice(at, at + 16);
    const idLength = (bytes[at + 16]! << 8) | bytes[at + 17]!;
    at += 18;
    if (idLength > bytes.length - at) return invalid('credential id beyond the end');
    const id = bytes.slice(at, at + idLength);
    at += idLength;
    // COSE_Key labels are integers here (RFC 9052 §7, for every key type WebAuthn uses).
    credential = { aaguid, id, publicKey: map('credential public key', 'number') };
  }
  // Extension outputs are keyed by their identifiers (§9): text.
  if (flags & ED) extensions = map('extensions', 'string');
  if (at !== bytes.length) return invalid('trailing bytes');
  return {
    rpIdHash: bytes.slice(0, 32),
    userPresent: (flags & UP) !== 0,
    userVerified: (flags & UV) !== 0,
    backupEligible: (flags & BE) !== 0,
    backedUp: (flags & BS) !== 0,
    signCount: ((bytes[33]! << 24) | (bytes[34]! << 16) | (bytes[35]! << 8) | bytes[36]!) >>> 0,
    credential,
    extensions,
  };
}

/**
 * The attestation statement formats of the IANA registry that a browser hands over (§8). The
 * statement is not verified (webauthn.ts says why), only required to be a map.
 */
const FORMATS = ['packed', 'tpm', 'android-key', 'android-safetynet', 'fido-u2f', 'apple', 'none'];

/** The attestation object (§6.5): a map of fmt, attStmt and authData, and nothing after it. */
export function parseAttestationObject(bytes: Uint8Array) {
  const invalid = (why: string) => refuse(`attestationObject is not valid: ${why}`);
  let object;
  try {
    object = decodeCBORExactly(bytes);
  } catch (err) {
    if (err instanceof CBORError) return invalid(err.message);
    throw err;
  }
  if (!(object instanceof Map)) return invalid('not a map');
  const fmt = object.get('fmt');
  if (typeof fmt !== 'string' || !FORMATS.includes(fmt)) return invalid('fmt');
  if (!(object.get('attStmt') instanceof Map)) return invalid('attStmt');
  const authData = object.get('authData');
  if (!(authData instanceof Uint8Array)) return invalid('authData');
  return { fmt, authenticatorData: parseAuthenticatorData(authData) };
}
