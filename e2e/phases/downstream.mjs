// Downstream verifiers nobody here wrote: jose (Node), PyJWT (Python) and hono/jwk (a Hono app),
// each its own process, pointed at the running worker's jwks_uri found through OpenID discovery.
// Also what README "Verifying tokens downstream" says about hono/jwk and PyJWT: the settings our
// tokens need, hono/jwk's JWKS fetch per request, and PyJWT's missing typ check.
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { expectVerdicts, verifyDownstream, verifyWith } from '../lib/downstream.mjs';
import { check } from '../lib/harness.mjs';
import { claimsLike, sign, tamper } from '../lib/http.mjs';
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
