import { Hono } from 'hono';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { requireAuth, type AuthVariables } from '../src/hono.ts';
import { createVerifier, type Verifier } from '../src/index.ts';
import { AUDIENCE, ISSUER, claims, issuer, sign, signingKey, type SigningKey } from './issuer.ts';

let key: SigningKey;
beforeAll(async () => {
  key = await signingKey('key-a');
});

function app() {
  const fake = issuer([key]);
  const verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: fake.fetch });
  const verify = vi.spyOn(verifier, 'verifyRequest');
  const api = new Hono<{ Variables: AuthVariables }>();
  api.use('/api/*', requireAuth(verifier));
  api.get('/api/me', (c) => c.json({ sub: c.var.auth.sub, role: c.var.auth.role }));
  api.get('/api/admin', requireAuth(verifier, { role: 'admin' }), (c) => c.json({ ok: true }));
  const get = (path: string, token?: string) =>
    api.request(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { get, fake, verify };
}

describe('requireAuth', () => {
  it('puts the verified claims in c.var.auth', async () => {
    const { get } = app();
    const res = await get('/api/me', await sign(key));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ sub: 'user-1', role: 'user' });
  });

  it('401 with a bare Bearer challenge when no token is sent', async () => {
    const res = await app().get('/api/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
    expect(res.headers.get('Content-Type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('401 invalid_token for a token it does not accept', async () => {
    const res = await app().get('/api/me', await sign(key, claims({ aud: 'another-api' })));
    expect(res.status).toBe(401);
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer error="invalid_token"');
    expect(await res.json()).toMatchObject({ code: 'invalid_token' });
  });

  it('403 insufficient_scope for another role; the role passes', async () => {
    const { get, verify } = app();
    const user = await get('/api/admin', await sign(key));
    expect(user.status).toBe(403);
    expect(user.headers.get('WWW-Authenticate')).toBe('Bearer error="insufficient_scope"');
    expect(await user.json()).toMatchObject({ status: 403, code: 'forbidden' });
    const admin = await get('/api/admin', await sign(key, claims({ role: 'admin' })));
    expect(admin.status).toBe(200);
    // The route's requireAuth reused the claims of the one under /api/*.
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it('503 with Retry-After when the keys cannot be fetched', async () => {
    const { get, fake } = app();
    fake.state.down = true;
    const res = await get('/api/me', await sign(key));
    expect(res.status).toBe(503);
    expect(res.headers.get('Retry-After')).toBe('5');
    expect(await res.json()).toMatchObject({ code: 'jwks_unavailable' });
  });

  it('takes a function of the bindings (Workers), called per request', async () => {
    const fake = issuer([key]);
    let verifier: Verifier | undefined;
    type Bindings = { AUTH_ISSUER: string };
    const api = new Hono<{ Bindings: Bindings; Variables: AuthVariables }>();
    const resolve = vi.fn(
      (env: Bindings) =>
        (verifier ??= createVerifier({
          issuer: env.AUTH_ISSUER,
          audience: AUDIENCE,
          fetch: fake.fetch,
        })),
    );
    api.get('/api/me', requireAuth(resolve), (c) => c.json({ sub: c.var.auth.sub }));
    const token = await sign(key);
    for (let i = 0; i < 3; i++) {
      const res = await api.request(
        '/api/me',
        { headers: { Authorization: `Bearer ${token}` } },
        { AUTH_ISSUER: ISSUER },
      );
      expect(res.status).toBe(200);
    }
    expect(resolve).toHaveBeenCalledTimes(3);
    expect(fake.state.jwks).toBe(1);
  });
});
