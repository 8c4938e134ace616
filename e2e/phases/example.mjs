// The downstream example (examples/downstream-worker) as a second Worker under `wrangler dev`,
// verifying the running auth worker's tokens through @edge-auth/verify: keys found by discovery,
// the JWKS cached for its Cache-Control lifetime, refetched once for an unknown kid.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { quickStarts } from '../../scripts/lib/readme-blocks.mjs';
import { check, root, sleep } from '../lib/harness.mjs';
import { claimsLike, client, expectStatus, jwt, sign, tamper } from '../lib/http.mjs';
import { login, verifiedUser } from '../lib/flows.mjs';
import { discoveryFetches, jwksFetches, startExampleWorker } from '../lib/worker.mjs';

export const COOLDOWN_SECONDS = 3;
const WORKER = 'examples/downstream-worker/src/index.ts';

export async function example(ctx) {
  const { worker, signingKey, audience, appUrl } = ctx;
  await check(`the README's Hono API quick start is ${WORKER}, the Worker this phase runs`, () => {
    const block = quickStarts(join(root, 'README.md'))[WORKER];
    assert.equal(block, readFileSync(join(root, WORKER), 'utf8'));
  });

  const { email, user } = await verifiedUser(worker.url, 'example', appUrl);
  const fresh = (await login(worker.url, email)).access_token;
  const now = Math.floor(Date.now() / 1000);

  const downstream = await startExampleWorker({
    name: 'downstream-example',
    vars: {
      AUTH_ISSUER: worker.url,
      AUTH_AUDIENCE: audience,
      JWKS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
    },
  });
  ctx.cleanups.push(() => downstream.stop());
  const api = client(downstream.url);
  const me = (token) => api.get('/api/me', { bearer: token });
  let fetchedAt;

  await check(
    'accepts a fresh token: 200 with sub and role; discovery, then one JWKS fetch',
    async () => {
      const before = await jwksFetches(worker);
      const discoveredBefore = await discoveryFetches(worker);
      const res = expectStatus(await me(fresh), 200);
      fetchedAt = Date.now();
      assert.equal(jwt.header(fresh).kid, signingKey.kid);
      assert.deepEqual(res.body, {
        sub: user.id,
        sid: jwt.claims(fresh).sid,
        role: 'user',
        email_verified: true,
      });
      assert.equal((await jwksFetches(worker)) - before, 1, 'one JWKS fetch for the first token');
      assert.equal((await discoveryFetches(worker)) - discoveredBefore, 1, 'one discovery request');
    },
  );

  await check('/api/admin: 403 insufficient_scope for a user, 200 for an admin token', async () => {
    const refused = expectStatus(await api.get('/api/admin', { bearer: fresh }), 403, 'forbidden');
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"');
    const admin = await sign(signingKey, claimsLike(fresh, { role: 'admin' }));
    const res = expectStatus(await api.get('/api/admin', { bearer: admin }), 200);
    assert.equal(res.body.admin, user.id);
  });

  await check(
    '401 + WWW-Authenticate: no token, tampered, wrong aud/iss/typ, missing sid',
    async () => {
      const anonymous = expectStatus(await api.get('/api/me'), 401);
      assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
      const bad = {
        tampered: tamper(fresh),
        wrong_audience: await sign(signingKey, claimsLike(fresh, { aud: 'some-other-api' })),
        wrong_issuer: await sign(
          signingKey,
          claimsLike(fresh, { iss: 'https://evil.example.com' }),
        ),
        wrong_typ: await sign(signingKey, claimsLike(fresh), { typ: 'JWT' }),
        missing_sid: await sign(signingKey, claimsLike(fresh, { sid: undefined })),
      };
      for (const [name, token] of Object.entries(bad)) {
        const res = await me(token);
        assert.equal(res.status, 401, `${name}: ${res.status} ${res.text}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      }
    },
  );

  await check('allows 30 s of clock skew: expired 20 s ago passes, 45 s ago fails', async () => {
    const t = Math.floor(Date.now() / 1000);
    const within = await sign(signingKey, claimsLike(fresh, { iat: t - 900, exp: t - 20 }));
    const beyond = await sign(signingKey, claimsLike(fresh, { iat: t - 900, exp: t - 45 }));
    expectStatus(await me(within), 200);
    expectStatus(await me(beyond), 401);
  });

  await check('the JWKS stays cached: no fetch for known kids', async () => {
    const before = await jwksFetches(worker);
    for (let i = 0; i < 5; i++) expectStatus(await me(fresh), 200);
    assert.equal((await jwksFetches(worker)) - before, 0);
  });

  await check(
    `an unknown kid refetches the JWKS at most once per ${COOLDOWN_SECONDS} s`,
    async () => {
      const stranger = await generateSigningKey();
      const unknown = await sign(stranger, claimsLike(fresh, { iat: now }));
      // Let the cooldown since the first fetch run out.
      await sleep(Math.max(0, fetchedAt + COOLDOWN_SECONDS * 1000 + 300 - Date.now()));
      let before = await jwksFetches(worker);
      for (let i = 0; i < 4; i++) expectStatus(await me(unknown), 401);
      assert.equal(
        (await jwksFetches(worker)) - before,
        1,
        'one refetch for four unknown-kid tokens',
      );
      await sleep(COOLDOWN_SECONDS * 1000 + 300);
      before = await jwksFetches(worker);
      expectStatus(await me(unknown), 401);
      assert.equal((await jwksFetches(worker)) - before, 1, 'after the cooldown, one more refetch');
      expectStatus(await me(fresh), 200);
    },
  );

  await downstream.stop();
}
