import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/crypto/tokens';
import {
  call,
  expectProblem,
  json,
  login,
  me,
  ORIGIN,
  refresh,
  signedIn,
  type Tokens,
  sessionDb,
  tokenDb,
} from '../helpers';

const rotated = async (res: Response) => {
  expect(res.status).toBe(200);
  return (await res.json()) as Tokens;
};

/** Moves a token's rotation time into the past, as if `seconds` had passed since. */
async function ageRotation(token: string, seconds: number) {
  await tokenDb(token)
    .prepare('UPDATE refresh_tokens SET used_at = used_at - ? WHERE token_hash = ?')
    .bind(seconds * 1000, await sha256(token))
    .run();
}

describe('POST /auth/refresh', () => {
  it('rotates: a new refresh token, a fresh access token, the same session', async () => {
    const { tokens } = await signedIn();
    const next = await rotated(await refresh(tokens.refresh_token));
    expect(next.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}(?:[B-P][A-Za-z0-9_-]+)?$/);
    expect(next.session_id).toBe(tokens.session_id);
    expect(next.token_type).toBe('Bearer');
    expect((await me(next.access_token)).status).toBe(200);
  });

  it('stores only hashes of refresh tokens', async () => {
    const { tokens } = await signedIn();
    const next = await rotated(await refresh(tokens.refresh_token));
    const { results } = await tokenDb(tokens.refresh_token)
      .prepare('SELECT token_hash FROM refresh_tokens')
      .all();
    const stored = JSON.stringify(results);
    expect(stored).not.toContain(tokens.refresh_token);
    expect(stored).not.toContain(next.refresh_token);
    expect(stored).toContain(await sha256(next.refresh_token));
  });

  it('answers a retry inside the grace window with the identical successor', async () => {
    const { tokens } = await signedIn();
    const first = await rotated(await refresh(tokens.refresh_token));
    const retry = await rotated(await refresh(tokens.refresh_token));
    expect(retry.refresh_token).toBe(first.refresh_token);
    expect(retry.access_token).not.toBe(first.access_token);
    // The successor still works: the retry did not burn it.
    expect((await refresh(first.refresh_token)).status).toBe(200);
  });

  it('never yields two different successors for 10 parallel refreshes of one token', async () => {
    const { tokens } = await signedIn();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => refresh(tokens.refresh_token)),
    );
    const ok = await Promise.all(responses.filter((r) => r.status === 200).map((r) => r.json()));
    expect(ok.length).toBe(10);
    expect(new Set(ok.map((t) => (t as Tokens).refresh_token)).size).toBe(1);
    const { results } = await sessionDb(tokens.session_id)
      .prepare('SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ?')
      .bind(tokens.session_id)
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(2);
  });

  it('with the grace window off, 10 parallel refreshes give one success and revoke the session', async () => {
    const { tokens } = await signedIn();
    const strict = { REFRESH_REUSE_GRACE_SECONDS: '0' };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => refresh(tokens.refresh_token, strict)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBe(1);
    expect(statuses.filter((s) => s === 401).length).toBe(9);
    const winner = (await responses.find((r) => r.status === 200)!.json()) as Tokens;
    // Strict mode treats the losers as reuse: the winner's chain is dead too.
    expect((await refresh(winner.refresh_token, strict)).status).toBe(401);
  });

  it('revokes the whole session when a rotated token is reused after the window', async () => {
    const { tokens } = await signedIn();
    const next = await rotated(await refresh(tokens.refresh_token));
    await ageRotation(tokens.refresh_token, 11);

    const reuse = await refresh(tokens.refresh_token);
    await expectProblem(reuse, 401, 'refresh_token_reused');
    expect(reuse.headers.get('Set-Cookie')).toContain('Max-Age=0');
    // The successor and the session's access tokens are dead.
    await expectProblem(await refresh(next.refresh_token), 401, 'invalid_refresh_token');
    expect((await me(next.access_token)).status).toBe(401);
    expect((await me(tokens.access_token)).status).toBe(401);
    const session = await sessionDb(tokens.session_id)
      .prepare('SELECT revoke_reason FROM sessions WHERE id = ?')
      .bind(tokens.session_id)
      .first<{ revoke_reason: string }>();
    expect(session!.revoke_reason).toBe('refresh_token_reused');
  });

  it('treats a retry as reuse once the successor has itself been used', async () => {
    const { tokens } = await signedIn();
    const r1 = await rotated(await refresh(tokens.refresh_token));
    const r2 = await rotated(await refresh(r1.refresh_token));
    await expectProblem(await refresh(tokens.refresh_token), 401, 'refresh_token_reused');
    await expectProblem(await refresh(r2.refresh_token), 401, 'invalid_refresh_token');
  });

  it('detects reuse of a grandparent token', async () => {
    const { tokens } = await signedIn();
    const r1 = await rotated(await refresh(tokens.refresh_token));
    const r2 = await rotated(await refresh(r1.refresh_token));
    await ageRotation(tokens.refresh_token, 60);
    await expectProblem(await refresh(tokens.refresh_token), 401, 'refresh_token_reused');
    expect((await refresh(r2.refresh_token)).status).toBe(401);
    expect((await me(r2.access_token)).status).toBe(401);
  });

  it('leaves other sessions of the same user alone when one is revoked for reuse', async () => {
    const { email, tokens } = await signedIn();
    const other = await login(email);
    await rotated(await refresh(tokens.refresh_token));
    await ageRotation(tokens.refresh_token, 30);
    await expectProblem(await refresh(tokens.refresh_token), 401, 'refresh_token_reused');
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  it('never extends the absolute session expiry', async () => {
    const { tokens } = await signedIn();
    const next = await rotated(await refresh(tokens.refresh_token));
    expect(next.refresh_expires_in).toBeLessThanOrEqual(tokens.refresh_expires_in);
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET expires_at = ? WHERE id = ?')
      .bind(Date.now() - 1, tokens.session_id)
      .run();
    await expectProblem(await refresh(next.refresh_token), 401, 'invalid_refresh_token');
  });

  it.each([
    ['unknown', 'A'.repeat(43)],
    ['truncated', 'abc'],
    ['empty', ''],
    ['10 KB', 'x'.repeat(4000)],
    ['an access token', 'eyJhbGciOiJSUzI1NiJ9.e30.sig'],
  ])('answers an %s token with the same 401 body', async (_name, token) => {
    const res = await refresh(token);
    const body = await expectProblem(res, 401, 'invalid_refresh_token');
    expect(body).toMatchObject({ detail: 'The refresh token is not valid.' });
  });

  it.each([
    ['an empty JSON object', json({})],
    ['no body at all', { method: 'POST' }],
    [
      'a JSON type and zero bytes',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '' },
    ],
  ])('answers 401 refresh_token_missing, naming the likely cause, for %s', async (_name, init) => {
    const body = await expectProblem(
      await call('/auth/refresh', init as RequestInit),
      401,
      'refresh_token_missing',
    );
    expect(body.detail).toMatch(/__Host-refresh_token cookie/);
    expect(body.detail).toMatch(/same site/);
  });

  it('refuses an access token presented as a refresh token', async () => {
    const { tokens } = await signedIn();
    await expectProblem(await refresh(tokens.access_token), 401, 'invalid_refresh_token');
  });

  it('re-reads the role at every refresh', async () => {
    const { tokens, user } = await signedIn();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(user.id).run();
    const next = await rotated(await refresh(tokens.refresh_token));
    const payload = JSON.parse(
      atob(next.access_token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')),
    );
    expect(payload.role).toBe('admin');
  });

  it('refuses to refresh for a disabled user', async () => {
    const { tokens, user } = await signedIn();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE id = ?')
      .bind(Date.now(), user.id)
      .run();
    await expectProblem(await refresh(tokens.refresh_token), 401, 'invalid_refresh_token');
  });
});

describe('the refresh cookie', () => {
  const cookieOf = (res: Response) => res.headers.get('Set-Cookie') ?? '';
  const cookieRequest = (token: string, headers: Record<string, string> = {}, body = '{}') => ({
    method: 'POST',
    headers: {
      Cookie: `__Host-refresh_token=${token}`,
      'Content-Type': 'application/json',
      Origin: ORIGIN,
      'Sec-Fetch-Site': 'same-site',
      ...headers,
    },
    body,
  });

  it('is set on login with exactly the contract attributes', async () => {
    const { email, password } = await signedIn();
    const res = await call('/auth/login', json({ email, password }));
    const tokens = (await res.json()) as Tokens;
    expect(cookieOf(res)).toBe(
      `__Host-refresh_token=${tokens.refresh_token}; Path=/; Max-Age=${tokens.refresh_expires_in}; HttpOnly; Secure; SameSite=Strict`,
    );
    expect(cookieOf(res)).not.toMatch(/Domain/i);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
  });

  it('alone is enough to refresh from an allowed origin, and is rotated', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/refresh', cookieRequest(tokens.refresh_token));
    const next = await rotated(res);
    expect(cookieOf(res)).toContain(`__Host-refresh_token=${next.refresh_token};`);
  });

  it('alone is enough from the worker’s own origin too (a page it serves)', async () => {
    const { tokens } = await signedIn();
    const own = new URL(env.ISSUER).origin;
    const res = await call(
      '/auth/refresh',
      cookieRequest(tokens.refresh_token, { Origin: own, 'Sec-Fetch-Site': 'same-origin' }),
    );
    await rotated(res);
  });

  it.each([
    ['a foreign Origin', { Origin: 'https://evil.example' }],
    ['a sibling subdomain', { Origin: 'https://evil.app.example.com' }],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['no Origin', { Origin: '' }],
  ])('is refused with 403 csrf_rejected from %s', async (_name, headers) => {
    const { tokens } = await signedIn();
    const res = await call('/auth/refresh', cookieRequest(tokens.refresh_token, headers));
    await expectProblem(res, 403, 'csrf_rejected');
    // Nothing rotated: the token still works.
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });

  it('is refused without a JSON content type (a cross-site form cannot forge one)', async () => {
    const { tokens } = await signedIn();
    const noBody = await call('/auth/refresh', {
      method: 'POST',
      headers: { Cookie: `__Host-refresh_token=${tokens.refresh_token}`, Origin: ORIGIN },
    });
    await expectProblem(noBody, 403, 'csrf_rejected');
    const form = await call(
      '/auth/refresh',
      cookieRequest(tokens.refresh_token, { 'Content-Type': 'text/plain' }),
    );
    await expectProblem(form, 415, 'unsupported_media_type');
  });

  it('is cleared by logout', async () => {
    const { tokens } = await signedIn();
    const res = await call('/auth/logout', cookieRequest(tokens.refresh_token));
    expect(res.status).toBe(204);
    expect(cookieOf(res)).toBe(
      '__Host-refresh_token=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict',
    );
    expect((await refresh(tokens.refresh_token)).status).toBe(401);
  });

  it('drops Secure and the __Host- prefix only in the plain-http development mode', async () => {
    const { email, password } = await signedIn();
    const res = await call('/auth/login', json({ email, password }), {
      COOKIE_INSECURE_DEV: 'true',
    });
    expect(cookieOf(res)).toMatch(
      /^refresh_token=[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
    );
  });
});
