// The full journey over real HTTP against the running worker: register, verify the email through
// the dev mailbox, log in, /users/me, refresh via body and via cookie, log out, a reuse attack.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { check } from '../lib/harness.mjs';
import { PASSWORD, REFRESH_COOKIE, client, expectStatus, jwt, uniqueEmail } from '../lib/http.mjs';
import { login, mailTo, verificationToken } from '../lib/flows.mjs';

export async function journey(ctx) {
  const { worker, appOrigin, appUrl, audience, signingKid } = ctx;
  const api = client(worker.url);
  const email = uniqueEmail('journey');
  let tokens;

  await check('register: 201 user object, unverified, no-store', async () => {
    const res = expectStatus(
      await api.post('/auth/register', { email: `  ${email.toUpperCase()} `, password: PASSWORD }),
      201,
    );
    assert.equal(res.body.email, email, 'email is trimmed and lower-cased');
    assert.equal(res.body.email_verified, false);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    assert.ok(res.headers.get('x-request-id'));
    expectStatus(
      await api.post('/auth/register', { email, password: PASSWORD }),
      409,
      'email_taken',
    );
  });

  let verifyToken;
  await check('verification mail in /dev/mailbox.json links to APP_URL/verify-email', async () => {
    const message = await mailTo(worker.url, email, /confirm/i);
    verifyToken = verificationToken(message, appUrl);
    assert.ok(verifyToken.length >= 43);
  });

  await check('verify email: 200 verified; the same token again is 400 invalid_token', async () => {
    const res = expectStatus(await api.post('/auth/email/verify', { token: verifyToken }), 200);
    assert.equal(res.body.email_verified, true);
    expectStatus(
      await api.post('/auth/email/verify', { token: verifyToken }),
      400,
      'invalid_token',
    );
  });

  await check('login: wrong password 401 invalid_credentials, right one 200 + cookie', async () => {
    expectStatus(
      await api.post('/auth/login', { email, password: `${PASSWORD}x` }),
      401,
      'invalid_credentials',
    );
    const res = expectStatus(await api.post('/auth/login', { email, password: PASSWORD }), 200);
    tokens = res.body;
    assert.equal(tokens.token_type, 'Bearer');
    assert.match(tokens.refresh_token, /^[A-Za-z0-9_-]{43,}$/);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/);
    const cookie = res.cookies.find((c) => c.name === REFRESH_COOKIE);
    assert.ok(cookie, `Set-Cookie ${REFRESH_COOKIE}: ${res.headers.getSetCookie()}`);
    assert.equal(cookie.value, tokens.refresh_token);
    assert.equal(cookie.attrs.path, '/');
    assert.equal(cookie.attrs.httponly, true);
    assert.equal(cookie.attrs.secure, true);
    assert.equal(String(cookie.attrs.samesite).toLowerCase(), 'strict');
    assert.equal(cookie.attrs.domain, undefined);
  });

  await check('access token: RS256, typ at+jwt, our kid, iss/aud/sub/sid/jti/exp', async () => {
    const header = jwt.header(tokens.access_token);
    const claims = jwt.claims(tokens.access_token);
    assert.deepEqual(
      { alg: header.alg, typ: header.typ, kid: header.kid },
      { alg: 'RS256', typ: 'at+jwt', kid: signingKid },
    );
    assert.equal(claims.iss, worker.url);
    assert.equal(claims.aud, audience);
    assert.equal(claims.sid, tokens.session_id);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.role, 'user');
    assert.ok(claims.jti && claims.sub);
    assert.equal(claims.exp - claims.iat, tokens.expires_in);
  });

  await check('/users/me: 200 with the bearer token, 401 + WWW-Authenticate without', async () => {
    const me = expectStatus(await api.get('/users/me', { bearer: tokens.access_token }), 200);
    assert.equal(me.body.email, email);
    assert.equal(me.body.email_verified, true);
    const anonymous = expectStatus(await api.get('/users/me'), 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  await check('refresh via body: 200, a new refresh token and a new access token', async () => {
    const res = expectStatus(
      await api.post('/auth/refresh', { refresh_token: tokens.refresh_token }),
      200,
    );
    assert.notEqual(res.body.refresh_token, tokens.refresh_token);
    assert.equal(res.body.session_id, tokens.session_id);
    assert.ok(
      res.cookies.some((c) => c.name === REFRESH_COOKIE && c.value === res.body.refresh_token),
    );
    tokens = res.body;
  });

  await check(
    'refresh via cookie: 403 csrf_rejected without or with a foreign Origin',
    async () => {
      const cookie = `${REFRESH_COOKIE}=${tokens.refresh_token}`;
      expectStatus(await api.post('/auth/refresh', {}, { cookie }), 403, 'csrf_rejected');
      expectStatus(
        await api.post('/auth/refresh', {}, { cookie, headers: { Origin: 'http://127.0.0.1:1' } }),
        403,
        'csrf_rejected',
      );
      expectStatus(
        await api.post(
          '/auth/refresh',
          {},
          { cookie, headers: { Origin: appOrigin, 'Sec-Fetch-Site': 'cross-site' } },
        ),
        403,
        'csrf_rejected',
      );
    },
  );

  await check('refresh via cookie: 200 with the allowed Origin, rotated cookie', async () => {
    const res = expectStatus(
      await api.post(
        '/auth/refresh',
        {},
        { cookie: `${REFRESH_COOKIE}=${tokens.refresh_token}`, headers: { Origin: appOrigin } },
      ),
      200,
    );
    assert.notEqual(res.body.refresh_token, tokens.refresh_token);
    const cookie = res.cookies.find((c) => c.name === REFRESH_COOKIE);
    assert.equal(cookie?.value, res.body.refresh_token);
    assert.equal(res.headers.get('access-control-allow-origin'), appOrigin);
    assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
    tokens = res.body;
  });

  await check('logout: 204, cookie cleared; the token and the session are dead', async () => {
    const res = expectStatus(
      await api.post(
        '/auth/logout',
        {},
        {
          cookie: `${REFRESH_COOKIE}=${tokens.refresh_token}`,
          headers: { Origin: appOrigin },
          bearer: tokens.access_token,
        },
      ),
      204,
    );
    const cleared = res.cookies.find((c) => c.name === REFRESH_COOKIE);
    assert.ok(
      cleared && cleared.value === '' && cleared.attrs['max-age'] === '0',
      'cookie cleared',
    );
    expectStatus(
      await api.post('/auth/refresh', { refresh_token: tokens.refresh_token }),
      401,
      'invalid_refresh_token',
    );
    expectStatus(await api.get('/users/me', { bearer: tokens.access_token }), 401);
    // Idempotent: logging out again with the dead token is still 204.
    expectStatus(await api.post('/auth/logout', { refresh_token: tokens.refresh_token }), 204);
  });

  await check('parallel refresh of one token: one successor for all (grace window)', async () => {
    const fresh = await login(worker.url, email);
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        api.post('/auth/refresh', { refresh_token: fresh.refresh_token }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    assert.ok(
      statuses.every((s) => s === 200),
      `statuses ${statuses}`,
    );
    const successors = new Set(answers.map((a) => a.body.refresh_token));
    assert.equal(successors.size, 1, 'exactly one successor token');
    await api.post('/auth/logout', { refresh_token: [...successors][0] });
  });

  await check('reuse attack: a replayed retired token revokes the whole session', async () => {
    const victim = await login(worker.url, email);
    // The victim rotates twice; the attacker kept the first token.
    const second = expectStatus(
      await api.post('/auth/refresh', { refresh_token: victim.refresh_token }),
      200,
    ).body;
    const third = expectStatus(
      await api.post('/auth/refresh', { refresh_token: second.refresh_token }),
      200,
    ).body;
    const attack = expectStatus(
      await api.post('/auth/refresh', { refresh_token: victim.refresh_token }),
      401,
      'refresh_token_reused',
    );
    assert.ok(
      attack.cookies.some((c) => c.name === REFRESH_COOKIE && c.value === ''),
      'the reuse answer clears the cookie',
    );
    // Every token of the chain is dead, the newest included, and so is the access token here.
    expectStatus(await api.post('/auth/refresh', { refresh_token: third.refresh_token }), 401);
    expectStatus(await api.get('/users/me', { bearer: third.access_token }), 401);
    // Other sessions of the same user are untouched.
    const other = await login(worker.url, email);
    expectStatus(await api.get('/users/me', { bearer: other.access_token }), 200);
    ctx.journeyUser = { email, password: PASSWORD };
  });

  // The deploy workflow's smoke test (.github/workflows/deploy.yml), run here against the local
  // worker exactly as it runs against a deployed one: every step passes and the throwaway
  // account it made is deleted through POST /users/me/delete.
  await check(
    'scripts/smoke.mjs: ready, JWKS, sign-up, sign-in, refresh, self-deletion',
    async () => {
      const run = spawnSync(process.execPath, ['scripts/smoke.mjs', worker.url], {
        cwd: new URL('../../', import.meta.url).pathname,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const lines = run.stdout.trim().split('\n');
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.deepEqual(
        lines.slice(0, -1).map((l) => /^(\w+)\s+([\w-]+)/.exec(l)?.slice(1).join(' ')),
        [
          'ok ready',
          'ok JWKS',
          'ok sign-up',
          'ok sign-in',
          'ok refresh',
          'ok delete',
          'ok deleted',
        ],
        run.stdout,
      );
      assert.equal(lines.at(-1), `smoke ${worker.url}: all steps passed`);
    },
  );
}
