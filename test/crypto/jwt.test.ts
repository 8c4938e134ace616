import { env } from 'cloudflare:workers';
import {
  base64url,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
} from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { signAccessToken, verifyAccessToken } from '../../src/crypto/jwt';
import {
  config,
  foreignKey,
  handMade,
  hmacSign,
  nowSeconds,
  ourKey,
  signOurs,
  signWith,
  validClaims,
} from '../tokens';

const verify = (token: string, at = Date.now()) => verifyAccessToken(config(), token, at);

afterEach(() => vi.restoreAllMocks());

describe('access tokens', () => {
  it('round-trips a token we signed, with the RFC 9068 header', async () => {
    const token = await signAccessToken(
      config(),
      { userId: 'u1', sessionId: 's1', role: 'admin', emailVerified: true },
      Date.now(),
    );
    const header = JSON.parse(new TextDecoder().decode(base64url.decode(token.split('.')[0]!)));
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: ourKey().kid });
    const claims = await verify(token);
    expect(claims).toMatchObject({ sub: 'u1', sid: 's1', role: 'admin', email_verified: true });
    expect(claims!.exp - claims!.iat).toBe(config().ACCESS_TOKEN_TTL);
  });

  it('accepts a token signed by our key with valid claims (control for the attacks below)', async () => {
    expect(await verify(await signOurs())).not.toBeNull();
  });
});

describe('the verifier rejects', () => {
  it('a token signed by a foreign key that claims our kid', async () => {
    expect(await verify(await signWith(await foreignKey(), validClaims()))).toBeNull();
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('alg %s with an empty signature', async (alg) => {
    const token = await handMade(
      { alg, typ: 'at+jwt', kid: ourKey().kid },
      validClaims(),
      () => new Uint8Array(0),
    );
    expect(await verify(token)).toBeNull();
  });

  it('HS256 keyed with our public key (n, JWK JSON and the JWKS bytes)', async () => {
    const { n } = ourKey().jwk;
    const secrets = [
      base64url.decode(n),
      new TextEncoder().encode(n),
      new TextEncoder().encode(JSON.stringify({ kty: 'RSA', n, e: 'AQAB' })),
    ];
    for (const secret of secrets) {
      const token = await handMade(
        { alg: 'HS256', typ: 'at+jwt', kid: ourKey().kid },
        validClaims(),
        (i) => hmacSign(secret, i),
      );
      expect(await verify(token)).toBeNull();
    }
  });

  it.each([undefined, 'JWT', 'id+jwt', 'refresh+jwt', 'AT+JWT+x'])('typ %s', async (typ) => {
    expect(await verify(await signOurs(validClaims(), { typ }))).toBeNull();
  });

  it.each([
    ['wrong iss', { iss: 'https://evil.example' }],
    ['iss with a trailing slash', { iss: `${env.ISSUER}/` }],
    ['missing iss', { iss: undefined }],
    ['wrong aud', { aud: 'another-api' }],
    ['aud array without ours', { aud: ['a', 'b'] }],
    ['missing exp', { exp: undefined }],
    ['missing sid', { sid: undefined }],
    ['missing jti', { jti: undefined }],
    ['missing sub', { sub: undefined }],
    ['exp as a string', { exp: '9999999999' }],
    ['iat as a float', { iat: nowSeconds() + 0.5 }],
    ['unknown role', { role: 'root' }],
    ['email_verified as a string', { email_verified: 'true' }],
  ])('%s', async (_name, overrides) => {
    expect(await verify(await signOurs(validClaims(overrides)))).toBeNull();
  });

  it('an expired token, at and past the 30 s tolerance', async () => {
    const iat = nowSeconds() - 600;
    const past31 = await signOurs(validClaims({ iat, exp: nowSeconds() - 31 }));
    expect(await verify(past31)).toBeNull();
    const past29 = await signOurs(validClaims({ iat, exp: nowSeconds() - 29 }));
    expect(await verify(past29)).not.toBeNull();
  });

  it('iat in the future beyond the tolerance, or older than the token lifetime', async () => {
    const future = nowSeconds() + 31;
    expect(
      await verify(await signOurs(validClaims({ iat: future, exp: future + 900 }))),
    ).toBeNull();
    const old = nowSeconds() - 2 * config().ACCESS_TOKEN_TTL;
    expect(
      await verify(await signOurs(validClaims({ iat: old, exp: nowSeconds() + 60 }))),
    ).toBeNull();
  });

  it('nbf in the future beyond the tolerance', async () => {
    expect(await verify(await signOurs(validClaims({ nbf: nowSeconds() + 31 })))).toBeNull();
    expect(await verify(await signOurs(validClaims({ nbf: nowSeconds() + 29 })))).not.toBeNull();
  });

  it('a tampered payload (role escalated) and a flipped signature bit', async () => {
    const token = await signOurs();
    const [h, , s] = token.split('.');
    const evil = base64url.encode(JSON.stringify(validClaims({ role: 'admin' })));
    expect(await verify(`${h}.${evil}.${s}`)).toBeNull();
    const sig = base64url.decode(s!);
    sig[10]! ^= 1;
    expect(await verify(`${h}.${token.split('.')[1]}.${base64url.encode(sig)}`)).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['whitespace', '   '],
    ['two parts', 'a.b'],
    ['stripped signature', 'a.b.'],
    ['five parts', 'a.b.c.d.e'],
    ['not base64url', '***.***.***'],
    ['an opaque refresh token', base64url.encode(crypto.getRandomValues(new Uint8Array(32)))],
  ])('malformed input: %s', async (_name, token) => {
    expect(await verify(token)).toBeNull();
  });

  it('a valid token re-spelled in a non-canonical base64url (THREATS A17)', async () => {
    const token = await signOurs();
    expect(await verify(token)).not.toBeNull();
    const [h, p, sig] = token.split('.') as [string, string, string];
    // The same bytes, spelled otherwise: padding, a stray unused bit, standard base64.
    const lastBitsFlipped = (seg: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(seg.at(-1)!);
      return seg.slice(0, -1) + alphabet[last ^ 1];
    };
    const variants = [
      `${h}.${p}.${sig}==`,
      `${h}.${p}.${sig}=`,
      `${h}=.${p}.${sig}`,
      `${h}.${p}==.${sig}`,
      `${h}.${p}.${lastBitsFlipped(sig)}`,
      `${h}.${p}.${sig.replaceAll('-', '+').replaceAll('_', '/')}`,
      ` ${token}`,
      `${token}\n`,
    ];
    // The signature of a 2048-bit key is 256 bytes: 342 characters, the last one holding four
    // unused bits, so flipping the lowest one spells the same bytes.
    expect(base64url.decode(lastBitsFlipped(sig))).toEqual(base64url.decode(sig));
    for (const variant of variants.filter((v) => v !== token))
      expect(await verify(variant), variant.slice(-12)).toBeNull();
  });

  it.each([
    ['unknown kid', { kid: 'nope' }],
    ['missing kid', { kid: undefined }],
    ['numeric kid', { kid: 7 }],
    ['path kid', { kid: '../../dev/null' }],
    ['huge kid', { kid: 'k'.repeat(10_000) }],
  ])('%s', async (_name, header) => {
    expect(await verify(await signOurs(validClaims(), header))).toBeNull();
  });

  it('an unknown critical header parameter', async () => {
    const key = (await importJWK({ ...ourKey().jwk, alg: 'RS256' } as JWK, 'RS256')) as CryptoKey;
    const header = { alg: 'RS256', typ: 'at+jwt', kid: ourKey().kid, crit: ['foo'], foo: 1 };
    const token = await handMade(
      header,
      validClaims(),
      async (input) => new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, input)),
    );
    expect(await verify(token)).toBeNull();
  });

  it('a foreign key embedded as jwk or pointed to by jku/x5u, without fetching anything', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const attacker = await foreignKey();
    const headers = [
      { jwk: { kty: 'RSA', n: 'AQAB', e: 'AQAB' } },
      { jku: 'https://evil.example/jwks.json' },
      { x5u: 'https://evil.example/cert.pem' },
    ];
    for (const header of headers) {
      expect(await verify(await signWith(attacker, validClaims(), header))).toBeNull();
    }
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('the verifier, on algorithms, numbers and encodings', () => {
  it.each(['RS384', 'PS256'])('rejects %s even when signed by our own RSA key', async (alg) => {
    const key = (await importJWK({ ...ourKey().jwk, alg } as JWK, alg)) as CryptoKey;
    expect(await verify(await signWith(key, validClaims(), {}, alg))).toBeNull();
  });

  it('rejects ES256', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    expect(await verify(await signWith(privateKey, validClaims(), {}, 'ES256'))).toBeNull();
  });

  it('rejects exp exactly at now - 30 s (the tolerance boundary)', async () => {
    const now = Date.now();
    const exp = Math.floor(now / 1000) - 30;
    const token = await signOurs(validClaims({ iat: exp - 600, exp }));
    expect(await verifyAccessToken(config(), token, now)).toBeNull();
  });

  it.each([
    ['a negative exp', { exp: -1 }],
    ['exp of 1e300', { exp: 1e300 }],
    ['a negative iat', { iat: -5 }],
  ])('rejects %s', async (_name, overrides) => {
    expect(await verify(await signOurs(validClaims(overrides)))).toBeNull();
  });

  it('accepts an aud array that includes ours (RFC 7519 §4.1.3), and only then', async () => {
    const aud = config().AUDIENCE;
    expect(await verify(await signOurs(validClaims({ aud: ['other', aud] })))).not.toBeNull();
    expect(await verify(await signOurs(validClaims({ aud: ['other'] })))).toBeNull();
  });

  it('reads duplicate claim members the one way the signature covers (last wins, one parser)', async () => {
    const key = (await importJWK({ ...ourKey().jwk, alg: 'RS256' } as JWK, 'RS256')) as CryptoKey;
    const claims = JSON.stringify(validClaims({ sub: 'victim' })).replace(
      /}$/,
      ',"sub":"attacker"}',
    );
    const enc = (t: string) => base64url.encode(t);
    const input = `${enc(JSON.stringify({ alg: 'RS256', typ: 'at+jwt', kid: ourKey().kid }))}.${enc(claims)}`;
    const sig = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input));
    const verified = await verify(`${input}.${base64url.encode(new Uint8Array(sig))}`);
    expect(verified?.sub).toBe('attacker');
  });

  it.each([
    ['four parts', (t: string) => `${t}.extra`],
    ['base64 padding', (t: string) => t.replace(/\.([^.]+)\./, '.$1==.')],
    [
      'a payload that is an array',
      () => `${base64url.encode('{"alg":"RS256","typ":"at+jwt"}')}.${base64url.encode('[1]')}.sig`,
    ],
    [
      'invalid UTF-8 in the payload',
      () =>
        `${base64url.encode('{"alg":"RS256","typ":"at+jwt"}')}.${base64url.encode(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))}.sig`,
    ],
  ])('rejects %s', async (_name, mangle) => {
    expect(await verify(mangle(await signOurs()))).toBeNull();
  });

  it('rejects a header declaring b64: false, though everything else is valid', async () => {
    const key = (await importJWK({ ...ourKey().jwk, alg: 'RS256' } as JWK, 'RS256')) as CryptoKey;
    const header = { alg: 'RS256', typ: 'at+jwt', kid: ourKey().kid, b64: false, crit: ['b64'] };
    const token = await handMade(
      header,
      validClaims(),
      async (input) => new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, input)),
    );
    expect(await verify(token)).toBeNull();
  });
});

describe('keys', () => {
  it('verifies tokens of every published key, and publishes every key, during a rotation', async () => {
    const second = await foreignKey();
    const jwk = await exportJWK(second);
    const kid = await calculateJwkThumbprint(jwk);
    const rotating = loadConfig({
      ...env,
      JWT_SIGNING_KEYS: JSON.stringify({ keys: [ourKey().jwk, { ...jwk, kid }] }),
    });
    const token = await signWith(second, validClaims(), { kid });
    expect(await verifyAccessToken(rotating, token, Date.now())).not.toBeNull();
    expect(await verify(token)).toBeNull();
    const { keyRing } = await import('../../src/crypto/jwt');
    expect((await keyRing(rotating)).jwks.keys.map((k) => k.kid)).toEqual([ourKey().kid, kid]);
  });

  it('are imported once per isolate and key set', async () => {
    const spy = vi.spyOn(crypto.subtle, 'importKey');
    // A key set this isolate has not seen yet: ours plus a second, published key.
    const extra = await exportJWK(await foreignKey());
    const keys = [ourKey().jwk, { ...extra, kid: await calculateJwkThumbprint(extra) }];
    const freshConfig = loadConfig({ ...env, JWT_SIGNING_KEYS: JSON.stringify({ keys }) });
    const input = { userId: 'u', sessionId: 's', role: 'user', emailVerified: false } as const;
    const token = await signAccessToken(freshConfig, input, Date.now());
    const first = spy.mock.calls.length;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) {
      await verifyAccessToken(freshConfig, token, Date.now());
      await signAccessToken(freshConfig, input, Date.now());
    }
    expect(spy.mock.calls.length).toBe(first);
  });
});
