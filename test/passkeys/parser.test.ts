// src/passkeys/parse.ts and cbor.ts on what real authenticators send: Chromium's virtual
// authenticators (fixtures/chromium.json, made by fixtures/capture-chromium.mjs), and published
// outputs of real devices (fixtures/published.json: SimpleWebAuthn's test fixtures from Windows
// Hello, Android, Apple, YubiKeys and others; @oslojs/webauthn's own vector; two authenticators
// with extension outputs from bug reports). Then a differential test against the parser the
// worker used before (@oslojs/webauthn, reference.ts) on those and on random mutations of them.
import { base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  assertionMessage,
  checkAssertion,
  checkClientData,
  ClientDataType,
  readAttestation,
} from '../../src/passkeys/webauthn';
import chromium from './fixtures/chromium.json';
import published from './fixtures/published.json';
import {
  osloAssertionMessage,
  osloAttestationObject,
  osloAuthenticatorData,
  osloClientData,
  ourAttestationObject,
  ourAuthenticatorData,
  ourClientData,
  type Outcome,
} from './reference';

const bytes = (b64url: string) => base64url.decode(b64url);

describe("Chromium's virtual authenticators, through the worker's checks", () => {
  it.each(chromium.map((f) => [f.source.replace(/ \{.*/, ''), f.options, f] as const))(
    '%s %j: registers, then its assertion verifies',
    async (_source, options, fixture) => {
      const rp = { id: fixture.rpId, origins: [fixture.origin] };
      const { registration, authentication } = fixture;
      const created = checkClientData(
        { ...rp, type: ClientDataType.Create },
        registration.response.clientDataJSON,
      );
      expect(created.challenge).toMatch(/^[\w-]{43}$/);
      const register = readAttestation(
        rp,
        registration.response.attestationObject,
        registration.id,
      );
      const got = checkClientData(
        { ...rp, type: ClientDataType.Get },
        authentication.response.clientDataJSON,
      );
      if (options.uv === 'discouraged') {
        // A U2F key cannot verify its user: refused at both ceremonies, as it was before.
        await expect(register).rejects.toThrow('user not verified');
        return;
      }
      const credential = await register;
      expect(credential).toMatchObject({
        credentialId: registration.id,
        algorithm: options.alg,
        signCount: expect.any(Number),
      });
      // The public key Chromium reports (SPKI) is the one read from the COSE key.
      const spki = await crypto.subtle.importKey(
        'spki',
        bytes(registration.response.publicKey!),
        importParams(options.alg),
        true,
        ['verify'],
      );
      const exported = (await crypto.subtle.exportKey('jwk', spki)) as JsonWebKey;
      for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e'] as const) {
        expect(credential.publicKey[member]).toBe(exported[member]);
      }
      const asserted = await checkAssertion(
        rp,
        credential,
        authentication.response.authenticatorData,
        got.bytes,
        authentication.response.signature,
      );
      expect(asserted.signCount).toBeGreaterThanOrEqual(credential.signCount);
      // The same response is refused for another RP id, and with another client data.
      const elsewhere = { ...rp, id: 'example.com' };
      await expect(
        checkAssertion(
          elsewhere,
          credential,
          authentication.response.authenticatorData,
          got.bytes,
          authentication.response.signature,
        ),
      ).rejects.toThrow('wrong relying party id');
      await expect(
        checkAssertion(
          rp,
          credential,
          authentication.response.authenticatorData,
          created.bytes,
          authentication.response.signature,
        ),
      ).rejects.toThrow('signature does not verify');
    },
  );
});

function importParams(alg: number) {
  if (alg === -7) return { name: 'ECDSA', namedCurve: 'P-256' };
  if (alg === -8) return { name: 'Ed25519' };
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
}

/** Every real output, as [label, kind, bytes]. */
type Kind = 'attestationObject' | 'authenticatorData' | 'clientDataJSON';
const REAL: [string, Kind, Uint8Array][] = [
  ...chromium.flatMap(
    (f) =>
      [
        [
          `${f.source.slice(0, 60)} create`,
          'attestationObject',
          bytes(f.registration.response.attestationObject),
        ],
        [
          `${f.source.slice(0, 60)} create`,
          'authenticatorData',
          bytes(f.registration.response.authenticatorData),
        ],
        [
          `${f.source.slice(0, 60)} create`,
          'clientDataJSON',
          bytes(f.registration.response.clientDataJSON),
        ],
        [
          `${f.source.slice(0, 60)} get`,
          'authenticatorData',
          bytes(f.authentication.response.authenticatorData),
        ],
        [
          `${f.source.slice(0, 60)} get`,
          'clientDataJSON',
          bytes(f.authentication.response.clientDataJSON),
        ],
      ] as [string, Kind, Uint8Array][],
  ),
  ...published.flatMap((v) =>
    (['attestationObject', 'authenticatorData', 'clientDataJSON'] as const)
      .filter((kind) => kind in v)
      .map(
        (kind) =>
          [v.source, kind, bytes((v as Partial<Record<Kind, string>>)[kind]!)] as [
            string,
            Kind,
            Uint8Array,
          ],
      ),
  ),
];

const PARSERS: Record<
  Kind,
  { ours: (b: Uint8Array) => Outcome; oslo: (b: Uint8Array) => Outcome }
> = {
  attestationObject: { ours: ourAttestationObject, oslo: osloAttestationObject },
  authenticatorData: { ours: ourAuthenticatorData, oslo: osloAuthenticatorData },
  clientDataJSON: { ours: ourClientData, oslo: osloClientData },
};

describe('real authenticator outputs: the same reading as @oslojs/webauthn', () => {
  it('has outputs of every kind, and of every key algorithm the worker accepts', () => {
    const kinds = new Set(REAL.map(([, kind]) => kind));
    expect([...kinds].sort()).toEqual(['attestationObject', 'authenticatorData', 'clientDataJSON']);
    const algorithms = new Set(
      REAL.map(([, kind, b]) => PARSERS[kind].ours(b))
        .filter(
          (o): o is { ok: true; value: { credential: { key: { algorithm: number } } } } =>
            o.ok && !!(o.value as { credential?: unknown }).credential,
        )
        .map((o) => o.value.credential.key.algorithm),
    );
    expect([...algorithms].sort((a, b) => a - b)).toEqual([-257, -8, -7]);
  });

  it.each(REAL)('%s: %s', (_label, kind, input) => {
    const ours = PARSERS[kind].ours(input);
    const theirs = PARSERS[kind].oslo(input);
    expect(ours).toEqual(theirs.ok ? theirs : { ok: false, reason: expect.any(String) });
  });
});

/**
 * Where this parser refuses what @oslojs/webauthn took, on purpose (each a rule of WebAuthn or
 * CTAP2 that the library did not enforce). Anything else that only one side refuses fails.
 */
const STRICTER = [
  'trailing bytes', // §6.1: nothing after the last part the flags announce
  'extensions:', // §6.1: ED's extensions map is CBOR too (the library never read it)
  'indefinite length', // CTAP2 canonical CBOR: definite lengths only
  'break outside an indefinite length',
  ': tag', // CTAP2 canonical CBOR has no tags; WebAuthn uses none
  'float or simple value', // none in WebAuthn structures (false, true, null aside)
  'keys of mixed types', // COSE labels are integers, attestation and extension names text
  'keys of another type',
  'integer too large', // no WebAuthn integer needs more than 53 bits
  'attStmt', // §6.5.4: attStmt is a map (the library took an array)
  'COSE key with a private part', // label -4 never belongs in a credential public key
  'challenge is not base64url', // §5.8.1: the challenge in its one unpadded base64url form
  'clientDataJSON is not valid', // fatal UTF-8, no BOM: what the library repaired
];

/** A small seeded generator, so that a failure names a seed that reproduces it. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { below: (n: number) => Math.floor(next() * n) };
}

// Bytes that start the CBOR this parser refuses and the library did not, or that end items.
const SPECIAL = [0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0xc0, 0xd8, 0xf7, 0xf9, 0xfa, 0x1b, 0x3b, 0xa0];

/** One to three edits: a bit flipped, a byte changed, inserted or removed, the end cut. */
function mutate(input: Uint8Array, random: ReturnType<typeof generator>) {
  let out = input.slice();
  for (let edits = 1 + random.below(3); edits > 0; edits--) {
    const at = random.below(out.length + 1);
    const op = random.below(7);
    if (op === 0 && at < out.length) out[at] = out[at]! ^ (1 << random.below(8));
    else if (op === 1 && at < out.length) out[at] = random.below(256);
    else if (op === 2)
      out = Uint8Array.of(...out.subarray(0, at), random.below(256), ...out.subarray(at));
    else if (op === 3) out = Uint8Array.of(...out.subarray(0, at), ...out.subarray(at + 1));
    else if (op === 4) out = out.slice(0, at);
    else if (op === 5)
      out = Uint8Array.of(
        ...out.subarray(0, at),
        SPECIAL[random.below(SPECIAL.length)]!,
        ...out.subarray(at),
      );
    // The flags byte of authenticator data, where the structure of the rest is decided.
    else if (out.length > 32) out[32] = random.below(256);
  }
  return out;
}

describe('differential against @oslojs/webauthn on mutated real outputs', () => {
  const RUNS = 300;
  it.each(REAL)('%s: %s', (label, kind, input) => {
    const random = generator(
      [...label, kind].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261),
    );
    const seen = { both: 0, neither: 0, stricter: 0 };
    for (let run = 0; run < RUNS; run++) {
      const mutated = mutate(input, random);
      const ours = PARSERS[kind].ours(mutated);
      const theirs = PARSERS[kind].oslo(mutated);
      const where = `run ${run}: ${base64url.encode(mutated)}`;
      if (ours.ok) {
        // Whatever this parser accepts, the library accepted, and read the same way.
        expect(theirs, where).toEqual(ours);
        seen.both++;
      } else if (theirs.ok) {
        expect(
          STRICTER.some((rule) => ours.reason.includes(rule)),
          `${where}: ${ours.reason}`,
        ).toBe(true);
        seen.stricter++;
      } else {
        seen.neither++;
      }
    }
    expect(seen.both + seen.neither + seen.stricter).toBe(RUNS);
    // Most mutations break the structure; some must leave it whole (a counter byte, a key byte).
    expect(seen.neither).toBeGreaterThan(0);
  });

  it('builds the assertion signature message as the library did', async () => {
    for (const f of chromium) {
      const authenticatorData = bytes(f.authentication.response.authenticatorData);
      const clientData = bytes(f.authentication.response.clientDataJSON);
      expect(await assertionMessage(authenticatorData, clientData)).toEqual(
        osloAssertionMessage(authenticatorData, clientData),
      );
    }
  });
});
