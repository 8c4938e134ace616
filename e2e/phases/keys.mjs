// Keys without humans (docs/keys.md), end to end: the worker imports its bootstrap key, makes,
// publishes, promotes and drops keys on its own schedule (wrangler's /__scheduled standing in
// for the cron) and on the admin route, while sign-ins and refreshes run in a loop. jose's
// createRemoteJWKSet and @edge-auth/verify verify every token with zero failures, no key signs
// before it was published for one cache lifetime plus skew, and a removed key's tokens are
// refused by the worker at once and by both verifiers after their cache lifetime.
import assert from 'node:assert/strict';
import { createVerifier } from '@edge-auth/verify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { login, verifiedUser } from '../lib/flows.mjs';
import { check, runProcess, sleep } from '../lib/harness.mjs';
import { client, expectStatus, jwt, request } from '../lib/http.mjs';
import { startAuthWorker } from '../lib/worker.mjs';

// Short timings, so two rotations fit in two minutes: a next key signs 2 (JWKS max-age) + 2
// (ring TTL) + 30 (skew) = 34 s after it was stored; each key is current for 40 s; a retired
// key stays published 60 (token lifetime) + 30 + 2 s.
const JWKS_MAX_AGE = 2;
const INTERVAL = 40;
const TTL = 60;
const SKEW = 30;
const LOOP_LIMIT_MS = 200_000;

export async function keys(ctx) {
  const { authVars, audience, appUrl } = ctx;
  const bootstrap = await generateSigningKey();
  const auth = await startAuthWorker({
    name: 'keys',
    vars: {
      ...authVars,
      JWT_SIGNING_KEYS: JSON.stringify({ keys: [bootstrap] }),
      KEY_ROTATION_INTERVAL: String(INTERVAL),
      JWKS_MAX_AGE: String(JWKS_MAX_AGE),
      ACCESS_TOKEN_TTL: String(TTL),
      RATE_LIMIT_REFRESH: '100000/60',
    },
    devArgs: ['--test-scheduled'],
  });
  ctx.cleanups.push(() => auth.stop());
  const api = client(auth.url);
  const issuer = auth.url;

  const joseKeys = createRemoteJWKSet(new URL('/.well-known/jwks.json', issuer), {
    cacheMaxAge: JWKS_MAX_AGE * 1000,
    cooldownDuration: 1000,
  });
  const viaJose = (token) =>
    jwtVerify(token, joseKeys, {
      issuer,
      audience,
      algorithms: ['RS256'],
      typ: 'at+jwt',
      clockTolerance: SKEW,
    }).then(
      () => ({ ok: true }),
      (err) => ({ ok: false, reason: err.code ?? String(err) }),
    );
  const ours = createVerifier({ issuer, audience, cooldownSeconds: 1 });
  const viaVerify = (token) => ours.verify(token);

  let admin;
  const adminToken = async () => (await login(auth.url, admin.email)).access_token;

  const users = [];
  const firstSeen = new Map(); // kid -> first poll that found it in the JWKS
  const lastPresent = new Map(); // kid -> last poll that found it there
  const firstUsed = new Map(); // kid -> when it signed its first token (the jti's UUIDv7 time)
  const latestToken = new Map(); // kid -> the newest token it signed
  const failures = [];
  let verified = 0;
  let calls = 0;

  /** The kids the JWKS publishes now, noting when each was first and last seen. */
  const pollJwks = async () => {
    const at = Date.now();
    const kids = expectStatus(await api.get('/.well-known/jwks.json'), 200).body.keys.map(
      (k) => k.kid,
    );
    for (const kid of kids) {
      if (!firstSeen.has(kid)) firstSeen.set(kid, at);
      lastPresent.set(kid, at);
    }
    return kids;
  };
  const verifyEverywhere = async (token, label) => {
    for (const [name, verify] of [
      ['jose', viaJose],
      ['@edge-auth/verify', viaVerify],
    ]) {
      const result = await verify(token);
      verified++;
      if (!result.ok)
        failures.push(`${name}: ${label} (${jwt.header(token).kid}): ${result.reason}`);
    }
  };

  // Watches the JWKS all along, from before the first key is made: a key counts as published
  // from the first poll that lists it (never earlier than it was).
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await pollJwks().catch(() => {});
      await sleep(200);
    }
  })();
  const signedAt = (token) => parseInt(jwt.claims(token).jti.replaceAll('-', '').slice(0, 12), 16);

  await check(
    'an admin (admin:grant), and the bootstrap key imported on the first admin call',
    async () => {
      admin = await verifiedUser(auth.url, 'keys-admin', appUrl);
      const grant = await runProcess(
        'npm',
        ['run', '-s', 'admin:grant', '--', admin.email, '--persist-to', auth.persistTo],
        { timeoutMs: 60_000 },
      );
      assert.equal(grant.code, 0, `admin:grant: ${grant.stderr || grant.stdout}`);
      const { keys } = expectStatus(
        await api.get('/admin/keys', { bearer: await adminToken() }),
        200,
      ).body;
      assert.deepEqual(
        keys.map((k) => [k.kid === bootstrap.kid ? 'bootstrap' : 'made', k.state]),
        [
          ['made', 'next'],
          ['bootstrap', 'current'],
        ],
      );
      expectStatus(
        await request(issuer, 'POST', '/admin/keys/rotate', { bearer: await adminToken() }),
        202,
      );
    },
  );

  await check(
    'two rotations under traffic: jose and @edge-auth/verify verify every token, zero failures',
    async () => {
      for (const i of [1, 2, 3]) {
        const user = await verifiedUser(auth.url, `keys-${i}`, appUrl);
        users.push({ ...user, tokens: await login(auth.url, user.email) });
      }
      const started = Date.now();
      let lastSchedule = 0;
      for (let tick = 0; ; tick++) {
        assert.ok(Date.now() - started < LOOP_LIMIT_MS, `loop ran ${LOOP_LIMIT_MS} ms`);
        if (Date.now() - lastSchedule > 5000) {
          // What the cron does in production, on wrangler dev's test endpoint.
          expectStatus(await api.get('/__scheduled?cron=17+*+*+*+*'), 200);
          lastSchedule = Date.now();
        }
        const published = await pollJwks();
        // Done once three keys have signed and the bootstrap key has left the JWKS.
        if (firstUsed.size >= 3 && !published.includes(bootstrap.kid)) break;
        const user = users[tick % users.length];
        const res =
          tick % 10 === 0
            ? await api.post('/auth/login', { email: user.email, password: user.password })
            : await api.post('/auth/refresh', { refresh_token: user.tokens.refresh_token });
        user.tokens = expectStatus(res, 200).body;
        calls++;
        const token = user.tokens.access_token;
        const { kid } = jwt.header(token);
        if (!firstUsed.has(kid)) firstUsed.set(kid, signedAt(token));
        latestToken.set(kid, token);
        expectStatus(await api.get('/users/me', { bearer: token }), 200);
        // The new token, and the newest token of every key while it lives.
        for (const [k, t] of latestToken) {
          if (jwt.claims(t).exp * 1000 > Date.now() + 2000)
            await verifyEverywhere(t, `tick ${tick}`);
          else latestToken.delete(k);
        }
        await sleep(250);
      }
      polling = false;
      await poller;
      assert.deepEqual(failures, [], `${failures.length} of ${verified} verifications failed`);
      const kids = [...firstUsed.keys()];
      assert.equal(kids[0], bootstrap.kid);
      assert.ok(kids.length >= 3, `keys that signed: ${kids.length}`);
      return `${calls} sign-ins and refreshes, ${verified} verifications, ${kids.length} keys, ${Math.round((Date.now() - started) / 1000)} s`;
    },
  );

  await check(
    'each new key was published a cache lifetime plus skew before its first token',
    async () => {
      for (const kid of [...firstUsed.keys()].slice(1)) {
        const lead = firstUsed.get(kid) - firstSeen.get(kid);
        assert.ok(
          lead >= (JWKS_MAX_AGE + SKEW) * 1000,
          `${kid}: first token ${lead} ms after publication`,
        );
      }
    },
  );

  await check('the bootstrap key left the JWKS only after its last token expired', async () => {
    const stillThere = lastPresent.get(bootstrap.kid);
    // Its last token was issued before the next key's first one.
    const lastExpiry = firstUsed.get([...firstUsed.keys()][1]) + TTL * 1000;
    assert.ok(
      stillThere >= lastExpiry,
      `gone ${lastExpiry - stillThere} ms before the last expiry`,
    );
    const { keys } = (await api.get('/.well-known/jwks.json')).body;
    assert.ok(!keys.some((k) => k.kid === bootstrap.kid));
  });

  await check(
    'emergency removal of the current key: the worker refuses its tokens at once, both verifiers after their cache lifetime, and signing goes on',
    async () => {
      const bearer = await adminToken();
      const { keys } = expectStatus(await api.get('/admin/keys', { bearer }), 200).body;
      const current = keys.find((k) => k.state === 'current').kid;
      const next = keys.find((k) => k.state === 'next').kid;
      const user = users[0];
      user.tokens = expectStatus(
        await api.post('/auth/refresh', { refresh_token: user.tokens.refresh_token }),
        200,
      ).body;
      const doomed = user.tokens.access_token;
      assert.equal(jwt.header(doomed).kid, current);
      await verifyEverywhere(doomed, 'before removal');
      assert.deepEqual(failures, []);

      expectStatus(await request(issuer, 'DELETE', `/admin/keys/${current}`, { bearer }), 204);
      expectStatus(await api.get('/users/me', { bearer: doomed }), 401, 'unauthorized');
      const published = (await api.get('/.well-known/jwks.json')).body.keys.map((k) => k.kid);
      assert.ok(!published.includes(current), 'the JWKS dropped it');

      await sleep(JWKS_MAX_AGE * 1000 + 1500);
      assert.equal((await viaJose(doomed)).reason, 'ERR_JWKS_NO_MATCHING_KEY');
      assert.equal((await viaVerify(doomed)).reason, 'ERR_JWKS_NO_MATCHING_KEY');

      const fresh = await login(auth.url, user.email);
      assert.equal(jwt.header(fresh.access_token).kid, next, 'the next key took over');
      expectStatus(await api.get('/users/me', { bearer: fresh.access_token }), 200);
      const before = failures.length;
      await verifyEverywhere(fresh.access_token, 'after removal');
      assert.equal(failures.length, before, failures.slice(before).join('; '));
    },
  );

  await auth.stop();
}
