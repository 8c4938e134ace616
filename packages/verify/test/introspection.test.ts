import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Hono } from 'hono';
import { createVerifier, type AccessTokenClaims } from '../src/index.ts';
import { requireAuth, type AuthVariables } from '../src/hono.ts';
import { AUDIENCE, ISSUER, claims, issuer, sign, signingKey, type SigningKey } from './issuer.ts';

let key: SigningKey;
beforeAll(async () => {
  key = await signingKey('key-a');
});
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});
const advance = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000);

const CLIENT = { clientId: 'orders-api', clientSecret: 's3cret/with:odd+chars' };

/**
 * The issuer's discovery and JWKS, plus an introspection endpoint in the worker's shape: active
 * unless the token's jti was revoked; each request and its form and credential recorded.
 */
function setup(cacheSeconds?: number) {
  const fake = issuer([key]);
  const revoked = new Set<string>();
  const asked: { auth: string | null; type: string | null; form: URLSearchParams }[] = [];
  const endpoint = { status: 200, down: false, sub: undefined as string | undefined };
  const fetch = async (input: string, init?: RequestInit) => {
    if (new URL(input).pathname !== '/oauth/introspect') return fake.fetch(input, init);
    if (endpoint.down) throw new TypeError('fetch failed');
    const headers = new Headers(init?.headers);
    const form = new URLSearchParams(String(init?.body));
    asked.push({ auth: headers.get('Authorization'), type: headers.get('Content-Type'), form });
    if (endpoint.status !== 200) return new Response('{}', { status: endpoint.status });
    const token = form.get('token')!;
    const payload = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
    if (revoked.has(payload.jti)) return Response.json({ active: false });
    return Response.json({ active: true, ...payload, ...(endpoint.sub && { sub: endpoint.sub }) });
  };
  const introspection = { ...CLIENT, ...(cacheSeconds === undefined ? {} : { cacheSeconds }) };
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch, introspection });
  const plain = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch });
  return { verifier, plain, revoked, asked, endpoint };
}

const jtiOf = (token: string) =>
  (
    JSON.parse(
      atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')),
    ) as AccessTokenClaims
  ).jti;

describe('introspection mode', () => {
  it('asks /oauth/introspect with a form body and HTTP Basic, after the local checks pass', async () => {
    const { verifier, asked } = setup();
    const token = await sign(key);
    expect(await verifier.verify(token)).toMatchObject({ ok: true });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.type).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(asked[0]!.form)).toEqual({ token, token_type_hint: 'access_token' });
    // RFC 6749 §2.3.1: each half form-encoded, then base64.
    expect(atob(asked[0]!.auth!.replace(/^Basic /, ''))).toBe(
      'orders-api:s3cret%2Fwith%3Aodd%2Bchars',
    );
    // A token that fails locally is never sent anywhere.
    expect(await verifier.verify(await sign(key, claims({ aud: 'another-api' })))).toMatchObject({
      ok: false,
    });
    expect(asked).toHaveLength(1);
  });

  it('refuses a revoked token before its exp, which the JWKS-only verifier still accepts', async () => {
    const { verifier, plain, revoked } = setup(0);
    const token = await sign(key);
    revoked.add(jtiOf(token));
    expect(await verifier.verify(token)).toEqual({
      ok: false,
      status: 401,
      code: 'invalid_token',
      reason: 'inactive',
    });
    expect((await plain.verify(token)).ok).toBe(true);
  });

  it('reuses an active answer for cacheSeconds at most, then asks again', async () => {
    const { verifier, revoked, asked } = setup(30);
    const token = await sign(key);
    expect((await verifier.verify(token)).ok).toBe(true);
    revoked.add(jtiOf(token));
    advance(29);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(asked).toHaveLength(1);
    advance(2);
    expect((await verifier.verify(token)).ok).toBe(false);
    expect(asked).toHaveLength(2);
  });

  it('never reuses an active answer past the token`s exp', async () => {
    const { verifier, asked } = setup(600);
    const now = Math.floor(Date.now() / 1000);
    const token = await sign(key, claims({ exp: now + 60 }));
    expect((await verifier.verify(token)).ok).toBe(true);
    advance(61);
    // Inside the 30 s skew the local check still passes: the cached answer has run out.
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(asked).toHaveLength(2);
  });

  it('keeps an inactive answer (it is final) and shares one question between concurrent calls', async () => {
    const { verifier, revoked, asked } = setup();
    const token = await sign(key);
    revoked.add(jtiOf(token));
    const results = await Promise.all([verifier.verify(token), verifier.verify(token)]);
    expect(results.map((r) => r.ok)).toEqual([false, false]);
    advance(300);
    expect((await verifier.verify(token)).ok).toBe(false);
    expect(asked).toHaveLength(1);
  });

  it('is 503 introspection_unavailable, never 401, when the endpoint fails or refuses us', async () => {
    const { verifier, endpoint, asked } = setup();
    endpoint.down = true;
    expect(await verifier.verify(await sign(key))).toMatchObject({
      ok: false,
      status: 503,
      code: 'introspection_unavailable',
    });
    endpoint.down = false;
    endpoint.status = 401;
    const token = await sign(key);
    expect(await verifier.verify(token)).toMatchObject({ status: 503 });
    // A failure is not cached: the same token, asked again, gets the endpoint's answer.
    endpoint.status = 200;
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(asked).toHaveLength(2);
  });

  it('refuses a token when the active answer is about another user', async () => {
    const { verifier, endpoint } = setup(0);
    endpoint.sub = 'user-2';
    expect(await verifier.verify(await sign(key))).toMatchObject({ ok: false, reason: 'inactive' });
  });

  it('the Hono middleware answers 401 for an inactive token and 503 when introspection is down', async () => {
    const { verifier, revoked, endpoint } = setup(0);
    const app = new Hono<{ Variables: AuthVariables }>();
    app.get('/api', requireAuth(verifier), (c) => c.json({ sub: c.var.auth.sub }));
    const get = (token: string) =>
      app.request('/api', { headers: { Authorization: `Bearer ${token}` } });
    const token = await sign(key);
    expect((await get(token)).status).toBe(200);
    revoked.add(jtiOf(token));
    const refused = await get(token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    endpoint.down = true;
    const down = await get(await sign(key));
    expect(down.status).toBe(503);
    expect(((await down.json()) as { code: string }).code).toBe('introspection_unavailable');
  });
});
