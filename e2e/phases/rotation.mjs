// Key rotation end to end, as README "Rotating signing keys" describes it: the worker runs with
// key A, then with [B, A] (B signs, A still published), then with [B] alone. Checked by the
// downstream verifiers (fresh processes: they fetch the JWKS anew) and by two users of
// @edge-auth/verify that keep running across the restarts with their cached JWKS: the downstream
// example Worker and a Node API (e2e/verifiers/edge-auth-node.mjs).
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { expectVerdicts, startNodeVerifier, verifyDownstream } from '../lib/downstream.mjs';
import { check, freePort, note } from '../lib/harness.mjs';
import { client, expectStatus, jwt } from '../lib/http.mjs';
import { login, verifiedUser } from '../lib/flows.mjs';
import { jwksFetches, startAuthWorker, startExampleWorker } from '../lib/worker.mjs';

// The JWKS's Cache-Control max-age, which both verifiers follow: it outlives every restart below,
// so what they do on the rotation is deterministic: known kids from the cache, one refetch for B.
const JWKS_MAX_AGE_SECONDS = 300;
const COOLDOWN_SECONDS = 1;
const exampleVars = (issuer, audience) => ({
  AUTH_ISSUER: issuer,
  AUTH_AUDIENCE: audience,
  JWKS_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
});

export async function rotation(ctx) {
  const { authVars, audience, appUrl } = ctx;
  const [keyA, keyB] = [await generateSigningKey(), await generateSigningKey()];
  const port = await freePort(); // every restart reuses it: the issuer and jwks_uri stay put
  let auth;
  const start = async (name, keys) => {
    const worker = await startAuthWorker({
      name,
      port,
      vars: { ...authVars, JWT_SIGNING_KEYS: JSON.stringify({ keys }) },
    });
    ctx.cleanups.push(() => worker.stop());
    auth = worker;
    return worker;
  };
  const kids = async () =>
    expectStatus(await client(auth.url).get('/.well-known/jwks.json'), 200).body.keys.map(
      (k) => k.kid,
    );
  const freshToken = async (label) => {
    const { email } = await verifiedUser(auth.url, label, appUrl);
    return (await login(auth.url, email)).access_token;
  };
  const downstreamVerdicts = (tokens) => verifyDownstream({ issuer: auth.url, audience, tokens });

  let tokenA;
  let tokenB;
  let example;
  let node;
  let exampleFetchedAt;
  const exampleMe = async (token) => client(example.url).get('/api/me', { bearer: token });
  const nodeMe = async (token) => client(node.url).get('/api/me', { bearer: token });
  const startExample = async (name) => {
    const worker = await startExampleWorker({ name, vars: exampleVars(auth.url, audience) });
    ctx.cleanups.push(() => worker.stop());
    example = worker;
  };
  const startNode = async (name) => {
    node = await startNodeVerifier({
      name,
      issuer: auth.url,
      audience,
      cooldownSeconds: COOLDOWN_SECONDS,
    });
    ctx.cleanups.push(() => node.stop());
  };
  // The cache-dependent assertions hold only while the verifiers' first fetch is fresh (always,
  // unless this machine needs minutes per restart).
  const exampleCacheFresh = () => {
    const fresh = Date.now() - exampleFetchedAt < (JWKS_MAX_AGE_SECONDS - 10) * 1000;
    if (!fresh) note('restarts took so long that the JWKS caches expired: cache checks skipped');
    return fresh;
  };

  await check(
    'with [A]: the JWKS publishes A; a token signed by A verifies downstream',
    async () => {
      await start('rotation-1-A', [keyA]);
      assert.deepEqual(await kids(), [keyA.kid], '--var JWT_SIGNING_KEYS overrides .dev.vars');
      tokenA = await freshToken('rotation-a');
      assert.equal(jwt.header(tokenA).kid, keyA.kid);
      expectVerdicts(await downstreamVerdicts({ tokenA }), { tokenA: true });
      await startExample('rotation-example');
      await startNode('rotation-node');
      exampleFetchedAt = Date.now();
      expectStatus(await exampleMe(tokenA), 200);
      const res = expectStatus(await nodeMe(tokenA), 200);
      assert.equal(res.body.kid, keyA.kid);
    },
  );

  await check('restart with [B, A]: the old token still verifies downstream', async () => {
    await auth.stop();
    await start('rotation-2-BA', [keyB, keyA]);
    assert.deepEqual(await kids(), [keyB.kid, keyA.kid]);
    expectVerdicts(await downstreamVerdicts({ tokenA }), { tokenA: true });
    const before = await jwksFetches(auth);
    expectStatus(await exampleMe(tokenA), 200);
    expectStatus(await nodeMe(tokenA), 200);
    if (exampleCacheFresh()) {
      assert.equal((await jwksFetches(auth)) - before, 0, 'both served A from their caches');
    }
  });

  await check(
    "new tokens carry B's kid; the example and the Node API refetch once each for it",
    async () => {
      tokenB = await freshToken('rotation-b');
      assert.equal(jwt.header(tokenB).kid, keyB.kid);
      expectVerdicts(await downstreamVerdicts({ tokenA, tokenB }), { tokenA: true, tokenB: true });
      for (const [name, me] of [
        ['the example', exampleMe],
        ['the Node API', nodeMe],
      ]) {
        const before = await jwksFetches(auth);
        expectStatus(await me(tokenB), 200);
        expectStatus(await me(tokenB), 200);
        if (exampleCacheFresh()) {
          assert.equal((await jwksFetches(auth)) - before, 1, `${name}: one refetch for B's kid`);
        }
      }
      assert.equal(expectStatus(await nodeMe(tokenB), 200).body.kid, keyB.kid);
    },
  );

  await check(
    'restart with [B]: the old token is rejected downstream, B still accepted',
    async () => {
      await auth.stop();
      await start('rotation-3-B', [keyB]);
      assert.deepEqual(await kids(), [keyB.kid]);
      const outcome = await downstreamVerdicts({ tokenA, tokenB });
      expectVerdicts(outcome, { tokenA: false, tokenB: true });
      assert.equal(outcome.jose.results.tokenA.error, 'ERR_JWKS_NO_MATCHING_KEY');
      assert.equal(outcome.pyjwt.results.tokenA.error, 'PyJWKClientError');
    },
  );

  await check(
    'the example and the Node API: A still passes from their caches, fresh ones reject it',
    async () => {
      // A JWKS-caching verifier keeps a removed key until its cache expires: why the README drops
      // a key only after its last token has expired.
      if (exampleCacheFresh()) {
        expectStatus(await exampleMe(tokenA), 200);
        expectStatus(await nodeMe(tokenA), 200);
      }
      await example.stop();
      await node.stop();
      await startExample('rotation-example-restarted');
      await startNode('rotation-node-restarted');
      for (const me of [exampleMe, nodeMe]) {
        const refused = expectStatus(await me(tokenA), 401, 'invalid_token');
        assert.match(refused.headers.get('www-authenticate') ?? '', /invalid_token/);
        expectStatus(await me(tokenB), 200);
      }
      assert.equal((await nodeMe(tokenA)).body.reason, 'ERR_JWKS_NO_MATCHING_KEY');
    },
  );

  await example.stop();
  await node.stop();
  await auth.stop();
}
