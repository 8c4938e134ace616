// The parsing the worker used before src/passkeys/parse.ts, kept as the reference for the
// differential tests: @oslojs/webauthn and @oslojs/cbor (still installed, for tests only) with
// the COSE-key-to-JWK conversion webauthn.ts had on top of them, verbatim in what it accepts.
// Both sides are reduced to the same plain shape (what the checks and the storage read), so a
// test compares what the two parsers say, not how they say it.
import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor';
import * as oslo from '@oslojs/webauthn';
import { base64url } from 'jose';
import type { AuthenticatorData } from '../../src/passkeys/parse';
import {
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientData,
} from '../../src/passkeys/parse';
import { toJwk, WebAuthnRefusal } from '../../src/passkeys/webauthn';

export type Outcome = { ok: true; value: unknown } | { ok: false; reason: string };

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

type Plain = {
  rpIdHash: Uint8Array;
  userPresent: boolean;
  userVerified: boolean;
  backupEligible: boolean;
  backedUp: boolean;
  signCount: number;
  credential: { aaguid: Uint8Array; id: Uint8Array; key: unknown } | null;
};
const plain = (d: Plain) => ({
  rpIdHash: hex(d.rpIdHash),
  up: d.userPresent,
  uv: d.userVerified,
  be: d.backupEligible,
  bs: d.backedUp,
  signCount: d.signCount,
  credential: d.credential && {
    aaguid: hex(d.credential.aaguid),
    id: hex(d.credential.id),
    key: d.credential.key,
  },
});

/** Ours: anything but a WebAuthnRefusal escapes, and fails the test that called. */
function ours(run: () => unknown): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    if (err instanceof WebAuthnRefusal) return { ok: false, reason: err.message };
    throw err;
  }
}
function theirs(run: () => unknown): Outcome {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    return { ok: false, reason: String(err) };
  }
}

const ourPlain = (d: AuthenticatorData) =>
  plain({
    ...d,
    credential: d.credential && { ...d.credential, key: toJwk(d.credential.publicKey) },
  });

export const ourAuthenticatorData = (bytes: Uint8Array) =>
  ours(() => ourPlain(parseAuthenticatorData(bytes)));

export const ourAttestationObject = (bytes: Uint8Array) =>
  ours(() => {
    const { fmt, authenticatorData } = parseAttestationObject(bytes);
    return { fmt, ...ourPlain(authenticatorData) };
  });

export const ourClientData = (bytes: Uint8Array) => ours(() => parseClientData(bytes));

/** The authData bytes, as the old readAttestation read them for the BE and BS flags. */
const authenticatorDataOf = (bytes: Uint8Array) =>
  (decodeCBORToNativeValueNoLeftoverBytes(bytes, 4) as { authData: Uint8Array }).authData;

const osloPlain = (d: oslo.AuthenticatorData, flags: number) =>
  plain({
    rpIdHash: d.relyingPartyIdHash,
    userPresent: d.userPresent,
    userVerified: d.userVerified,
    backupEligible: (flags & 0x08) !== 0,
    backedUp: (flags & 0x10) !== 0,
    // @oslojs/binary reads the counter as a signed 32-bit integer, negative from 2^31 (the worker
    // then stored a negative counter); §6.1 makes it unsigned, as parse.ts reads it. Compared
    // unsigned; parser-hostile.test.ts pins the difference.
    signCount: d.signatureCounter >>> 0,
    credential: d.credential && {
      aaguid: d.credential.authenticatorAAGUID,
      id: d.credential.id,
      key: osloJwk(d.credential.publicKey),
    },
  });

export const osloAuthenticatorData = (bytes: Uint8Array) =>
  theirs(() => osloPlain(oslo.parseAuthenticatorData(bytes), bytes[32]!));

const FORMAT_NAMES = {
  [oslo.AttestationStatementFormat.Packed]: 'packed',
  [oslo.AttestationStatementFormat.TPM]: 'tpm',
  [oslo.AttestationStatementFormat.AndroidKey]: 'android-key',
  [oslo.AttestationStatementFormat.AndroidSafetyNet]: 'android-safetynet',
  [oslo.AttestationStatementFormat.FIDOU2F]: 'fido-u2f',
  [oslo.AttestationStatementFormat.AppleAnonymous]: 'apple',
  [oslo.AttestationStatementFormat.None]: 'none',
};

export const osloAttestationObject = (bytes: Uint8Array) =>
  theirs(() => {
    const parsed = oslo.parseAttestationObject(bytes);
    const raw = authenticatorDataOf(bytes);
    return {
      fmt: FORMAT_NAMES[parsed.attestationStatement.format],
      ...osloPlain(parsed.authenticatorData, raw[32]!),
    };
  });

/** The old checkClientData's reading: the challenge re-encoded from the decoded bytes. */
export const osloClientData = (bytes: Uint8Array) =>
  theirs(() => {
    const data = oslo.parseClientDataJSON(bytes);
    return {
      type: data.type === oslo.ClientDataType.Get ? 'webauthn.get' : 'webauthn.create',
      challenge: base64url.encode(data.challenge),
      origin: data.origin,
      crossOrigin: data.crossOrigin,
    };
  });

export const osloAssertionMessage = oslo.createAssertionSignatureMessage;

// webauthn.ts's toJwk before this change, on @oslojs/webauthn's COSEPublicKey (its refusals
// are thrown as errors here).
const bigBytes = (n: bigint, size: number) => {
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  if (n !== 0n) throw new Error('key coordinate too large');
  return out;
};
const bigB64url = (n: bigint) =>
  base64url.encode(bigBytes(n, Math.ceil(n.toString(16).length / 2)));

function osloJwk(key: oslo.COSEPublicKey): { jwk: JsonWebKey; algorithm: number } {
  const type = key.type();
  const algorithm = key.algorithm();
  if (algorithm === oslo.coseAlgorithmES256 && type === oslo.COSEKeyType.EC2) {
    const ec = key.ec2();
    if (ec.curve !== oslo.coseEllipticCurveP256) throw new Error('ES256 key not on P-256');
    const x = base64url.encode(bigBytes(ec.x, 32));
    const y = base64url.encode(bigBytes(ec.y, 32));
    return { jwk: { kty: 'EC', crv: 'P-256', x, y }, algorithm };
  }
  if (algorithm === oslo.coseAlgorithmEdDSA && type === oslo.COSEKeyType.OKP) {
    const okp = key.okp();
    if (okp.curve !== oslo.coseEllipticCurveEd25519 || okp.x.length !== 32) {
      throw new Error('not Ed25519');
    }
    return { jwk: { kty: 'OKP', crv: 'Ed25519', x: base64url.encode(okp.x) }, algorithm };
  }
  if (algorithm === oslo.coseAlgorithmRS256 && type === oslo.COSEKeyType.RSA) {
    const rsa = key.rsa();
    const bits = rsa.n.toString(2).length;
    if (bits < 2048 || bits > 4096) throw new Error('RSA key not 2048 to 4096 bits');
    if (rsa.e !== 65537n) throw new Error('RSA exponent other than 65537');
    return { jwk: { kty: 'RSA', n: bigB64url(rsa.n), e: bigB64url(rsa.e) }, algorithm };
  }
  throw new Error(`algorithm not accepted: ${algorithm}`);
}
