// API.md, Conventions: a request without a body (no Content-Type, `Content-Length: 0`, or zero
// bytes under any content type) is a request without a body, never a 415 or 400. These are the
// forms curl, Python requests, fetch and Swagger UI send for DELETE and bodiless POST; workerd
// hands the worker a non-null empty stream for some of them, as `new Uint8Array(0)` does here.
// e2e/phases/real-clients.mjs sends the same calls over real HTTP with real clients.
import { describe, expect, it } from 'vitest';
import { call, expectProblem, login, signedIn, signedInAdmin, withBearer } from './helpers';

const BODILESS: [string, RequestInit][] = [
  ['no body, no Content-Type', {}],
  ['Content-Length: 0', { headers: { 'Content-Length': '0' } }],
  ['an empty stream without a type', { body: new Uint8Array(0) }],
  ['zero bytes as text/plain (what fetch sends for body: "")', { body: '' }],
  ['zero bytes as application/json', { headers: { 'Content-Type': 'application/json' }, body: '' }],
  [
    'zero bytes as a form',
    { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' },
  ],
];

/** `init` sent as `method` with a bearer token, the form's headers kept. */
function bodiless(method: string, token: string, form: RequestInit): RequestInit {
  const headers = { ...(form.headers as Record<string, string>), Authorization: `Bearer ${token}` };
  return { ...form, method, headers };
}

describe.each(BODILESS)('a bodiless request: %s', (_name, form) => {
  it('DELETE /users/me/sessions/{id} answers 204', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    const res = await call(
      `/users/me/sessions/${other.session_id}`,
      bodiless('DELETE', tokens.access_token, form),
    );
    expect(res.status, await res.clone().text()).toBe(204);
  });

  it('DELETE /admin/users/{id}/sessions answers 204', async () => {
    const { tokens } = await signedInAdmin();
    const { user } = await signedIn();
    const res = await call(
      `/admin/users/${user.id}/sessions`,
      bodiless('DELETE', tokens.access_token, form),
    );
    expect(res.status, await res.clone().text()).toBe(204);
  });

  it('POST /auth/logout-all answers 204', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout-all', bodiless('POST', tokens.access_token, form));
    expect(res.status, await res.clone().text()).toBe(204);
  });

  it('POST /auth/logout with only a Bearer token answers 204 and ends that session', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout', bodiless('POST', tokens.access_token, form));
    expect(res.status, await res.clone().text()).toBe(204);
    await expectProblem(
      await call('/users/me', withBearer(tokens.access_token)),
      401,
      'unauthorized',
    );
  });

  it('POST /auth/refresh answers 401 refresh_token_missing', async () => {
    const res = await call('/auth/refresh', { ...form, method: 'POST' });
    await expectProblem(res, 401, 'refresh_token_missing');
  });

  it('POST /auth/login (a route that needs a body) answers 422 naming the fields', async () => {
    const res = await call('/auth/login', { ...form, method: 'POST' });
    const body = await expectProblem(res, 422, 'validation_failed');
    expect((body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'email',
      'password',
    ]);
  });
});

describe('bodies that are there are still checked', () => {
  it('a non-empty body of another type is 415, also on a route that takes none', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout-all', {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens.access_token}`, 'Content-Type': 'text/plain' },
      body: 'x',
    });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('a JSON body that is not an object is 400', async () => {
    const { tokens } = await signedIn();
    const res = await call(
      '/auth/logout-all',
      withBearer(tokens.access_token, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '[]',
      }),
    );
    await expectProblem(res, 400, 'invalid_request');
  });
});

describe('a method no route answers', () => {
  it.each([
    ['PUT', '/auth/login', 'POST'],
    ['PUT', '/users/me', 'GET, PATCH'],
    ['POST', '/users/me/sessions/abc', 'DELETE'],
  ])('%s %s is 405 with Allow, whatever the body', async (method, path, allow) => {
    for (const init of [
      {},
      { headers: { 'Content-Type': 'text/plain' }, body: 'x' },
      { headers: { 'Content-Type': 'application/json' }, body: '{"email":"a@b.c"}' },
    ]) {
      const res = await call(path, { ...init, method });
      await expectProblem(res, 405, 'method_not_allowed');
      expect(res.headers.get('Allow')).toBe(allow);
    }
  });
});
