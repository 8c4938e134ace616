// Downstream verifiers nobody here wrote: jose (Node), PyJWT (Python) and hono/jwk (a Hono app),
// each its own process, pointed at the running worker's jwks_uri found through OpenID discovery.
// Also what README "Verifying tokens downstream" says about hono/jwk and PyJWT: the settings our
// tokens need, hono/jwk's JWKS fetch per request, and PyJWT's missing typ check. And README
// "Revocation and introspection for downstream services": curl and Python requests revoke with
// form bodies, and @edge-auth/verify in introspection mode refuses a revoked token before its exp.
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { openClients } from '../lib/clients.mjs';
import {
  expectVerdicts,
  verifyBothModes,
  verifyDownstream,
  verifyWith,
} from '../lib/downstream.mjs';
import { check } from '../lib/harness.mjs';
import { claimsLike, expectStatus, request, sign, tamper } from '../lib/http.mjs';
import { login, verifiedUser } from '../lib/flows.mjs';
import { jwksFetches } from '../lib/worker.mjs';

export async function downstream(ctx) {
  const { worker, signingKey, audience, appUrl } = ctx;
  const { email } = await verifiedUser(worker.url, 'downstream', appUrl);
  const fresh = (await login(worker.url, email)).access_token;
  const stranger = await generateSigningKey();
  const now = Math.floor(Date.now() / 1000);

  const tokens = {
    fresh,
    // Signature kept, payload edited.
    tampered: tamper(fresh),
    // Properly signed with the worker's own key, for another audience.
    wrong_audience: await sign(signingKey, claimsLike(fresh, { aud: 'some-other-api' })),
    wrong_issuer: await sign(signingKey, claimsLike(fresh, { iss: 'https://evil.example.com' })),
    wrong_typ: await sign(signingKey, claimsLike(fresh), { typ: 'JWT' }),
    expired: await sign(signingKey, claimsLike(fresh, { iat: now - 1000, exp: now - 120 })),
    // A key the worker never published, claiming a kid of its own.
    unknown_key: await sign(stranger, claimsLike(fresh)),
    // A key the worker never published, claiming the worker's kid.
    forged_kid: await sign({ ...stranger, kid: signingKey.kid }, claimsLike(fresh)),
  };
  let outcome;

  await check(
    'jose, PyJWT and hono/jwk find jwks_uri through /.well-known/openid-configuration',
    async () => {
      outcome = await verifyDownstream({ issuer: worker.url, audience, tokens });
      for (const { jwks_uri } of Object.values(outcome)) {
        assert.equal(jwks_uri, `${worker.url}/.well-known/jwks.json`);
      }
    },
  );

  await check('all accept a fresh token (with the worker key kid)', async () => {
    expectVerdicts(outcome, { fresh: true });
    for (const { results } of Object.values(outcome)) {
      assert.equal(results.fresh.kid, signingKey.kid);
    }
  });

  await check('all reject a tampered token and one with the wrong audience', async () => {
    expectVerdicts(outcome, { tampered: false, wrong_audience: false });
    return reasons(outcome, ['tampered', 'wrong_audience']);
  });

  await check('all reject wrong iss, wrong typ, expired, unknown key, forged kid', async () => {
    expectVerdicts(outcome, {
      wrong_issuer: false,
      wrong_typ: false,
      expired: false,
      unknown_key: false,
      forged_kid: false,
    });
    return reasons(outcome, ['wrong_typ']);
  });

  const hono = (extra) => verifyWith('hono', { issuer: worker.url, audience, ...extra });

  await check('hono/jwk fetches jwks_uri on every request: 5 requests, 5 fetches', async () => {
    const before = await jwksFetches(worker);
    const five = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`fresh_${i}`, fresh]));
    const out = await hono({ tokens: five });
    expectVerdicts({ hono: out }, Object.fromEntries(Object.keys(five).map((k) => [k, true])));
    assert.equal(out.jwks_fetches, 5, 'fetches counted in the verifier');
    assert.equal((await jwksFetches(worker)) - before, 5, 'JWKS requests in the worker log');
    return `${out.jwks_fetches} fetches for 5 requests`;
  });

  await check(
    'hono/jwk needs verification.typ for our tokens, iss/aud to refuse others; no clock skew',
    async () => {
      const { fresh: f, wrong_audience, wrong_issuer } = tokens;
      const defaults = await hono({ tokens: { fresh: f }, verification: {} });
      assert.equal(defaults.results.fresh.valid, false, 'without typ, at+jwt is refused');
      assert.equal(defaults.results.fresh.error, 'JwtHeaderInvalid');
      const typOnly = await hono({
        tokens: { fresh: f, wrong_audience, wrong_issuer },
        verification: { typ: 'at+jwt' },
      });
      expectVerdicts({ hono: typOnly }, { fresh: true, wrong_audience: true, wrong_issuer: true });
      const t = Math.floor(Date.now() / 1000);
      const justExpired = await sign(signingKey, claimsLike(fresh, { iat: t - 900, exp: t - 5 }));
      const skew = await hono({ tokens: { just_expired: justExpired } });
      assert.equal(skew.results.just_expired.error, 'JwtTokenExpired');
      return `no verification: fresh ${defaults.results.fresh.error}; typ only: wrong aud and iss accepted; expired 5 s ago: ${skew.results.just_expired.error}`;
    },
  );

  await check(
    'PyJWT alone does not check typ: the header line is what refuses typ JWT',
    async () => {
      const out = await verifyWith('pyjwt', {
        issuer: worker.url,
        audience,
        tokens: { wrong_typ: tokens.wrong_typ },
        check_typ: false,
      });
      assert.equal(out.results.wrong_typ.valid, true, JSON.stringify(out.results.wrong_typ));
      return `with the line: ${outcome.pyjwt.results.wrong_typ.message}`;
    },
  );

  await revocation(ctx, email);
}

/** RFC 7009 and RFC 7662 from outside: real clients' form bodies, the verifier's two modes. */
async function revocation(ctx, email) {
  const { worker, audience, introspectionClient } = ctx;
  const clients = openClients();
  const post = (name, path, call) =>
    clients.send(name, { method: 'POST', url: `${worker.url}${path}`, ...call });
  const me = async (token) =>
    (await request(worker.url, 'GET', '/users/me', { bearer: token })).status;
  let revokedAccess;
  try {
    await check(
      'curl -d and Python requests data= revoke (RFC 7009): 200, the session ends; json= is 415',
      async () => {
        const a = await login(worker.url, email);
        const byCurl = await post('curl', '/oauth/revoke', {
          form: 'urlenc',
          fields: { token: a.refresh_token, token_type_hint: 'refresh_token' },
        });
        assert.equal(byCurl.status, 200, byCurl.text ?? byCurl.error);
        const refreshed = await request(worker.url, 'POST', '/auth/refresh', {
          json: { refresh_token: a.refresh_token },
        });
        expectStatus(refreshed, 401, 'invalid_refresh_token');
        assert.equal(await me(a.access_token), 401, 'the revoked session`s access token');

        const b = await login(worker.url, email);
        assert.equal(await me(b.access_token), 200);
        const byRequests = await post('requests', '/oauth/revoke', {
          form: 'urlenc',
          fields: { token: b.access_token },
        });
        assert.equal(byRequests.status, 200, byRequests.text ?? byRequests.error);
        assert.equal(await me(b.access_token), 401, 'refused at the worker at once');
        revokedAccess = b.access_token;

        const c = await login(worker.url, email);
        const asJson = await post('requests', '/oauth/revoke', {
          form: 'json',
          json: { token: c.refresh_token },
        });
        assert.equal(asJson.status, 415, asJson.text);
        assert.equal(asJson.body?.error, 'invalid_request', asJson.text);
        assert.equal(await me(c.access_token), 200, 'a JSON body revoked nothing');
        return `curl ${byCurl.status}, requests ${byRequests.status}, requests json= ${asJson.status}`;
      },
    );

    await check(
      'curl -u introspects (RFC 7662): active for a live token, false once revoked, 401 Basic without the secret',
      async () => {
        const live = (await login(worker.url, email)).access_token;
        const basic = [introspectionClient.id, introspectionClient.secret];
        const ask = (token, credential = basic) =>
          post('curl', '/oauth/introspect', {
            basic: credential,
            form: 'urlenc',
            fields: { token },
          });
        const active = await ask(live);
        assert.equal(active.status, 200, active.text);
        assert.equal(active.body.active, true, active.text);
        assert.equal(active.headers['cache-control'], 'no-store');
        assert.deepEqual((await ask(revokedAccess)).body, { active: false });
        const wrong = await ask(live, [introspectionClient.id, 'not-the-secret']);
        assert.equal(wrong.status, 401, wrong.text);
        assert.match(wrong.headers['www-authenticate'] ?? '', /^Basic/);
        return `live: active ${active.body.active} (${Object.keys(active.body).length} members); revoked: inactive; wrong secret: ${wrong.status}`;
      },
    );

    await check(
      '@edge-auth/verify: introspection mode refuses a revoked token before exp, JWKS-only still accepts it',
      async () => {
        const live = (await login(worker.url, email)).access_token;
        const introspection = {
          clientId: introspectionClient.id,
          clientSecret: introspectionClient.secret,
        };
        const tokens = { live, revoked: revokedAccess };
        const { results } = await verifyBothModes({
          issuer: worker.url,
          audience,
          introspection,
          tokens,
        });
        assert.equal(results.live.jwks.valid, true, JSON.stringify(results.live));
        assert.equal(results.live.introspection.valid, true, JSON.stringify(results.live));
        assert.equal(results.revoked.jwks.valid, true, 'JWKS only: valid until exp');
        assert.deepEqual(results.revoked.introspection, {
          valid: false,
          status: 401,
          code: 'invalid_token',
          reason: 'inactive',
        });
        const wrong = await verifyBothModes({
          issuer: worker.url,
          audience,
          introspection: { ...introspection, clientSecret: 'not-the-secret' },
          tokens: { live },
        });
        assert.equal(wrong.results.live.introspection.status, 503);
        assert.equal(wrong.results.live.introspection.code, 'introspection_unavailable');
        return 'revoked: JWKS-only valid, introspection inactive; wrong secret: 503';
      },
    );
  } finally {
    await clients.stop();
  }
}

/** "jose: tampered ERR_JWS_SIGNATURE_VERIFICATION_FAILED, ...; PyJWT: ..." for the summary. */
function reasons(outcome, names) {
  return Object.entries(outcome)
    .map(
      ([verifier, { results }]) =>
        `${verifier}: ${names.map((n) => `${n} ${results[n].error}`).join(', ')}`,
    )
    .join('; ');
}
