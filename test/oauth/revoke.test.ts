import { describe, expect, it } from 'vitest';
import {
  call,
  expectProblem,
  json,
  login,
  me,
  ORIGIN,
  refresh,
  sessionDb,
  signedIn,
  signedInAdmin,
  withBearer,
} from '../helpers';
import { nowSeconds, signOurs, validClaims } from '../tokens';
import { FORM, form, isActive, revoke } from './oauth';

const revocations = async (sessionId: string) =>
  // Session events are audited in the session's shard (docs/sharding.md).
  (
    await sessionDb(sessionId)
      .prepare(
        "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'session.revoked' AND json_extract(detail, '$.session_id') = ? AND json_extract(detail, '$.via') = 'oauth_revoke'",
      )
      .bind(sessionId)
      .first<{ n: number }>()
  )?.n;

/** The session still works: its access token is accepted and its refresh token rotates. */
async function expectAlive(tokens: { access_token: string; refresh_token: string }) {
  expect((await me(tokens.access_token)).status).toBe(200);
  expect((await refresh(tokens.refresh_token)).status).toBe(200);
}

describe('POST /oauth/revoke', () => {
  it('an access token: 200, the worker refuses it at once, its session ends, introspection says false', async () => {
    const { tokens } = await signedIn();
    const res = await revoke({ token: tokens.access_token });
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.text()).toBe('');
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
    expect(await isActive(tokens.access_token)).toBe(false);
    expect(await revocations(tokens.session_id)).toBe(1);
  });

  it("a refresh token: its whole session ends, the session's access tokens are refused", async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    expect((await revoke({ token: tokens.refresh_token })).status).toBe(200);
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
    expect(await isActive(tokens.access_token)).toBe(false);
    // Only that session: the user's other one goes on.
    await expectAlive(other);
  });

  it('finds the token whatever token_type_hint says (RFC 7009 §2.1), and ignores an unknown hint', async () => {
    for (const [kind, hint] of [
      ['refresh_token', 'access_token'],
      ['access_token', 'refresh_token'],
      ['refresh_token', 'id_token'],
      ['access_token', 'x'.repeat(200)],
    ] as const) {
      const { tokens } = await signedIn();
      const res = await revoke({ token: tokens[kind], token_type_hint: hint });
      expect(res.status, `${kind} with hint ${hint.slice(0, 20)}`).toBe(200);
      await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
    }
  });

  it('answers 200 for unknown, malformed, expired and foreign tokens, and changes nothing', async () => {
    const { user, tokens } = await signedIn();
    const expired = await signOurs(
      validClaims({
        sub: user.id,
        sid: tokens.session_id,
        iat: nowSeconds() - 3600,
        exp: nowSeconds() - 1800,
      }),
    );
    const notOurs = await signOurs(validClaims({ iss: 'https://evil.test' }));
    for (const token of [
      'A'.repeat(43),
      'not a token',
      'x.y.z',
      expired,
      notOurs,
      `${tokens.access_token}x`,
      'a'.repeat(10_000),
    ]) {
      const res = await revoke({ token });
      expect(res.status, token.slice(0, 40)).toBe(200);
    }
    await expectAlive(tokens);
    expect(await revocations(tokens.session_id)).toBe(0);
  });

  it('an access token the worker no longer accepts (cut by a role change) ends nothing', async () => {
    const { tokens: admin } = await signedInAdmin();
    const { user, tokens } = await signedIn();
    const promote = await call(
      `/admin/users/${user.id}`,
      withBearer(admin.access_token, { ...json({ role: 'admin' }), method: 'PATCH' }),
    );
    expect(promote.status).toBe(200);
    expect((await revoke({ token: tokens.access_token })).status).toBe(200);
    // The session goes on: its refresh token still rotates, into the new role.
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    expect(await revocations(tokens.session_id)).toBe(0);
  });

  it('revoking twice, or an already ended session, is still 200 and audited once', async () => {
    const { tokens } = await signedIn();
    const results = await Promise.all([
      revoke({ token: tokens.refresh_token }),
      revoke({ token: tokens.refresh_token }),
      revoke({ token: tokens.access_token }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await revoke({ token: tokens.refresh_token })).status).toBe(200);
    expect(await revocations(tokens.session_id)).toBe(1);
  });

  it('accepts the form type with charset=utf-8', async () => {
    const { tokens } = await signedIn();
    const res = await revoke(
      { token: tokens.refresh_token },
      { 'Content-Type': `${FORM}; charset=UTF-8` },
    );
    expect(res.status).toBe(200);
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
  });

  it('never reads the refresh cookie: a cross-site form with the cookie ends no session', async () => {
    const { tokens } = await signedIn();
    const cookie = { Cookie: `__Host-refresh_token=${tokens.refresh_token}` };
    // What a foreign page's <form> makes the browser send (no Origin from some browsers).
    const bodiless = await call('/oauth/revoke', { method: 'POST', headers: cookie });
    await expectProblem(bodiless, 400, 'invalid_request');
    const other = await revoke({ token: 'A'.repeat(43) }, cookie);
    expect(other.status).toBe(200);
    await expectAlive(tokens);
  });

  it('keeps the Origin rule: a page that is not allowed gets 403 and nothing is revoked', async () => {
    const { tokens } = await signedIn();
    const res = await revoke({ token: tokens.refresh_token }, { Origin: 'https://evil.test' });
    await expectProblem(res, 403, 'csrf_rejected');
    expect((await revoke({ token: tokens.access_token }, { Origin: ORIGIN })).status).toBe(200);
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
  });
});

describe('POST /oauth/revoke: requests it refuses (nothing changes)', () => {
  it('a JSON body is 415 with a clear problem, never read as an empty form', async () => {
    const { tokens } = await signedIn();
    const res = await call('/oauth/revoke', json({ token: tokens.refresh_token }));
    const body = await expectProblem(res, 415, 'unsupported_media_type');
    expect(body.error).toBe('invalid_request');
    expect(body.detail).toMatch(/application\/x-www-form-urlencoded/);
    expect(body.detail).toMatch(/JSON/);
    await expectAlive(tokens);
  });

  it.each([
    ['text/plain', (t: string) => `token=${t}`],
    [
      'multipart/form-data; boundary=x',
      (t: string) => `--x\r\nContent-Disposition: form-data; name="token"\r\n\r\n${t}\r\n--x--\r\n`,
    ],
    ['application/x-www-form-urlencoded; charset=iso-8859-1', (t: string) => `token=${t}`],
    [null, (t: string) => `token=${t}`],
  ])('another type (%s) is 415', async (type, body) => {
    const { tokens } = await signedIn();
    const headers: Record<string, string> = type ? { 'Content-Type': type } : {};
    const res = await call('/oauth/revoke', {
      method: 'POST',
      headers,
      body: new TextEncoder().encode(body(tokens.refresh_token)),
    });
    await expectProblem(res, 415, 'unsupported_media_type');
    await expectAlive(tokens);
  });

  it.each([
    ['no body, no Content-Type', {}],
    ['Content-Length: 0', { headers: { 'Content-Length': '0' } }],
    ['zero bytes as a form', { headers: { 'Content-Type': FORM }, body: '' }],
    ['zero bytes as JSON', { headers: { 'Content-Type': 'application/json' }, body: '' }],
  ])('a bodiless request (%s) is 400 invalid_request naming the token', async (_name, init) => {
    const res = await call('/oauth/revoke', { ...init, method: 'POST' });
    const body = await expectProblem(res, 400, 'invalid_request');
    expect(body.error).toBe('invalid_request');
    expect(body.detail).toMatch(/"token"/);
  });

  it('an empty token is no token (RFC 6749 §3.1), a repeated one is refused (§3.2)', async () => {
    const { tokens } = await signedIn();
    await expectProblem(await revoke({ token: '' }), 400, 'invalid_request');
    const twice = `token=${tokens.refresh_token}&token=${tokens.refresh_token}`;
    const res = await call('/oauth/revoke', {
      method: 'POST',
      headers: { 'Content-Type': FORM },
      body: twice,
    });
    await expectProblem(res, 400, 'invalid_request');
    await expectAlive(tokens);
  });

  it('a body over 16 KiB is 413', async () => {
    const res = await revoke({ token: 'a'.repeat(17 * 1024) });
    await expectProblem(res, 413, 'payload_too_large');
  });

  it('GET is 405 with Allow: POST', async () => {
    const res = await call('/oauth/revoke');
    await expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.get('Allow')).toBe('POST');
  });

  it('is rate-limited per client IP with the refresh budget, counted on its own', async () => {
    const ip = { 'CF-Connecting-IP': '198.51.100.77' };
    const tight = { RATE_LIMIT_REFRESH: '2/60' };
    const send = () => call('/oauth/revoke', form({ token: 'A'.repeat(43) }, ip), tight);
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    const limited = await send();
    await expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('Retry-After'))).toBeGreaterThan(0);
    // /auth/refresh has its own count under the same budget.
    const refreshed = await call(
      '/auth/refresh',
      json({ refresh_token: 'A'.repeat(43) }, ip),
      tight,
    );
    await expectProblem(refreshed, 401, 'invalid_refresh_token');
  });
});

describe('the JSON rule stays on every other route', () => {
  it('a form body to /auth/logout is still 415, and the session stays', async () => {
    const { tokens } = await signedIn();
    const res = await call(
      '/auth/logout',
      withBearer(tokens.access_token, form({ refresh_token: tokens.refresh_token })),
    );
    await expectProblem(res, 415, 'unsupported_media_type');
    await expectAlive(tokens);
  });

  it('a form body to /auth/login is still 415', async () => {
    const res = await call('/auth/login', form({ email: 'a@example.com', password: 'x' }));
    await expectProblem(res, 415, 'unsupported_media_type');
  });
});
