// A software WebAuthn authenticator and client for the tests: it builds what a browser hands the
// page (PublicKeyCredential.toJSON()) from real keys, CBOR and signatures, written here from the
// specification (WebAuthn Level 3 §6.1, §6.5; CTAP2 CBOR; RFC 9053 COSE keys), so the worker's
// checks are exercised byte for byte. Each knob breaks one thing a hostile client could send.
// Plain JavaScript, so the end-to-end suite runs it in Node against `npm run dev` too; the
// Chromium virtual authenticator (e2e phase passkeys) is the real counterpart.
const enc = new TextEncoder();
export const b64url = (bytes) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const fromB64url = (s) =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0));
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
};
function head(major, n) {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 256) return Uint8Array.of((major << 5) | 24, n);
  if (n < 65536) return Uint8Array.of((major << 5) | 25, n >> 8, n & 255);
  return Uint8Array.of((major << 5) | 26, n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255);
}
export function cbor(value) {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string')
    return concat(head(3, enc.encode(value).length), enc.encode(value));
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  const entries = [...value.entries()].map(([k, v]) => concat(cbor(k), cbor(v)));
  return concat(head(5, value.size), ...entries);
}
/** An ECDSA signature as DER (SEQUENCE of two INTEGERs), from WebCrypto's raw r‖s. */
function rawToDer(raw) {
  const int = (bytes) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = bytes.subarray(i);
    if (v[0] & 0x80) v = concat(Uint8Array.of(0), v);
    return concat(Uint8Array.of(0x02, v.length), v);
  };
  const body = concat(int(raw.subarray(0, 32)), int(raw.subarray(32)));
  return concat(Uint8Array.of(0x30, body.length), body);
}
async function coseKey(algorithm, publicKey) {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey);
  if (algorithm === 'ES256') {
    return cbor(
      new Map([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromB64url(jwk.x)],
        [-3, fromB64url(jwk.y)],
      ]),
    );
  }
  if (algorithm === 'EdDSA') {
    return cbor(
      new Map([
        [1, 1],
        [3, -8],
        [-1, 6],
        [-2, fromB64url(jwk.x)],
      ]),
    );
  }
  return cbor(
    new Map([
      [1, 3],
      [3, -257],
      [-1, fromB64url(jwk.n)],
      [-2, fromB64url(jwk.e)],
    ]),
  );
}
const GENERATE = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  EdDSA: { name: 'Ed25519' },
  RS256: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
};
async function sign(algorithm, key, message) {
  if (algorithm === 'ES256') {
    const raw = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, message);
    return rawToDer(new Uint8Array(raw));
  }
  const name = algorithm === 'EdDSA' ? 'Ed25519' : 'RSASSA-PKCS1-v1_5';
  return new Uint8Array(await crypto.subtle.sign({ name }, key, message));
}
async function authenticatorData(rpId, knobs, counter, attested) {
  const flags =
    ((knobs.userPresent ?? true) ? 0x01 : 0) |
    ((knobs.userVerified ?? true) ? 0x04 : 0) |
    ((knobs.backupEligible ?? true) ? 0x08 : 0) |
    ((knobs.backedUp ?? true) ? 0x10 : 0) |
    (attested ? 0x40 : 0);
  const count = Uint8Array.of(
    counter >>> 24,
    (counter >> 16) & 255,
    (counter >> 8) & 255,
    counter & 255,
  );
  return concat(
    await sha256(enc.encode(rpId)),
    Uint8Array.of(flags),
    count,
    attested ?? new Uint8Array(),
  );
}
function clientData(type, challenge, origin, knobs) {
  const data = {
    type: knobs.type ?? type,
    challenge: knobs.challenge ?? challenge,
    origin: knobs.origin ?? origin,
  };
  if (knobs.crossOrigin !== undefined) data.crossOrigin = knobs.crossOrigin;
  return enc.encode(JSON.stringify(data));
}
/** One authenticator holding discoverable credentials for one origin. */
export class Authenticator {
  origin;
  rpId;
  fixedId;
  credentials = [];
  constructor(
    origin,
    rpId = new URL(origin).hostname,
    /** A fixed credential id (base64url) for the next credential, as a hostile client could. */
    fixedId,
  ) {
    this.origin = origin;
    this.rpId = rpId;
    this.fixedId = fixedId;
  }
  /** Changes the COSE public key bytes before they are attested (a broken or hostile key). */
  tamperKey = undefined;
  tampered(cose) {
    this.tamperKey?.(cose);
    return cose;
  }
  /** navigator.credentials.create() with the worker's creation options. */
  async create(options, knobs = {}, algorithm = 'ES256') {
    const keys = await crypto.subtle.generateKey(GENERATE[algorithm], true, ['sign', 'verify']);
    const id = this.fixedId ? fromB64url(this.fixedId) : crypto.getRandomValues(new Uint8Array(32));
    const counter = knobs.signCount ?? 0;
    const credential = {
      id,
      algorithm,
      keys,
      userHandle: options.user.id,
      signCount: counter,
    };
    const attested = concat(
      new Uint8Array(16),
      Uint8Array.of(id.length >> 8, id.length & 255),
      id,
      this.tampered(await coseKey(algorithm, keys.publicKey)),
    );
    const authData = await authenticatorData(knobs.rpId ?? this.rpId, knobs, counter, attested);
    const attestationObject = cbor(
      new Map([
        ['fmt', knobs.fmt ?? 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    this.credentials.push(credential);
    return {
      credential,
      json: {
        id: b64url(id),
        rawId: b64url(id),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(
            clientData('webauthn.create', options.challenge, this.origin, knobs),
          ),
          attestationObject: b64url(attestationObject),
          transports: ['internal', 'hybrid'],
        },
        clientExtensionResults: { credProps: { rk: true } },
        authenticatorAttachment: 'platform',
      },
    };
  }
  /** navigator.credentials.get() with the worker's request options, for one credential. */
  async get(options, credential = this.credentials[0], knobs = {}) {
    const counter = knobs.signCount ?? credential.signCount + 1;
    credential.signCount = counter;
    const authData = await authenticatorData(knobs.rpId ?? this.rpId, knobs, counter);
    const client = clientData('webauthn.get', options.challenge, this.origin, knobs);
    const signer = knobs.wrongKey
      ? (await crypto.subtle.generateKey(GENERATE[credential.algorithm], false, ['sign']))
          .privateKey
      : credential.keys.privateKey;
    const signature = await sign(
      credential.algorithm,
      signer,
      concat(authData, await sha256(client)),
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(client),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
