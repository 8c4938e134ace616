// The provider's keys (src/federation/jwks.ts): kept five minutes, fetched again for an unknown
// `kid` (a rotation) but at most once a minute, https only. Driven with a clock of our own, at a
// scripted provider whose JWKS the test rotates.
import { SignJWT, base64url, errors, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { JWKS_MAX_AGE_MS, JWKS_REFETCH_AFTER_MS, providerKeys } from '../../src/federation/jwks';
import { rsaKey, scriptedOp, type Key } from './scripted-op';

const token = (key: Key) =>
  new SignJWT({ sub: 'x' })
    .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid! })
    .sign(key.privateKey);

async function setUp() {
  const op = await scriptedOp();
  let at = 1_000_000;
  const clock = { now: () => at, advance: (ms: number) => void (at += ms) };
  const keys = providerKeys('jwks-test', `${op.issuer}/jwks`, false, clock.now);
  const fetches = async () => (await op.requests()).filter((r) => r.path === '/jwks').length;
  const verify = (jwt: string) => jwtVerify(jwt, keys, { algorithms: ['RS256'] });
  return { op, clock, keys, fetches, verify };
}

describe('the JWKS cache', () => {
  it('fetches once, then serves five minutes from memory', async () => {
    const { op, clock, fetches, verify } = await setUp();
    await verify(await token(op.key));
    await verify(await token(op.key));
    clock.advance(JWKS_MAX_AGE_MS - 1);
    await verify(await token(op.key));
    expect(await fetches()).toBe(1);
    clock.advance(1);
    await verify(await token(op.key));
    expect(await fetches()).toBe(2);
  });

  it('fetches again for an unknown kid, but not within a minute of the last fetch', async () => {
    const { op, clock, fetches, verify } = await setUp();
    await verify(await token(op.key));
    const rotated = await rsaKey('op-2');
    await op.answer({ 'GET /jwks': { body: { keys: [op.key.jwk, rotated.jwk] } } });
    clock.advance(JWKS_REFETCH_AFTER_MS - 1);
    await expect(verify(await token(rotated))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    await expect(verify(await token(rotated))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(await fetches()).toBe(1);
    clock.advance(1);
    await verify(await token(rotated));
    expect(await fetches()).toBe(2);
    // A made-up kid right after costs no fetch either.
    const madeUp = await rsaKey('made-up');
    await expect(verify(await token(madeUp))).rejects.toBeInstanceOf(errors.JWKSNoMatchingKey);
    expect(await fetches()).toBe(2);
  });

  it('keeps each provider’s and each URL’s keys apart', async () => {
    const a = await setUp();
    const b = await setUp();
    await a.verify(await token(a.op.key));
    await expect(a.verify(await token(b.op.key))).rejects.toThrow();
    const sameIdOtherUrl = providerKeys('jwks-test', `${b.op.issuer}/jwks`, false, a.clock.now);
    await jwtVerify(await token(b.op.key), sameIdOtherUrl, { algorithms: ['RS256'] });
  });

  it('refuses an http jwks_uri unless plain http is allowed, and never other schemes', () => {
    expect(() => providerKeys('p', 'http://op.stand-in.test/jwks', false)).toThrow(/https/);
    expect(() => providerKeys('p', 'http://op.stand-in.test/jwks', true)).not.toThrow();
    expect(() => providerKeys('p', 'file:///etc/jwks', true)).toThrow(/https/);
    expect(() => providerKeys('p', undefined, true)).toThrow(/not a URL/);
  });

  it.each([
    ['a 500', { status: 500, body: { keys: [] } }, 'unexpected_status'],
    ['a redirect (never followed)', { status: 302, body: { keys: [] } }, 'unexpected_status'],
    ['not JSON', { text: 'keys' }, 'invalid_json'],
    ['no keys array', { body: { keys: {} } }, 'invalid_json'],
    ['keys that are not objects', { body: { keys: ['x'] } }, 'invalid_json'],
  ])('refuses a JWKS answer that is %s', async (_name, answer, code) => {
    const { op, verify } = await setUp();
    await op.answer({ 'GET /jwks': { ...answer, headers: { Location: `${op.issuer}/jwks` } } });
    await expect(verify(await token(op.key))).rejects.toMatchObject({ code });
  });

  it('never takes a symmetric key from the JWKS', async () => {
    const { op, keys } = await setUp();
    const secret = new TextEncoder().encode('a-shared-secret-of-32-bytes-long!');
    const oct = { kty: 'oct', k: base64url.encode(secret), kid: 'oct-1' };
    await op.answer({ 'GET /jwks': { body: { keys: [op.key.jwk, oct] } } });
    const jwt = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'oct-1' })
      .sign(secret);
    await expect(jwtVerify(jwt, keys, { algorithms: ['HS256'] })).rejects.toBeInstanceOf(
      errors.JOSENotSupported,
    );
  });
});
