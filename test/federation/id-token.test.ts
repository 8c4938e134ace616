// The ID token (OIDC Core 3.1.3.7), forged claim by claim and key by key at a scripted provider:
// each forgery ends on /sign-in?error=provider with nothing written, and the log says which
// check refused it. The controls beside them pass, so a refusal is the forgery's doing.
import { SignJWT, base64url, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  bearer,
  expectNothingWritten,
  rsaKey,
  scriptedOp,
  signIn,
  watchLog,
  type ScriptedOp,
} from './scripted-op';

const log = watchLog();
const now = () => Math.floor(Date.now() / 1000);

/** A sign-in whose ID token has `claims` over a valid one's (undefined removes a claim). */
const withClaims = (op: ScriptedOp, claims: Record<string, unknown>) =>
  signIn(op, async (nonce) => bearer(await op.idToken(nonce, claims)));

async function expectSignedIn(result: Awaited<ReturnType<typeof signIn>>) {
  expect(result.callback.status, result.callback.headers.get('Location') ?? '').toBe(200);
  expect(result.browser.cookies.has('__Host-refresh_token')).toBe(true);
}

/** Refused, nothing written, and the log names the reason. */
async function expectRefused(result: Awaited<ReturnType<typeof signIn>>, reason: RegExp) {
  await expectNothingWritten(result);
  const { error, code } = log.refusal();
  expect(`${code} ${error}`).toMatch(reason);
}

/** A compact JWS by hand, for what jose will not sign (alg none, short keys). */
async function rawJws(
  header: object,
  payload: object,
  sign?: (data: Uint8Array) => Promise<ArrayBuffer>,
) {
  const enc = (v: object) => base64url.encode(JSON.stringify(v));
  const input = `${enc(header)}.${enc(payload)}`;
  const signature = sign
    ? base64url.encode(new Uint8Array(await sign(new TextEncoder().encode(input))))
    : '';
  return `${input}.${signature}`;
}

function claimsFor(op: ScriptedOp, nonce: string, extra: Record<string, unknown> = {}) {
  return {
    iss: op.issuer,
    aud: CLIENT_ID,
    sub: `sub-${crypto.randomUUID()}`,
    iat: now(),
    exp: now() + 300,
    nonce,
    email: `op-${crypto.randomUUID()}@example.com`,
    email_verified: true,
    ...extra,
  };
}

describe('iss, aud, azp', () => {
  it.each([
    ['another issuer', { iss: 'https://op.stand-in.test/someone-else' }],
    ['the issuer with a trailing slash (compared exactly)', { iss: 'ISSUER/' }],
    ['no iss', { iss: undefined }],
  ])('refuses %s', async (_name, claims) => {
    const op = await scriptedOp();
    const iss = claims.iss === 'ISSUER/' ? `${op.issuer}/` : claims.iss;
    await expectRefused(await withClaims(op, { iss }), /"iss" claim/);
  });

  it.each([
    ['another audience', { aud: 'another-client' }, /"aud" claim/],
    ['us among others, without azp', { aud: [CLIENT_ID, 'other'] }, /"azp" claim/],
    ['us among others, azp another', { aud: [CLIENT_ID, 'other'], azp: 'other' }, /"azp" claim/],
    ['us alone, azp another', { aud: CLIENT_ID, azp: 'other' }, /"azp" claim/],
    ['no aud', { aud: undefined }, /"aud" claim/],
  ])('refuses %s', async (_name, claims, reason) => {
    const op = await scriptedOp();
    await expectRefused(await withClaims(op, claims), reason);
  });

  it('accepts us among others when azp names us (the control)', async () => {
    const op = await scriptedOp();
    await expectSignedIn(await withClaims(op, { aud: ['other', CLIENT_ID], azp: CLIENT_ID }));
  });
});

describe('nonce, sub, exp, iat, nbf, auth_time', () => {
  it.each([
    ['another nonce (a token from another sign-in)', { nonce: 'x'.repeat(43) }, /"nonce" claim/],
    ['no nonce', { nonce: undefined }, /"nonce" claim/],
    ['no sub', { sub: undefined }, /"sub" claim/],
    ['an empty sub', { sub: '' }, /"sub" claim/],
    ['a sub that is not a string', { sub: 42 }, /"sub" claim/],
    ['exp a minute ago (past the 30 s skew)', { exp: now() - 60 }, /"exp" claim/],
    ['no exp', { exp: undefined }, /"exp" claim/],
    ['exp that is not a number', { exp: String(now() + 300) }, /"exp" claim/],
    ['no iat', { iat: undefined }, /"iat" claim/],
    ['iat two minutes ahead', { iat: now() + 120 }, /"iat" claim/],
    ['nbf two minutes ahead', { nbf: now() + 120 }, /"nbf" claim/],
    ['an auth_time that is not a number', { auth_time: 'yesterday' }, /"auth_time" claim/],
  ])('refuses %s', async (_name, claims, reason) => {
    const op = await scriptedOp();
    await expectRefused(await withClaims(op, claims), reason);
  });

  it('allows 30 s of clock skew on exp, iat and nbf (the control)', async () => {
    const op = await scriptedOp();
    const claims = { exp: now() - 10, iat: now() + 10, nbf: now() + 10, auth_time: now() - 60 };
    await expectSignedIn(await withClaims(op, claims));
  });
});

describe('the signature', () => {
  it('refuses alg none', async () => {
    const op = await scriptedOp();
    await op.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...op.discovery, id_token_signing_alg_values_supported: ['none', 'RS256'] },
      },
    });
    const result = await signIn(op, async (nonce) =>
      bearer(await rawJws({ alg: 'none', typ: 'JWT' }, claimsFor(op, nonce))),
    );
    await expectRefused(result, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it('refuses HS256 keyed with the client secret, even when discovery lists HS256', async () => {
    const op = await scriptedOp();
    await op.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...op.discovery, id_token_signing_alg_values_supported: ['HS256', 'RS256'] },
      },
    });
    const result = await signIn(op, async (nonce) =>
      bearer(
        await new SignJWT(claimsFor(op, nonce))
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(CLIENT_SECRET)),
      ),
    );
    await expectRefused(result, /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  it('takes RS256 only when discovery lists no algorithms, and what it lists when it does', async () => {
    const ec = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' };
    const es256 = (op: ScriptedOp) =>
      signIn(op, async (nonce) =>
        bearer(
          await op.idToken(
            nonce,
            {},
            { key: ec.privateKey, header: { alg: 'ES256', kid: 'ec-1' } },
          ),
        ),
      );
    const unlisted = await scriptedOp();
    const { id_token_signing_alg_values_supported: _, ...discovery } = unlisted.discovery;
    await unlisted.answer({
      'GET /.well-known/openid-configuration': { body: discovery },
      'GET /jwks': { body: { keys: [unlisted.key.jwk, jwk] } },
    });
    await expectRefused(await es256(unlisted), /ERR_JOSE_ALG_NOT_ALLOWED/);
    log.lines = [];
    const listed = await scriptedOp();
    await listed.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...listed.discovery, id_token_signing_alg_values_supported: ['ES256'] },
      },
      'GET /jwks': { body: { keys: [listed.key.jwk, jwk] } },
    });
    await expectSignedIn(await es256(listed));
  });

  it('refuses a key outside the JWKS under a published kid', async () => {
    const op = await scriptedOp();
    const other = await rsaKey(op.key.jwk.kid!);
    const result = await signIn(op, async (nonce) =>
      bearer(await op.idToken(nonce, {}, { key: other.privateKey })),
    );
    await expectRefused(result, /signature verification failed/);
  });

  it('refuses an unknown kid, without fetching the JWKS again within a minute', async () => {
    const op = await scriptedOp();
    const other = await rsaKey('not-published');
    const result = await signIn(op, async (nonce) =>
      bearer(
        await op.idToken(nonce, {}, { key: other.privateKey, header: { kid: 'not-published' } }),
      ),
    );
    await expectRefused(result, /ERR_JWKS_NO_MATCHING_KEY/);
    const fetched = (await op.requests()).filter((r) => r.path === '/jwks');
    expect(fetched).toHaveLength(1);
  });

  it('refuses a token without kid when two keys of the JWKS fit', async () => {
    const op = await scriptedOp();
    const second = await rsaKey('op-2');
    await op.answer({ 'GET /jwks': { body: { keys: [op.key.jwk, second.jwk] } } });
    const result = await signIn(op, async (nonce) =>
      bearer(await op.idToken(nonce, {}, { header: { kid: undefined } })),
    );
    await expectRefused(result, /ERR_JWKS_MULTIPLE_MATCHING_KEYS/);
  });

  it('refuses an RSA key under 2048 bits', async () => {
    const op = await scriptedOp();
    const weak = (await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const jwk = { ...(await exportJWK(weak.publicKey)), kid: 'weak', alg: 'RS256', use: 'sig' };
    await op.answer({ 'GET /jwks': { body: { keys: [jwk] } } });
    const result = await signIn(op, async (nonce) =>
      bearer(
        await rawJws({ alg: 'RS256', kid: 'weak' }, claimsFor(op, nonce), (data) =>
          crypto.subtle.sign('RSASSA-PKCS1-v1_5', weak.privateKey, data),
        ),
      ),
    );
    await expectRefused(result, /2048/);
  });

  it('refuses a crit header, and an encrypted (JWE) token', async () => {
    const op = await scriptedOp();
    const crit = await signIn(op, async (nonce) =>
      bearer(await op.idToken(nonce, {}, { header: { crit: ['b64'], b64: true } })),
    );
    await expectRefused(crit, /"crit"/);
    log.lines = [];
    const jwe = await signIn(op, async () => bearer('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'));
    await expectRefused(jwe, /Invalid Compact JWS/);
  });
});
