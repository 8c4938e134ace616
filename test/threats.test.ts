// THREATS.md rows B-E that cut across routes, each tried against the real worker.
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ORIGIN,
  PASSWORD,
  bearer,
  call,
  expectProblem,
  json,
  login,
  me,
  refresh,
  signedIn,
  uniqueEmail,
  type Tokens,
} from './helpers';

afterEach(() => vi.restoreAllMocks());

const decode = (jwt: string) =>
  JSON.parse(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));

describe('sessions and tokens (B)', () => {
  it('B13: a disabled user’s live access token is refused at once', async () => {
    const { tokens, user } = await signedIn();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE id = ?')
      .bind(Date.now(), user.id)
      .run();
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
  });

  it('B16: a refresh token is bound to its own session whatever bearer or cookie comes with it', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const res = await call('/auth/refresh', {
      ...json({ refresh_token: alice.tokens.refresh_token }),
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${bob.tokens.access_token}`,
        Cookie: `__Host-refresh_token=${bob.tokens.refresh_token}`,
      },
    });
    const rotated = (await res.json()) as Tokens;
    expect(decode(rotated.access_token).sub).toBe(alice.user.id);
    expect(rotated.session_id).toBe(alice.tokens.session_id);
    expect((await refresh(bob.tokens.refresh_token)).status).toBe(200);
  });
});

describe('input handling (D)', () => {
  it('D1: a JSON content type with an empty body is a request without a body: 422, never 400', async () => {
    const res = await call('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '',
    });
    const body = await expectProblem(res, 422, 'validation_failed');
    expect(body).toMatchObject({
      errors: expect.arrayContaining([expect.objectContaining({ path: 'email' })]),
    });
  });

  it('D5: __proto__, constructor and prototype keys neither escalate nor pollute', async () => {
    const email = uniqueEmail();
    const body = `{"email":"${email}","password":"${PASSWORD}","__proto__":{"role":"admin","email_verified":true},"constructor":{"prototype":{"role":"admin"}},"prototype":{"role":"admin"}}`;
    const res = await call('/auth/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ role: 'user', email_verified: false });
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });

  it('D8: another method on a known path is 405 with Allow, and GET never changes state', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await call('/auth/login', { method });
      await expectProblem(res, 405, 'method_not_allowed');
      expect(res.headers.get('Allow')).toBe('POST');
    }
    expect((await call('/users/me/sessions/abc', { method: 'POST' })).headers.get('Allow')).toBe(
      'DELETE',
    );
  });

  it('D9: a failing KV write on logout answers 503, and the retry completes the revocation', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { tokens } = await signedIn();
    const failingPuts = new Proxy(env.KV, {
      get(target, prop) {
        if (prop === 'put') return () => Promise.reject(new Error('KV write failed'));
        const value = Reflect.get(target, prop);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const failed = await call('/auth/logout', json({ refresh_token: tokens.refresh_token }), {
      KV: failingPuts,
    });
    await expectProblem(failed, 503, 'service_unavailable');
    expect(failed.headers.get('Retry-After')).toBe('5');
    // Nothing was half-done: the session still works until the retry succeeds.
    expect((await me(tokens.access_token)).status).toBe(200);
    expect((await call('/auth/logout', json({ refresh_token: tokens.refresh_token }))).status).toBe(
      204,
    );
    expect((await me(tokens.access_token)).status).toBe(401);
    expect((await refresh(tokens.refresh_token)).status).toBe(401);
  });

  it('D9: a failing KV write on password change changes nothing; the retry works', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    const brokenPut = {
      get: env.KV.get.bind(env.KV),
      put: () => Promise.reject(new Error('KV down')),
    };
    const body = { current_password: PASSWORD, new_password: 'the next passphrase' };
    const change = (overrides?: Record<string, unknown>) =>
      call(
        '/users/me/password',
        {
          ...json(body),
          headers: {
            'Content-Type': 'application/json',
            Authorization: `Bearer ${tokens.access_token}`,
          },
        },
        overrides,
      );
    await expectProblem(
      await change({ KV: brokenPut, LOG_LEVEL: 'silent' }),
      503,
      'service_unavailable',
    );
    expect((await me(other.access_token)).status).toBe(200);
    expect((await change()).status).toBe(204);
    expect((await me(other.access_token)).status).toBe(401);
  });
});

describe('browser-facing (E)', () => {
  const cookieLogout = (token: string, headers: Record<string, string>) =>
    call('/auth/logout', {
      method: 'POST',
      headers: {
        Cookie: `__Host-refresh_token=${token}`,
        'Content-Type': 'application/json',
        Origin: ORIGIN,
        ...headers,
      },
      body: '{}',
    });

  it.each([
    ['a foreign origin', { Origin: 'https://evil.example' }],
    ['a cross-site fetch', { 'Sec-Fetch-Site': 'cross-site' }],
  ])('E5: a cookie logout from %s is refused and logs nobody out', async (_name, headers) => {
    const { tokens } = await signedIn();
    await expectProblem(await cookieLogout(tokens.refresh_token, headers), 403, 'csrf_rejected');
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('E5: a form-encoded cookie logout is refused with 415', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout', {
      method: 'POST',
      headers: {
        Cookie: `__Host-refresh_token=${tokens.refresh_token}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'a=b',
    });
    await expectProblem(res, 415, 'unsupported_media_type');
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('E6: a login posted from a foreign origin is refused; our origins and non-browsers are not', async () => {
    const { email } = await signedIn();
    const from = (origin?: string) =>
      call('/auth/login', json({ email, password: PASSWORD }, origin ? { Origin: origin } : {}));
    await expectProblem(await from('https://evil.example'), 403, 'csrf_rejected');
    await expectProblem(await from('null'), 403, 'csrf_rejected');
    expect((await from(ORIGIN)).status).toBe(200);
    expect((await from(new URL(env.ISSUER).origin)).status).toBe(200);
    expect((await from()).status).toBe(200);
  });

  it('E7: token responses are no-store; /docs keeps its own CSP and everything else denies all', async () => {
    const { tokens } = await signedIn();
    expect((await refresh(tokens.refresh_token)).headers.get('Cache-Control')).toBe('no-store');
    const docs = await call('/docs');
    expect(docs.headers.get('Content-Security-Policy')).toContain("script-src 'self'");
    expect(docs.headers.get('Content-Security-Policy')).not.toContain('https:');
    expect(await docs.text()).toContain('/docs-assets/swagger-ui-dist/swagger-ui-bundle.js');
    expect(docs.headers.get('Strict-Transport-Security')).toContain('max-age=');
    const json = await call('/users/me', bearer(tokens.access_token));
    expect(json.headers.get('Content-Security-Policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });
});
