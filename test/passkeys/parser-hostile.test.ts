// Hostile input for src/passkeys/cbor.ts and parse.ts: truncations, lengths beyond the end,
// indefinite lengths, deep nesting, trailing bytes, wrong types, huge lengths, repeated keys,
// over-long credential ids and flags that disagree with the content. Each is a WebAuthnRefusal
// (CBORError inside the decoder) naming the fault, never another exception; through the routes,
// the same 400/401 invalid_passkey as any other refusal, with nothing stored.
import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor';
import * as oslo from '@oslojs/webauthn';
import { env } from 'cloudflare:workers';
import { base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { CBORError, decodeCBOR, decodeCBORExactly } from '../../src/passkeys/cbor';
import {
  parseAttestationObject,
  parseAuthenticatorData,
  parseClientData,
} from '../../src/passkeys/parse';
import { readAttestation, WebAuthnRefusal } from '../../src/passkeys/webauthn';
import { expectProblem } from '../helpers';
import { Authenticator, b64url, cbor } from './authenticator.mjs';
import { countRows, creationOptions, post, requestOptions, signedIn, withPasskey } from './helpers';

const of = (...parts: (number | number[] | Uint8Array)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const text = (s: string) => new TextEncoder().encode(s);
const sha256 = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', text(s)));

function refusedBy(run: () => unknown, fault: string) {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(WebAuthnRefusal);
    expect((err as Error).message).toContain(fault);
    return;
  }
  expect.fail(`accepted, expected a refusal for ${fault}`);
}

function cborRefuses(input: Uint8Array, fault: string, maxDepth = 4) {
  expect(() => decodeCBOR(input, 0, maxDepth)).toThrow(CBORError);
  expect(() => decodeCBOR(input, 0, maxDepth)).toThrow(fault);
}

describe('the CBOR decoder', () => {
  it('refuses indefinite lengths (which @oslojs/cbor accepted) and a lone break', () => {
    for (const input of [
      of(0x5f, 0x41, 0x00, 0xff), // byte string in chunks
      of(0x7f, 0x61, 0x61, 0xff), // text string in chunks
      of(0x9f, 0x01, 0xff), // array
      of(0xbf, 0x61, 0x61, 0x01, 0xff), // map
    ]) {
      cborRefuses(input, 'indefinite length');
      expect(decodeCBORToNativeValueNoLeftoverBytes(input, 4)).toBeDefined();
    }
    cborRefuses(of(0xff), 'break outside an indefinite length');
  });

  it('refuses tags, floats, undefined, other simple values and reserved encodings', () => {
    cborRefuses(of(0xc0, 0x61, 0x61), 'tag');
    cborRefuses(of(0xd8, 0x18, 0x40), 'tag');
    cborRefuses(of(0xf9, 0x3c, 0x00), 'float or simple value');
    cborRefuses(of(0xfa, 0, 0, 0, 0), 'float or simple value');
    cborRefuses(of(0xfb, 0, 0, 0, 0, 0, 0, 0, 0), 'float or simple value');
    cborRefuses(of(0xf7), 'float or simple value');
    cborRefuses(of(0xf8, 0x20), 'float or simple value');
    for (const initial of [0x1c, 0x1d, 0x1e, 0x5c, 0xbe]) {
      cborRefuses(of(initial), 'reserved additional information');
    }
    expect(decodeCBORExactly(of(0x83, 0xf4, 0xf5, 0xf6))).toEqual([false, true, null]);
  });

  it('checks every length against the bytes left before reading or allocating', () => {
    cborRefuses(of(0x59, 0xff, 0xff, 0x00), 'length beyond the end');
    cborRefuses(of(0x7a, 0xff, 0xff, 0xff, 0xff), 'length beyond the end');
    cborRefuses(of(0x9a, 0xff, 0xff, 0xff, 0xff, 0x00), 'length beyond the end');
    cborRefuses(of(0xba, 0x00, 0x01, 0x00, 0x00, 0x01, 0x01), 'length beyond the end');
    // 2^40 bytes declared, a few present: refused at once, nothing allocated.
    cborRefuses(of(0x5b, 0, 0, 1, 0, 0, 0, 0, 0, 0x00), 'length beyond the end');
    cborRefuses(of(0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 'integer too large');
    cborRefuses(of(0x19, 0x01), 'truncated');
    cborRefuses(of(), 'truncated');
  });

  it('refuses every truncation of a nested item', () => {
    const whole = cbor(
      new Map<number, Uint8Array | number | Map<string, string>>([
        [1, text('ab')],
        [-2, -300],
        [3, new Map([['a', 'b']])],
      ]),
    );
    expect(decodeCBORExactly(whole)).toBeInstanceOf(Map);
    for (let end = 0; end < whole.length; end++) {
      expect(() => decodeCBOR(whole.subarray(0, end))).toThrow(CBORError);
    }
  });

  it('stops at the nesting bound, also for 100 000 nested arrays (no stack overflow)', () => {
    expect(decodeCBORExactly(of(0x81, 0x81, 0x81, 0x81, 0x00))).toEqual([[[[0]]]]);
    cborRefuses(of(0x81, 0x81, 0x81, 0x81, 0x81, 0x00), 'nested too deeply');
    cborRefuses(of(new Array(100_000).fill(0x81), 0x00), 'nested too deeply');
    cborRefuses(of(new Array(100_000).fill(0xa1), 0x00), 'nested too deeply');
  });

  it('refuses repeated keys, keys of mixed types and keys that are neither integer nor text', () => {
    cborRefuses(of(0xa2, 0x01, 0x00, 0x01, 0x00), 'duplicate map key');
    cborRefuses(of(0xa2, 0x61, 0x61, 0x00, 0x61, 0x61, 0x01), 'duplicate map key');
    // One and "1" were the same key to @oslojs/cbor; here a map is all integers or all text.
    cborRefuses(of(0xa2, 0x01, 0x00, 0x61, 0x31, 0x00), 'map keys of mixed types');
    cborRefuses(of(0xa1, 0x40, 0x00), 'map key of another type');
    cborRefuses(of(0xa1, 0x80, 0x00), 'map key of another type');
  });

  it('reads integers exactly up to 2^53 and refuses larger ones', () => {
    const max = of(0x1b, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    expect(decodeCBORExactly(max)).toBe(Number.MAX_SAFE_INTEGER);
    cborRefuses(of(0x1b, 0x00, 0x20, 0, 0, 0, 0, 0, 0), 'integer too large');
    cborRefuses(of(0x3b, 0xff, 0, 0, 0, 0, 0, 0, 0), 'integer too large');
    expect(decodeCBORExactly(of(0x38, 0xff))).toBe(-256);
    // Not the shortest form, which CTAP2 asks for but nothing here depends on: read.
    expect(decodeCBORExactly(of(0x18, 0x01))).toBe(1);
  });

  it('refuses text that is not UTF-8, keeps a byte-order mark, refuses trailing bytes', () => {
    cborRefuses(of(0x62, 0xc3, 0x28), 'text is not UTF-8');
    expect(decodeCBORExactly(of(0x66, 0xef, 0xbb, 0xbf, ...text('fmt')))).toBe('\ufefffmt');
    expect(() => decodeCBORExactly(of(0x00, 0x00))).toThrow('trailing bytes');
  });
});

const RP_ID = 'localhost';
const UP_UV = 0x05;
const AT = 0x40;
const ED = 0x80;
const ec2Key = (
  x: Uint8Array = new Uint8Array(32).fill(1),
  y: Uint8Array = new Uint8Array(32).fill(2),
) =>
  cbor(
    new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, x],
      [-3, y],
    ]),
  );
const attested = (id: Uint8Array, key: Uint8Array = ec2Key()) =>
  of(new Uint8Array(16).fill(0xaa), id.length >> 8, id.length & 0xff, id, key);
const credProtect = cbor(new Map([['credProtect', 2]]));
async function authData(flags: number, ...rest: Uint8Array[]) {
  return of(await sha256(RP_ID), flags, 0, 0, 0, 7, ...rest);
}

describe('authenticator data', () => {
  it('reads every part the flags announce: credential, then extensions', async () => {
    const id = new Uint8Array(20).fill(9);
    const data = parseAuthenticatorData(
      await authData(UP_UV | 0x18 | AT | ED, attested(id), credProtect),
    );
    expect(data).toMatchObject({
      userPresent: true,
      userVerified: true,
      backupEligible: true,
      backedUp: true,
      signCount: 7,
      credential: { id, aaguid: new Uint8Array(16).fill(0xaa) },
      extensions: new Map([['credProtect', 2]]),
    });
    expect(data.credential!.publicKey.get(3)).toBe(-7);
  });

  it('refuses anything shorter than 37 bytes', async () => {
    const whole = await authData(UP_UV);
    for (let end = 0; end < 37; end++) {
      refusedBy(() => parseAuthenticatorData(whole.subarray(0, end)), 'shorter than 37 bytes');
    }
  });

  it('refuses every truncation of attested credential data and extensions', async () => {
    const whole = await authData(UP_UV | AT | ED, attested(new Uint8Array(16)), credProtect);
    parseAuthenticatorData(whole);
    for (let end = 37; end < whole.length; end++) {
      refusedBy(
        () => parseAuthenticatorData(whole.subarray(0, end)),
        'authenticatorData is not valid',
      );
    }
  });

  it('refuses flags that disagree with the content', async () => {
    const credential = attested(new Uint8Array(16));
    // AT without attested credential data; a credential id or key cut short.
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0)),
      'attested credential data truncated',
    );
    refusedBy(
      () =>
        parseAuthenticatorData(
          of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0, new Uint8Array(16), 0x01, 0x00, 1, 2),
        ),
      'credential id beyond the end',
    );
    refusedBy(
      () =>
        parseAuthenticatorData(
          of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0, new Uint8Array(16), 0, 1, 9),
        ),
      'credential public key: truncated',
    );
    // Attested credential data without AT (the library read past it).
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV, 0, 0, 0, 0, credential)),
      'trailing bytes',
    );
    expect(
      oslo.parseAuthenticatorData(of(new Uint8Array(32), UP_UV, 0, 0, 0, 0, credential)).credential,
    ).toBeNull();
    // ED without extensions; extensions without ED (the library never read them).
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV | ED, 0, 0, 0, 0)),
      'extensions: truncated',
    );
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV | AT | ED, 0, 0, 0, 0, credential)),
      'extensions: truncated',
    );
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV, 0, 0, 0, 0, credProtect)),
      'trailing bytes',
    );
    refusedBy(
      () =>
        parseAuthenticatorData(
          of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0, credential, credProtect),
        ),
      'trailing bytes',
    );
    // A byte after the last announced part.
    refusedBy(
      () => parseAuthenticatorData(of(new Uint8Array(32), UP_UV, 0, 0, 0, 0, 0)),
      'trailing bytes',
    );
    refusedBy(
      () =>
        parseAuthenticatorData(
          of(new Uint8Array(32), UP_UV | AT | ED, 0, 0, 0, 0, credential, credProtect, 0),
        ),
      'trailing bytes',
    );
  });

  it('refuses a key or extensions of the wrong shape', async () => {
    const header = of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0);
    const withKey = (key: Uint8Array) => of(header, new Uint8Array(16), 0, 1, 9, key);
    refusedBy(
      () => parseAuthenticatorData(withKey(of(0x82, 0x01, 0x02))),
      'credential public key: not a map',
    );
    refusedBy(
      () => parseAuthenticatorData(withKey(cbor(new Map([['kty', 2]])))),
      'credential public key: keys of another type',
    );
    refusedBy(
      () => parseAuthenticatorData(withKey(of(0xbf, 0x01, 0x02, 0xff))),
      'credential public key: indefinite length',
    );
    refusedBy(
      () => parseAuthenticatorData(withKey(of(0xa2, 0x01, 0x02, 0x01, 0x02))),
      'credential public key: duplicate map key',
    );
    const withExtensions = (extensions: Uint8Array) =>
      of(new Uint8Array(32), UP_UV | ED, 0, 0, 0, 0, extensions);
    refusedBy(() => parseAuthenticatorData(withExtensions(of(0x80))), 'extensions: not a map');
    refusedBy(
      () => parseAuthenticatorData(withExtensions(cbor(new Map([[1, 2]])))),
      'extensions: keys of another type',
    );
    expect(parseAuthenticatorData(withExtensions(of(0xa0))).extensions).toEqual(new Map());
  });

  it('reads the counter unsigned (@oslojs/binary read it negative from 2^31)', () => {
    const data = of(new Uint8Array(32), UP_UV, 0xef, 0x00, 0x00, 0x02);
    expect(parseAuthenticatorData(data).signCount).toBe(0xef000002);
    expect(oslo.parseAuthenticatorData(data).signatureCounter).toBe(0xef000002 | 0);
  });
});

/** An attestation object with its three members encoded as given (raw CBOR each). */
const attestation = (
  fmt: Uint8Array,
  attStmt: Uint8Array,
  data: Uint8Array,
  extra: number[] = [],
) => of(0xa3, cbor('fmt'), fmt, cbor('attStmt'), attStmt, cbor('authData'), data, extra);

describe('the attestation object', () => {
  it('accepts every registered statement format, as before (statements are not verified)', async () => {
    const data = cbor(await authData(UP_UV | AT, attested(new Uint8Array(16))));
    for (const fmt of [
      'none',
      'packed',
      'tpm',
      'android-key',
      'android-safetynet',
      'fido-u2f',
      'apple',
    ]) {
      expect(parseAttestationObject(attestation(cbor(fmt), of(0xa0), data)).fmt).toBe(fmt);
    }
    refusedBy(() => parseAttestationObject(attestation(cbor('compound'), of(0xa0), data)), 'fmt');
    refusedBy(() => parseAttestationObject(attestation(cbor(text('none')), of(0xa0), data)), 'fmt');
  });

  it('refuses every truncation, and trailing bytes', async () => {
    const whole = attestation(
      cbor('none'),
      of(0xa0),
      cbor(await authData(UP_UV | AT, attested(new Uint8Array(16)))),
    );
    parseAttestationObject(whole);
    for (let end = 0; end < whole.length; end++) {
      refusedBy(
        () => parseAttestationObject(whole.subarray(0, end)),
        'attestationObject is not valid',
      );
    }
    refusedBy(() => parseAttestationObject(of(whole, 0x00)), 'trailing bytes');
  });

  it('refuses wrong types, repeated members, deep nesting and huge lengths', async () => {
    const data = cbor(await authData(UP_UV | AT, attested(new Uint8Array(16))));
    refusedBy(() => parseAttestationObject(of(0x83, cbor('none'), 0xa0, data)), 'not a map');
    refusedBy(() => parseAttestationObject(attestation(cbor('none'), of(0x80), data)), 'attStmt');
    // The library took an array for attStmt.
    expect(oslo.parseAttestationObject(attestation(cbor('none'), of(0x80), data))).toBeDefined();
    refusedBy(
      () => parseAttestationObject(attestation(cbor('none'), of(0xa0), cbor('data'))),
      'authData',
    );
    refusedBy(
      () => parseAttestationObject(attestation(cbor('none'), of(0xbf, 0xff), data)),
      'indefinite length',
    );
    const repeated = of(
      0xa4,
      cbor('fmt'),
      cbor('none'),
      cbor('fmt'),
      cbor('packed'),
      cbor('attStmt'),
      0xa0,
      cbor('authData'),
      data,
    );
    refusedBy(() => parseAttestationObject(repeated), 'duplicate map key');
    const deep = of(0xa1, cbor('x5c'), 0x81, 0x81, 0x81, 0x40);
    refusedBy(
      () => parseAttestationObject(attestation(cbor('packed'), deep, data)),
      'nested too deeply',
    );
    const huge = of(0x5b, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2, 3);
    refusedBy(
      () => parseAttestationObject(attestation(cbor('none'), of(0xa0), huge)),
      'length beyond the end',
    );
    // A member in the authenticator data is refused as such.
    refusedBy(
      () =>
        parseAttestationObject(
          attestation(cbor('none'), of(0xa0), cbor(of(new Uint8Array(32), UP_UV | AT, 0, 0, 0, 0))),
        ),
      'authenticatorData is not valid: attested credential data truncated',
    );
  });

  it('refuses a credential id longer than 1023 bytes at registration (§7.1 step 22)', async () => {
    const keys = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey;
    const key = ec2Key(base64url.decode(jwk.x!), base64url.decode(jwk.y!));
    const rp = { id: RP_ID, origins: ['http://localhost'] };
    const register = async (length: number) => {
      const id = new Uint8Array(length).fill(3);
      const object = attestation(
        cbor('none'),
        of(0xa0),
        cbor(await authData(UP_UV | AT, attested(id, key))),
      );
      expect(parseAttestationObject(object).authenticatorData.credential!.id.length).toBe(length);
      return readAttestation(rp, b64url(object), b64url(id));
    };
    await expect(register(1023)).resolves.toMatchObject({ algorithm: -7 });
    await expect(register(1024)).rejects.toThrow('credential id too long');
    await expect(register(65535)).rejects.toThrow('credential id too long');
  });
});

describe('client data', () => {
  const json = (value: unknown) => text(JSON.stringify(value));
  const valid = { type: 'webauthn.get', challenge: 'AAEC', origin: 'https://a.example' };

  it('reads type, challenge, origin and crossOrigin', () => {
    expect(parseClientData(json(valid))).toEqual({ ...valid, crossOrigin: false });
    expect(
      parseClientData(json({ ...valid, crossOrigin: true, topOrigin: 'https://b.example' })),
    ).toMatchObject({ crossOrigin: true });
    // Level 3 leaves tokenBinding unread (reserved, never used here).
    expect(parseClientData(json({ ...valid, tokenBinding: 7 }))).toMatchObject({
      origin: valid.origin,
    });
  });

  it('refuses what is not a client data object', () => {
    for (const input of [
      text('{'),
      text('[]'),
      text('null'),
      text('"x"'),
      of(0xff, 0xfe),
      of(0xef, 0xbb, 0xbf, ...json(valid)),
    ]) {
      refusedBy(() => parseClientData(input), 'clientDataJSON is not valid');
    }
    refusedBy(
      () =>
        parseClientData(
          of(...text('{"type":"webauthn.get","origin":"\u00e9'), 0xc3, ...text('"}')),
        ),
      'clientDataJSON is not valid',
    );
  });

  it('refuses a missing or mistyped member, and a challenge not in canonical base64url', () => {
    refusedBy(() => parseClientData(json({ ...valid, type: 'payment.get' })), 'type');
    refusedBy(() => parseClientData(json({ ...valid, type: undefined })), 'type');
    refusedBy(() => parseClientData(json({ ...valid, challenge: 42 })), 'challenge');
    refusedBy(() => parseClientData(json({ ...valid, origin: ['https://a.example'] })), 'origin');
    refusedBy(() => parseClientData(json({ ...valid, crossOrigin: 'false' })), 'crossOrigin');
    for (const challenge of ['AAEC=', 'AA+C', 'AA/C', 'AAF', 'A', ' AAEC']) {
      refusedBy(() => parseClientData(json({ ...valid, challenge })), 'challenge is not base64url');
    }
  });
});

describe('malformed responses through the routes: invalid_passkey, never 500, nothing stored', () => {
  it('registration: 400 for each malformed attestation object, and for a credential id over 1023 bytes', async () => {
    const { tokens, user } = await signedIn();
    const authenticator = new Authenticator(env.ISSUER);
    const valid = async () => {
      const { json } = await authenticator.create(await creationOptions(tokens.access_token));
      return {
        json,
        object: base64url.decode(json.response.attestationObject),
      };
    };
    const hostile: ((object: Uint8Array) => Uint8Array)[] = [
      (o) => o.subarray(0, o.length - 1), // truncated
      (o) => of(o, 0x00), // trailing byte
      (o) => of(0xbf, o.subarray(1), 0xff), // indefinite-length map
      (o) => of(0xa4, cbor('fmt'), cbor('none'), o.subarray(1)), // fmt twice
      (o) =>
        of(
          o.subarray(0, 1),
          cbor('fmt'),
          cbor('none'),
          cbor('attStmt'),
          0x81,
          0x81,
          0x81,
          0x81,
          0x40,
          o.subarray(20),
        ), // deep
      () => attestation(cbor('none'), of(0xa0), of(0x5b, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)), // huge length
    ];
    for (const edit of hostile) {
      const { json, object } = await valid();
      json.response.attestationObject = b64url(edit(object));
      await expectProblem(
        await post('/users/me/passkeys', { response: json }, tokens.access_token),
        400,
        'invalid_passkey',
      );
    }
    const long = new Authenticator(env.ISSUER, undefined, b64url(new Uint8Array(1024).fill(5)));
    const { json } = await long.create(await creationOptions(tokens.access_token));
    await expectProblem(
      await post('/users/me/passkeys', { response: json }, tokens.access_token),
      400,
      'invalid_passkey',
    );
    expect(await countRows('passkeys', 'user_id = ?', user.id)).toBe(0);
  });

  it('sign-in: 401 for malformed authenticator data, audited with the fault, no session', async () => {
    const { authenticator, user } = await withPasskey();
    const hostile: [string, (data: Uint8Array) => Uint8Array][] = [
      ['shorter than 37 bytes', (d) => d.subarray(0, 36)],
      ['extensions: truncated', (d) => of(d.subarray(0, 32), d[32]! | ED, d.subarray(33))],
      [
        'attested credential data truncated',
        (d) => of(d.subarray(0, 32), d[32]! | AT, d.subarray(33)),
      ],
      ['trailing bytes', (d) => of(d, 0xa0)],
    ];
    for (const [fault, edit] of hostile) {
      const response = await authenticator.get(await requestOptions());
      const data = base64url.decode(response.response.authenticatorData);
      response.response.authenticatorData = b64url(edit(data));
      await expectProblem(await post('/auth/passkey/verify', { response }), 401, 'invalid_passkey');
      const audited = "type = 'passkey.refused' AND user_id = ? AND detail LIKE ?";
      expect(await countRows('audit_events', audited, user.id, `%${fault}%`)).toBe(1);
    }
    expect(
      await countRows(
        'audit_events',
        "type = 'login.succeeded' AND user_id = ? AND detail LIKE '%passkey%'",
        user.id,
      ),
    ).toBe(0);
  });
});
