import { describe, expect, it } from 'vitest';
import { signAccessToken } from '../../src/crypto/jwt';
import {
  PASSWORD,
  bearer,
  call,
  expectProblem,
  json,
  login,
  me,
  refresh,
  signedIn,
  withBearer,
  sessionDb,
} from '../helpers';
import { config } from '../tokens';

const logout = (body: unknown, headers: Record<string, string> = {}) =>
  call('/auth/logout', json(body, headers));

describe('POST /auth/logout', () => {
  it('ends the session: the refresh token and the access token stop working', async () => {
    const { tokens } = await signedIn();
    expect((await logout({ refresh_token: tokens.refresh_token })).status).toBe(204);
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
    const res = await me(tokens.access_token);
    await expectProblem(res, 401, 'unauthorized');
    expect(res.headers.get('WWW-Authenticate')).toBe('Bearer');
  });

  it('ends the session of a bearer token alone', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout', withBearer(tokens.access_token, { method: 'POST' }));
    expect(res.status).toBe(204);
    expect((await me(tokens.access_token)).status).toBe(401);
    expect((await refresh(tokens.refresh_token)).status).toBe(401);
  });

  it('is idempotent: twice, unknown, malformed or absent tokens all get 204', async () => {
    const { tokens } = await signedIn();
    for (const body of [
      { refresh_token: tokens.refresh_token },
      { refresh_token: tokens.refresh_token },
      { refresh_token: 'A'.repeat(43) },
      { refresh_token: 'junk' },
      {},
    ]) {
      expect((await logout(body)).status).toBe(204);
    }
  });

  it('leaves the user’s other sessions alone', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    await logout({ refresh_token: tokens.refresh_token });
    expect((await me(other.access_token)).status).toBe(200);
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });
});

describe('POST /auth/logout-all', () => {
  it('ends every session of the user, with their access tokens', async () => {
    const { email, tokens } = await signedIn();
    const second = await login(email);
    const res = await call('/auth/logout-all', withBearer(tokens.access_token, { method: 'POST' }));
    expect(res.status).toBe(204);
    for (const t of [tokens, second]) {
      expect((await me(t.access_token)).status).toBe(401);
      expect((await refresh(t.refresh_token)).status).toBe(401);
    }
  });

  it('does not reject a session started right after it, even within the same second', async () => {
    const { email, tokens } = await signedIn();
    await call('/auth/logout-all', withBearer(tokens.access_token, { method: 'POST' }));
    const fresh = await login(email);
    expect((await me(fresh.access_token)).status).toBe(200);
  });

  it('rejects an older token of the user even from a session it did not know of', async () => {
    const { tokens, user } = await signedIn();
    // Minted before the cut-off for a session id that D1 never saw.
    const stray = await signAccessToken(
      config(),
      { userId: user.id, sessionId: crypto.randomUUID(), role: 'user', emailVerified: false },
      Date.now() - 5_000,
    );
    expect((await me(stray)).status).toBe(200);
    await call('/auth/logout-all', withBearer(tokens.access_token, { method: 'POST' }));
    expect((await me(stray)).status).toBe(401);
  });

  it('requires a bearer token', async () => {
    await expectProblem(await call('/auth/logout-all', { method: 'POST' }), 401, 'unauthorized');
  });
});

describe('the bearer check', () => {
  it('takes a case-insensitive scheme and nothing from the query string', async () => {
    const { tokens } = await signedIn();
    expect(
      (await call('/users/me', { headers: { Authorization: `bearer ${tokens.access_token}` } }))
        .status,
    ).toBe(200);
    expect((await call(`/users/me?access_token=${tokens.access_token}`)).status).toBe(401);
    expect(
      (await call('/users/me', { headers: { Authorization: `Basic ${tokens.access_token}` } }))
        .status,
    ).toBe(401);
  });

  it('refuses a 100 KB Authorization header quickly with 401', async () => {
    await expectProblem(
      await call('/users/me', { headers: { Authorization: `Bearer ${'a'.repeat(100_000)}` } }),
      401,
      'unauthorized',
    );
  });

  it('answers 503, never 401, when the revocation store fails', async () => {
    const { tokens } = await signedIn();
    const brokenKv = {
      get: () => Promise.reject(new Error('KV down')),
      put: () => Promise.resolve(),
    };
    const res = await call('/users/me', bearer(tokens.access_token), {
      KV: brokenKv,
      LOG_LEVEL: 'silent',
    });
    await expectProblem(res, 503, 'service_unavailable');
    expect(res.headers.get('Retry-After')).toBe('5');
  });
});

describe('/users/me', () => {
  it('returns and updates the user', async () => {
    const { tokens, email } = await signedIn();
    const got = await me(tokens.access_token);
    expect(got.headers.get('Cache-Control')).toBe('no-store');
    expect(await got.json()).toMatchObject({ email, name: null, role: 'user' });
    const patched = await call(
      '/users/me',
      withBearer(tokens.access_token, { ...json({ name: ' Ana ' }), method: 'PATCH' }),
    );
    expect(await patched.json()).toMatchObject({ email, name: 'Ana' });
  });

  it('refuses an invalid name with 422 and leaves the row alone', async () => {
    const { tokens } = await signedIn();
    const res = await call(
      '/users/me',
      withBearer(tokens.access_token, { ...json({ name: '' }), method: 'PATCH' }),
    );
    await expectProblem(res, 422, 'validation_failed');
    expect(await (await me(tokens.access_token)).json()).toMatchObject({ name: null });
  });
});

describe('POST /users/me/password', () => {
  const change = (token: string, body: unknown) =>
    call('/users/me/password', withBearer(token, json(body)));

  it('keeps the current session, kills the others, and switches the password', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    const res = await change(tokens.access_token, {
      current_password: PASSWORD,
      new_password: 'a brand new passphrase',
    });
    expect(res.status).toBe(204);
    expect((await me(tokens.access_token)).status).toBe(200);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    expect((await me(other.access_token)).status).toBe(401);
    expect((await refresh(other.refresh_token)).status).toBe(401);
    expect((await call('/auth/login', json({ email, password: PASSWORD }))).status).toBe(401);
    expect(
      (await call('/auth/login', json({ email, password: 'a brand new passphrase' }))).status,
    ).toBe(200);
  });

  it('refuses a wrong current password with 403 (never 401: the session is fine) and changes nothing', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    await expectProblem(
      await change(tokens.access_token, {
        current_password: 'wrong password!',
        new_password: 'a brand new passphrase',
      }),
      403,
      'invalid_current_password',
    );
    expect((await me(other.access_token)).status).toBe(200);
  });

  it('applies the password policy to the new password', async () => {
    const { tokens } = await signedIn();
    const res = await change(tokens.access_token, {
      current_password: PASSWORD,
      new_password: 'short',
    });
    const body = (await expectProblem(res, 422, 'validation_failed')) as unknown as {
      errors: { path: string }[];
    };
    expect(body.errors[0]!.path).toBe('new_password');
  });

  it('checks the session in D1, not only in KV', async () => {
    const { tokens } = await signedIn();
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?')
      .bind(Date.now(), tokens.session_id)
      .run();
    await expectProblem(
      await change(tokens.access_token, {
        current_password: PASSWORD,
        new_password: 'a brand new passphrase',
      }),
      401,
      'unauthorized',
    );
  });
});

describe('/users/me/sessions', () => {
  it('lists live sessions, marks the current one, and deletes one', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email, PASSWORD, {
      'CF-Connecting-IP': '203.0.113.7',
      'User-Agent': 'TestAgent/1',
    });
    const list = await call('/users/me/sessions', bearer(tokens.access_token));
    const { sessions } = (await list.json()) as {
      sessions: { id: string; current: boolean; ip: string | null; user_agent: string | null }[];
    };
    expect(sessions.map((s) => s.id).sort()).toEqual([tokens.session_id, other.session_id].sort());
    expect(sessions.find((s) => s.current)!.id).toBe(tokens.session_id);
    expect(sessions.find((s) => s.id === other.session_id)).toMatchObject({
      ip: '203.0.113.7',
      user_agent: 'TestAgent/1',
    });

    const del = await call(
      `/users/me/sessions/${other.session_id}`,
      withBearer(tokens.access_token, { method: 'DELETE' }),
    );
    expect(del.status).toBe(204);
    expect((await me(other.access_token)).status).toBe(401);
    expect((await refresh(other.refresh_token)).status).toBe(401);
    // Idempotent for your own session (a retry after a failure must complete); unknown is 404.
    const again = await call(
      `/users/me/sessions/${other.session_id}`,
      withBearer(tokens.access_token, { method: 'DELETE' }),
    );
    expect(again.status).toBe(204);
    for (const id of [crypto.randomUUID(), 'x'.repeat(500)]) {
      const res = await call(
        `/users/me/sessions/${id}`,
        withBearer(tokens.access_token, { method: 'DELETE' }),
      );
      await expectProblem(res, 404, 'not_found');
    }
  });

  it('answers 404 for someone else’s session and leaves it alone', async () => {
    const alice = await signedIn();
    const bob = await signedIn();
    const res = await call(
      `/users/me/sessions/${bob.tokens.session_id}`,
      withBearer(alice.tokens.access_token, { method: 'DELETE' }),
    );
    await expectProblem(res, 404, 'not_found');
    expect((await me(bob.tokens.access_token)).status).toBe(200);
    expect((await refresh(bob.tokens.refresh_token)).status).toBe(200);
  });
});
