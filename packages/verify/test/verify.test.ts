import { SignJWT, base64url } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createVerifier, type VerifierOptions } from '../src/index.ts';
import { maxAge } from '../src/key-set.ts';
import { AUDIENCE, ISSUER, claims, issuer, sign, signingKey, type SigningKey } from './issuer.ts';

let keyA: SigningKey;
let keyB: SigningKey;
beforeAll(async () => {
  [keyA, keyB] = await Promise.all([signingKey('key-a'), signingKey('key-b')]);
});
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const advance = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000);

function setup(keys = [keyA], options: Partial<VerifierOptions> = {}, maxAgeSeconds?: number) {
  const fake = issuer(keys, maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds });
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    fetch: fake.fetch,
    ...options,
  });
  return { ...fake, verifier };
}

const refusal = (reason: string | RegExp) => ({
  ok: false,
  status: 401,
  code: 'invalid_token',
  reason: typeof reason === 'string' ? reason : expect.stringMatching(reason),
});

describe('verify', () => {
  it('accepts a token of the issuer: typed claims and the kid, keys found by discovery', async () => {
    const { verifier, state } = setup();
    const result = await verifier.verify(await sign(keyA));
    expect(result).toMatchObject({ ok: true, kid: 'key-a' });
    if (!result.ok) throw new Error(result.reason);
    expect(result.claims).toMatchObject({ sub: 'user-1', sid: 'session-1', role: 'user' });
    expect(state).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('skips discovery when given jwksUri', async () => {
    const { verifier, state } = setup([keyA], { jwksUri: `${ISSUER}/.well-known/jwks.json` });
    expect((await verifier.verify(await sign(keyA))).ok).toBe(true);
    expect(state).toMatchObject({ discovery: 0, jwks: 1 });
  });

  it('pins typ at+jwt, iss and aud', async () => {
    const { verifier } = setup();
    expect(await verifier.verify(await sign(keyA, claims(), { typ: 'JWT' }))).toEqual(
      refusal('ERR_JWT_CLAIM_VALIDATION_FAILED'),
    );
    expect(await verifier.verify(await sign(keyA, claims({ iss: 'https://evil.test' })))).toEqual(
      refusal('ERR_JWT_CLAIM_VALIDATION_FAILED'),
    );
    expect(await verifier.verify(await sign(keyA, claims({ aud: 'another-api' })))).toEqual(
      refusal('ERR_JWT_CLAIM_VALIDATION_FAILED'),
    );
  });

  it('pins RS256: HS256 with the public key as secret and alg none are refused', async () => {
    const { verifier } = setup();
    const secret = new TextEncoder().encode(JSON.stringify(keyA.jwk));
    const hs256 = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'key-a' })
      .sign(secret);
    expect(await verifier.verify(hs256)).toEqual(refusal('ERR_JOSE_ALG_NOT_ALLOWED'));
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'at+jwt' }));
    const none = `${header}.${base64url.encode(JSON.stringify(claims()))}.`;
    expect(await verifier.verify(none)).toEqual(refusal(/^ERR_/));
  });

  it('refuses a tampered token, a key it does not know, and a forged kid', async () => {
    const { verifier } = setup();
    const [head, , signature] = (await sign(keyA)).split('.');
    const edited = base64url.encode(JSON.stringify(claims({ role: 'admin' })));
    expect(await verifier.verify(`${head}.${edited}.${signature}`)).toEqual(
      refusal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED'),
    );
    expect(await verifier.verify(await sign(keyB))).toEqual(refusal('ERR_JWKS_NO_MATCHING_KEY'));
    expect(await verifier.verify(await sign({ ...keyB, kid: 'key-a' }))).toEqual(
      refusal('ERR_JWS_SIGNATURE_VERIFICATION_FAILED'),
    );
  });

  it('allows 30 s of clock skew, not more', async () => {
    const { verifier } = setup();
    const now = Math.floor(Date.now() / 1000);
    const expired = (ago: number) => sign(keyA, claims({ iat: now - 900, exp: now - ago }));
    expect((await verifier.verify(await expired(25))).ok).toBe(true);
    expect(await verifier.verify(await expired(35))).toEqual(refusal('ERR_JWT_EXPIRED'));
    const early = await sign(keyA, claims({ nbf: now + 60 }));
    expect(await verifier.verify(early)).toEqual(refusal('ERR_JWT_CLAIM_VALIDATION_FAILED'));
  });

  it('requires sub, sid, jti, iat, exp, role and email_verified', async () => {
    const { verifier } = setup();
    for (const missing of ['sub', 'sid', 'jti', 'iat', 'exp', 'role', 'email_verified']) {
      const token = await sign(keyA, claims({ [missing]: undefined }));
      expect(await verifier.verify(token), missing).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('asks isRevoked last, and refuses what it calls revoked', async () => {
    const isRevoked = vi.fn((c: { sid: string }) => c.sid === 'ended');
    const { verifier } = setup([keyA], { isRevoked });
    expect((await verifier.verify(await sign(keyA))).ok).toBe(true);
    expect(await verifier.verify(await sign(keyA, claims({ sid: 'ended' })))).toEqual(
      refusal('revoked'),
    );
    await verifier.verify(await sign(keyA, claims({ aud: 'another-api' })));
    expect(isRevoked).toHaveBeenCalledTimes(2);
  });

  it('refuses a token longer than 4096 characters before any request', async () => {
    const { verifier, state } = setup();
    expect(await verifier.verify('a'.repeat(4097))).toEqual(refusal('too_long'));
    expect(state.jwks).toBe(0);
  });
});

describe('the JWKS cache', () => {
  it('lasts as long as the JWKS Cache-Control says, then revalidates with the ETag', async () => {
    const { verifier, state } = setup([keyA], {}, 120);
    const token = await sign(keyA);
    for (let i = 0; i < 5; i++) expect((await verifier.verify(token)).ok).toBe(true);
    expect(state).toMatchObject({ discovery: 1, jwks: 1 });
    advance(119);
    await verifier.verify(token);
    expect(state.jwks).toBe(1);
    advance(2);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(state).toMatchObject({ discovery: 1, jwks: 2, notModified: 1 });
  });

  it('refetches once for an unknown kid, then not again within the cooldown', async () => {
    const { verifier, state } = setup([keyA], { cooldownSeconds: 30 });
    await verifier.verify(await sign(keyA));
    advance(31);
    state.keys = [keyB, keyA];
    const tokenB = await sign(keyB);
    expect((await verifier.verify(tokenB)).ok).toBe(true);
    expect(state.jwks).toBe(2);
    const stranger = await signingKey('stranger');
    const forged = await Promise.all([1, 2, 3, 4].map(() => sign(stranger)));
    for (const token of forged) {
      expect(await verifier.verify(token)).toEqual(refusal('ERR_JWKS_NO_MATCHING_KEY'));
    }
    expect(state.jwks).toBe(2);
    advance(31);
    await verifier.verify(forged[0]!);
    expect(state.jwks).toBe(3);
  });

  it('shares one fetch among concurrent verifications', async () => {
    const { verifier, state } = setup();
    const token = await sign(keyA);
    const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(state).toMatchObject({ discovery: 1, jwks: 1 });
  });

  it('keeps a removed key until the cache expires', async () => {
    const { verifier, state } = setup([keyA], {}, 300);
    const tokenA = await sign(keyA);
    await verifier.verify(tokenA);
    state.keys = [keyB];
    advance(299);
    expect((await verifier.verify(tokenA)).ok).toBe(true);
    advance(2);
    expect(await verifier.verify(tokenA)).toEqual(refusal('ERR_JWKS_NO_MATCHING_KEY'));
  });

  it('answers 503 jwks_unavailable when the keys cannot be fetched', async () => {
    const { verifier, state } = setup();
    state.down = true;
    expect(await verifier.verify(await sign(keyA))).toMatchObject({
      ok: false,
      status: 503,
      code: 'jwks_unavailable',
    });
    state.down = false;
    expect((await verifier.verify(await sign(keyA))).ok).toBe(true);
  });

  it('refuses a discovery document that names another issuer (503)', async () => {
    const { verifier, state } = setup();
    state.metadataIssuer = 'https://evil.test';
    expect(await verifier.verify(await sign(keyA))).toMatchObject({
      status: 503,
      reason: expect.stringContaining('does not describe'),
    });
  });

  it('reads max-age from Cache-Control; no-store and no-cache mean 0', () => {
    expect(maxAge('public, max-age=300')).toBe(300);
    expect(maxAge('max-age=10, must-revalidate')).toBe(10);
    expect(maxAge('no-store')).toBe(0);
    expect(maxAge('public, no-cache')).toBe(0);
    expect(maxAge(null)).toBe(300);
    expect(maxAge('public')).toBe(300);
    expect(maxAge('max-age=99999999')).toBe(86_400);
  });
});

describe('verifyRequest', () => {
  it('reads the bearer from Fetch Headers and from Node headers', async () => {
    const { verifier } = setup();
    const token = await sign(keyA);
    const fetchRequest = new Request('https://api.test/', {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect((await verifier.verifyRequest(fetchRequest)).ok).toBe(true);
    expect(
      (await verifier.verifyRequest({ headers: { authorization: `bearer ${token}` } })).ok,
    ).toBe(true);
  });

  it('answers unauthorized without a bearer token', async () => {
    const { verifier, state } = setup();
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', ['Bearer a', 'b']]) {
      expect(await verifier.verifyRequest({ headers: { authorization } })).toMatchObject({
        ok: false,
        status: 401,
        code: 'unauthorized',
      });
    }
    expect(state.jwks).toBe(0);
  });
});
