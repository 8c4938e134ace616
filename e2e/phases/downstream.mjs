// Downstream verifiers nobody here wrote: jose (Node) and PyJWT (Python), each its own process,
// pointed at the running worker's jwks_uri found through OpenID discovery.
import assert from 'node:assert/strict';
import { generateSigningKey } from '../../scripts/lib/keys.mjs';
import { expectVerdicts, verifyDownstream } from '../lib/downstream.mjs';
import { check } from '../lib/harness.mjs';
import { claimsLike, sign, tamper } from '../lib/http.mjs';
import { login, verifiedUser } from '../lib/flows.mjs';

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
    'jose and PyJWT find jwks_uri through /.well-known/openid-configuration',
    async () => {
      outcome = await verifyDownstream({ issuer: worker.url, audience, tokens });
      for (const { jwks_uri } of Object.values(outcome)) {
        assert.equal(jwks_uri, `${worker.url}/.well-known/jwks.json`);
      }
    },
  );

  await check('both accept a fresh token (with the worker key kid)', async () => {
    expectVerdicts(outcome, { fresh: true });
    for (const { results } of Object.values(outcome)) {
      assert.equal(results.fresh.kid, signingKey.kid);
    }
  });

  await check('both reject a tampered token and one with the wrong audience', async () => {
    expectVerdicts(outcome, { tampered: false, wrong_audience: false });
    return reasons(outcome, ['tampered', 'wrong_audience']);
  });

  await check('both reject wrong iss, wrong typ, expired, unknown key, forged kid', async () => {
    expectVerdicts(outcome, {
      wrong_issuer: false,
      wrong_typ: false,
      expired: false,
      unknown_key: false,
      forged_kid: false,
    });
  });
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
