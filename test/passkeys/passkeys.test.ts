import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { NO_PASSWORD } from '../../src/crypto/password';
import {
  PASSWORD,
  call,
  expectProblem,
  mailTo,
  me,
  withBearer,
  json,
  type Tokens,
  signedIn as signedInUnconfirmed,
  sessionDb,
  userSessionsDb,
} from '../helpers';
import { enrolled } from '../totp';
import { Authenticator } from './authenticator.mjs';
import {
  countRows,
  creationOptions,
  post,
  requestOptions,
  signedIn,
  signInWith,
  withPasskey,
} from './helpers';

const sessionsOf = async (userId: string) =>
  (await (
    await userSessionsDb(userId)
  )
    .prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
    .bind(userId)
    .first<{ n: number }>())!.n;

describe('registering a passkey', () => {
  it('asks for a discoverable credential with user verification, bound to the signed-in user', async () => {
    const { tokens, email } = await signedIn();
    const options = await creationOptions(tokens.access_token);
    expect(options).toMatchObject({
      rp: { id: '127.0.0.1' },
      user: { name: email },
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      attestation: 'none',
      timeout: 300_000,
    });
    expect(options.challenge).toMatch(/^[\w-]{43}$/);
    // Only a hash of the challenge is stored, bound to the ceremony and the user.
    expect(await countRows('webauthn_challenges', 'challenge_hash = ?', options.challenge)).toBe(0);
    const bound = "ceremony = 'register' AND user_id = (SELECT id FROM users WHERE email = ?)";
    expect(await countRows('webauthn_challenges', bound, email)).toBe(1);
  });

  it('stores it (201), lists it, audits it and mails the owner', async () => {
    const { tokens, email, user, passkey } = await withPasskey();
    expect(passkey).toMatchObject({ name: expect.stringMatching(/^Passkey \d{4}-\d\d-\d\d$/) });
    const list = await call('/users/me/passkeys', withBearer(tokens.access_token));
    const { passkeys } = (await list.json()) as { passkeys: Record<string, unknown>[] };
    expect(passkeys).toEqual([
      { id: passkey.id, name: passkey.name, created_at: expect.any(String), last_used_at: null },
    ]);
    expect(
      await countRows('audit_events', "type = 'passkey.registered' AND user_id = ?", user.id),
    ).toBe(1);
    expect((await mailTo(email)).some((m) => /passkey was added/.test(m.subject))).toBe(true);
    const row = await env.DB.prepare(
      'SELECT backup_eligible, backed_up, sign_count FROM passkeys WHERE id = ?',
    )
      .bind(passkey.id)
      .first();
    expect(row).toEqual({ backup_eligible: 1, backed_up: 1, sign_count: 0 });
  });

  it.each(['EdDSA', 'RS256'] as const)('accepts %s keys, and they sign in', async (alg) => {
    const { authenticator } = await withPasskey(alg);
    expect((await signInWith(authenticator)).status).toBe(200);
  });

  const refusals = [
    ['without user verification', { userVerified: false }],
    ['without user presence', { userPresent: false }],
    ['from another origin', { origin: 'https://evil.example' }],
    ['for another RP id', { rpId: 'evil.example' }],
    ['of the wrong ceremony type', { type: 'webauthn.get' }],
    ['from a cross-origin frame', { crossOrigin: true }],
    ['with a challenge it was not given', { challenge: 'A'.repeat(43) }],
    ['backed up without being backup eligible', { backupEligible: false, backedUp: true }],
  ] as const;
  it.each(refusals)('refuses one %s: 400 invalid_passkey, nothing stored', async (_, knobs) => {
    const { tokens, user } = await signedIn();
    const options = await creationOptions(tokens.access_token);
    const { json: response } = await new Authenticator(env.ISSUER).create(options, knobs);
    const res = await post('/users/me/passkeys', { response }, tokens.access_token);
    await expectProblem(res, 400, 'invalid_passkey');
    expect(await countRows('passkeys', 'user_id = ?', user.id)).toBe(0);
  });

  it('refuses a challenge made for another user, and the same challenge twice', async () => {
    const a = await signedIn();
    const b = await signedIn();
    const options = await creationOptions(b.tokens.access_token);
    const authenticator = new Authenticator(env.ISSUER);
    const { json: response } = await authenticator.create(options);
    const stolen = await post('/users/me/passkeys', { response }, a.tokens.access_token);
    await expectProblem(stolen, 400, 'invalid_passkey');
    // The refusal spent it: B cannot use it either.
    const again = await post('/users/me/passkeys', { response }, b.tokens.access_token);
    await expectProblem(again, 400, 'invalid_passkey');
  });

  it('refuses a credential id that is registered already (to anyone)', async () => {
    const first = await withPasskey();
    const other = await signedIn();
    // The same credential id with another key: nobody can take over a registered credential id.
    const taken = await registeredId(first.passkey.id);
    const clash = await new Authenticator(env.ISSUER, undefined, taken).create(
      await creationOptions(other.tokens.access_token),
    );
    expect(clash.json.id).toBe(taken);
    const res = await post(
      '/users/me/passkeys',
      { response: clash.json },
      other.tokens.access_token,
    );
    await expectProblem(res, 400, 'invalid_passkey');
    expect(await countRows('passkeys', 'user_id = ?', other.user.id)).toBe(0);
  });

  it('needs a confirmed address: no passkey can be planted on an address someone else registered', async () => {
    const squatter = await signedInUnconfirmed();
    const options = await post(
      '/users/me/passkeys/options',
      undefined,
      squatter.tokens.access_token,
    );
    await expectProblem(options, 403, 'email_not_verified');
    expect(
      await countRows(
        'webauthn_challenges',
        "ceremony = 'register' AND user_id = ?",
        squatter.user.id,
      ),
    ).toBe(0);
  });

  it('needs a sign-in within 10 minutes: an older session or a leaked token cannot add one', async () => {
    const { tokens, user } = await signedIn();
    const options = await creationOptions(tokens.access_token);
    const { json: response } = await new Authenticator(env.ISSUER).create(options);
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET created_at = ? WHERE id = ?')
      .bind(Date.now() - 601_000, tokens.session_id)
      .run();
    const late = await post('/users/me/passkeys', { response }, tokens.access_token);
    await expectProblem(late, 403, 'recent_sign_in_required');
    const again = await post('/users/me/passkeys/options', undefined, tokens.access_token);
    await expectProblem(again, 403, 'recent_sign_in_required');
    expect(await countRows('passkeys', 'user_id = ?', user.id)).toBe(0);
  });

  it('refuses a key WebCrypto would not take (a point off the curve) at registration', async () => {
    const { tokens, user } = await signedIn();
    const offCurve = new Authenticator(env.ISSUER);
    offCurve.tamperKey = (cose) => {
      // The last byte of y: the point leaves the curve.
      cose.set([cose.at(-1)! ^ 1], cose.length - 1);
    };
    const created = await offCurve.create(await creationOptions(tokens.access_token));
    const res = await post('/users/me/passkeys', { response: created.json }, tokens.access_token);
    await expectProblem(res, 400, 'invalid_passkey');
    expect(await countRows('passkeys', 'user_id = ?', user.id)).toBe(0);
  });

  it('answers bad bodies with problems, never 500', async () => {
    const { tokens } = await signedIn();
    const bad = await post(
      '/users/me/passkeys',
      { response: { id: '***', type: 'public-key' } },
      tokens.access_token,
    );
    expect(bad.status).toBe(422);
    const text = await call(
      '/users/me/passkeys',
      withBearer(tokens.access_token, {
        method: 'POST',
        body: 'x',
        headers: { 'Content-Type': 'text/plain' },
      }),
    );
    expect(text.status).toBe(415);
    const garbage = await post(
      '/users/me/passkeys',
      {
        response: {
          id: 'AAAA',
          type: 'public-key',
          response: { clientDataJSON: 'AAAA', attestationObject: 'AAAA' },
        },
      },
      tokens.access_token,
    );
    await expectProblem(garbage, 400, 'invalid_passkey');
  });
});

async function registeredId(passkeyId: string) {
  const row = await env.DB.prepare('SELECT credential_id FROM passkeys WHERE id = ?')
    .bind(passkeyId)
    .first<{ credential_id: string }>();
  return row!.credential_id;
}

describe('signing in with a passkey', () => {
  it('needs no email (discoverable), answers the token response and records the use', async () => {
    const { authenticator, user, passkey } = await withPasskey();
    const res = await signInWith(authenticator);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    expect((await me(tokens.access_token)).status).toBe(200);
    expect(res.headers.getSetCookie().join()).toMatch(/__Host-refresh_token=/);
    const row = await env.DB.prepare('SELECT sign_count, last_used_at FROM passkeys WHERE id = ?')
      .bind(passkey.id)
      .first<{ sign_count: number; last_used_at: number }>();
    expect(row!.sign_count).toBe(1);
    expect(row!.last_used_at).toBeGreaterThan(0);
    expect(await countRows('audit_events', "type = 'passkey.used' AND user_id = ?", user.id)).toBe(
      1,
    );
    expect(
      await countRows(
        'audit_events',
        "type = 'login.succeeded' AND user_id = ? AND detail LIKE '%passkey%'",
        user.id,
      ),
    ).toBe(1);
  });

  it('skips the TOTP step: a passkey with user verification is two factors', async () => {
    const account = await enrolled();
    const { authenticator } = await withPasskey('ES256', undefined, account);
    const res = await signInWith(authenticator);
    expect(res.status).toBe(200);
    expect(await res.json()).toHaveProperty('access_token');
  });

  it('email-first: only a passkey of the account the email names', async () => {
    const alice = await withPasskey();
    const bob = await withPasskey();
    expect((await signInWith(alice.authenticator, {}, alice.email)).status).toBe(200);
    const wrong = await signInWith(bob.authenticator, {}, alice.email);
    await expectProblem(wrong, 401, 'invalid_passkey');
  });

  it('gives the same options for an unknown email as for a known one', async () => {
    const known = await requestOptions((await withPasskey()).email);
    const unknown = await requestOptions('nobody.here@example.com');
    expect(Object.keys(unknown).sort()).toEqual(Object.keys(known).sort());
    expect(unknown).not.toHaveProperty('allowCredentials');
  });

  it('works with an authenticator that keeps its counter at 0', async () => {
    const { authenticator } = await withPasskey();
    expect((await signInWith(authenticator, { signCount: 0 })).status).toBe(200);
    expect((await signInWith(authenticator, { signCount: 0 })).status).toBe(200);
  });

  const refusals = [
    ['without user verification', { userVerified: false }],
    ['without user presence', { userPresent: false }],
    ['from another origin', { origin: 'https://evil.example' }],
    ['for another RP id', { rpId: 'evil.example' }],
    ['of the registration ceremony type', { type: 'webauthn.create' }],
    ['from a cross-origin frame', { crossOrigin: true }],
    ['signed by another key', { wrongKey: true }],
    ['with a challenge it was not given', { challenge: 'B'.repeat(43) }],
  ] as const;
  it.each(refusals)('refuses an assertion %s: 401, no session', async (_, knobs) => {
    const { authenticator, user } = await withPasskey();
    const before = await sessionsOf(user.id);
    await expectProblem(await signInWith(authenticator, knobs), 401, 'invalid_passkey');
    expect(await sessionsOf(user.id)).toBe(before);
  });

  it('refuses a counter that goes backwards, and audits it', async () => {
    const { authenticator, user } = await withPasskey();
    expect((await signInWith(authenticator, { signCount: 7 })).status).toBe(200);
    await expectProblem(await signInWith(authenticator, { signCount: 7 }), 401, 'invalid_passkey');
    await expectProblem(await signInWith(authenticator, { signCount: 3 }), 401, 'invalid_passkey');
    expect(
      await countRows(
        'audit_events',
        "type = 'passkey.refused' AND user_id = ? AND detail LIKE '%counter_regression%'",
        user.id,
      ),
    ).toBe(2);
  });

  it('refuses a replayed assertion and a challenge used twice', async () => {
    const { authenticator } = await withPasskey();
    const options = await requestOptions();
    const response = await authenticator.get(options);
    expect((await post('/auth/passkey/verify', { response })).status).toBe(200);
    await expectProblem(await post('/auth/passkey/verify', { response }), 401, 'invalid_passkey');
    // A fresh signature over the spent challenge.
    const again = await authenticator.get(options);
    await expectProblem(
      await post('/auth/passkey/verify', { response: again }),
      401,
      'invalid_passkey',
    );
  });

  it('of two parallel verifications of one challenge, exactly one wins', async () => {
    const { authenticator, user } = await withPasskey();
    const options = await requestOptions();
    const a = await authenticator.get(options, undefined, { signCount: 0 });
    const b = await authenticator.get(options, undefined, { signCount: 0 });
    const before = await sessionsOf(user.id);
    const results = await Promise.all(
      [a, b, a, b].map((response) => post('/auth/passkey/verify', { response })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
    expect(await sessionsOf(user.id)).toBe(before + 1);
  });

  it('of two parallel assertions with the same counter (a cloned key), one signs in', async () => {
    const { authenticator, user } = await withPasskey();
    const [a, b] = await Promise.all([requestOptions(), requestOptions()]);
    const first = await authenticator.get(a, undefined, { signCount: 5 });
    const second = await authenticator.get(b, undefined, { signCount: 5 });
    const before = await sessionsOf(user.id);
    const results = await Promise.all(
      [first, second].map((response) => post('/auth/passkey/verify', { response })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(await sessionsOf(user.id)).toBe(before + 1);
    expect(await countRows('audit_events', "type = 'passkey.used' AND user_id = ?", user.id)).toBe(
      1,
    );
  });

  it('refuses a challenge handed out for registration, and an expired one', async () => {
    const { authenticator, tokens } = await withPasskey();
    const registration = await creationOptions(tokens.access_token);
    const cross = await authenticator.get({ challenge: registration.challenge });
    await expectProblem(
      await post('/auth/passkey/verify', { response: cross }),
      401,
      'invalid_passkey',
    );
    const options = await requestOptions();
    await env.DB.prepare(
      'UPDATE webauthn_challenges SET expires_at = ? WHERE used_at IS NULL AND ceremony = ?',
    )
      .bind(Date.now() - 1, 'authenticate')
      .run();
    const late = await authenticator.get(options);
    await expectProblem(
      await post('/auth/passkey/verify', { response: late }),
      401,
      'invalid_passkey',
    );
  });

  it('refuses an unknown credential and a user handle of another account', async () => {
    const stranger = new Authenticator(env.ISSUER);
    await stranger.create({ challenge: 'x', user: { id: 'dW5rbm93bg' } });
    await expectProblem(await signInWith(stranger), 401, 'invalid_passkey');
    const { authenticator } = await withPasskey();
    authenticator.credentials[0]!.userHandle = 'b3RoZXI';
    await expectProblem(await signInWith(authenticator), 401, 'invalid_passkey');
  });

  it('answers a malformed Ed25519 signature with 401, audited, never 500', async () => {
    const { authenticator, user } = await withPasskey('EdDSA');
    const options = await requestOptions();
    const response = await authenticator.get(options);
    response.response.signature = 'AAAA';
    await expectProblem(await post('/auth/passkey/verify', { response }), 401, 'invalid_passkey');
    expect(
      await countRows(
        'audit_events',
        "type = 'passkey.refused' AND user_id = ? AND detail LIKE '%signature%'",
        user.id,
      ),
    ).toBe(1);
  });

  it('audits refusals that come before any account is known', async () => {
    const { authenticator } = await withPasskey();
    await expectProblem(
      await signInWith(authenticator, { origin: 'https://evil.example' }),
      401,
      'invalid_passkey',
    );
    expect(
      await countRows('audit_events', "type = 'passkey.refused' AND detail LIKE '%evil.example%'"),
    ).toBeGreaterThanOrEqual(1);
    const replay = await requestOptions();
    const assertion = await authenticator.get(replay);
    await post('/auth/passkey/verify', { response: assertion });
    await post('/auth/passkey/verify', { response: assertion });
    expect(
      await countRows(
        'audit_events',
        "type = 'passkey.refused' AND user_id IS NULL AND detail LIKE '%challenge%'",
      ),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers bad bodies with problems, never 500', async () => {
    expect((await post('/auth/passkey/verify', {})).status).toBe(422);
    expect((await post('/auth/passkey/verify')).status).toBe(422);
    const garbage = {
      id: 'AAAA',
      type: 'public-key',
      response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
    };
    await expectProblem(
      await post('/auth/passkey/verify', { response: garbage }),
      401,
      'invalid_passkey',
    );
    expect((await post('/auth/passkey/options', { email: 42 })).status).toBe(422);
  });
});

describe('the one lockout covers passkeys', () => {
  it('a locked email is 423 for a valid passkey, and the success does not lift it', async () => {
    const { authenticator, email } = await withPasskey();
    for (let i = 0; i < 5; i++) {
      await call('/auth/login', json({ email, password: 'wrong password, wrong' }));
    }
    const locked = await signInWith(authenticator);
    await expectProblem(locked, 423, 'account_locked');
    expect(locked.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect((await call('/auth/login', json({ email, password: PASSWORD }))).status).toBe(423);
  });

  it('failed assertions count towards the same threshold as passwords', async () => {
    const { authenticator, email } = await withPasskey();
    for (let i = 0; i < 3; i++) {
      await call('/auth/login', json({ email, password: 'wrong password, wrong' }));
    }
    for (let i = 0; i < 2; i++) {
      expect((await signInWith(authenticator, { wrongKey: true })).status).toBe(401);
    }
    await expectProblem(await signInWith(authenticator), 423, 'account_locked');
  });
});

describe('renaming and deleting passkeys', () => {
  it('renames its own passkey only', async () => {
    const { tokens, passkey } = await withPasskey();
    const other = await signedIn();
    const patch = (token: string, name: unknown) =>
      call(
        `/users/me/passkeys/${passkey.id}`,
        withBearer(token, { ...json({ name }), method: 'PATCH' }),
      );
    const res = await patch(tokens.access_token, '  Work laptop ');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: passkey.id, name: 'Work laptop' });
    await expectProblem(await patch(other.tokens.access_token, 'Mine now'), 404, 'not_found');
    expect((await patch(tokens.access_token, '')).status).toBe(422);
  });

  it('deletes one (204); it no longer signs in; another user’s is 404', async () => {
    const { tokens, passkey, authenticator, user } = await withPasskey();
    const other = await signedIn();
    const del = (token: string) =>
      call(`/users/me/passkeys/${passkey.id}`, withBearer(token, { method: 'DELETE' }));
    await expectProblem(await del(other.tokens.access_token), 404, 'not_found');
    expect((await del(tokens.access_token)).status).toBe(204);
    expect(
      await countRows('audit_events', "type = 'passkey.deleted' AND user_id = ?", user.id),
    ).toBe(1);
    await expectProblem(await signInWith(authenticator), 401, 'invalid_passkey');
    await expectProblem(await del(tokens.access_token), 404, 'not_found');
  });

  it('refuses to delete the last way to sign in (409), also for two parallel deletions', async () => {
    const account = await withPasskey();
    const second = await withPasskey('ES256', new Authenticator(env.ISSUER), account);
    // No password: an account made through an identity provider, now with two passkeys.
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?')
      .bind(NO_PASSWORD, account.user.id)
      .run();
    const del = (id: string) =>
      call(
        `/users/me/passkeys/${id}`,
        withBearer(account.tokens.access_token, { method: 'DELETE' }),
      );
    const results = await Promise.all([del(account.passkey.id), del(second.passkey.id)]);
    expect(results.map((r) => r.status).sort()).toEqual([204, 409]);
    const refused = results.find((r) => r.status === 409)!;
    await expectProblem(refused, 409, 'last_sign_in_method');
    expect(await countRows('passkeys', 'user_id = ?', account.user.id)).toBe(1);
  });

  it('a passkey counts as a way to sign in when an identity is unlinked', async () => {
    const account = await withPasskey();
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?')
      .bind(NO_PASSWORD, account.user.id)
      .run();
    await env.DB.prepare("INSERT INTO identities VALUES (?, ?, 'acme', ?, NULL, 0, 0, 0)")
      .bind(crypto.randomUUID(), account.user.id, crypto.randomUUID())
      .run();
    const [identity] = (
      (await (
        await call('/users/me/identities', withBearer(account.tokens.access_token))
      ).json()) as {
        identities: { id: string }[];
      }
    ).identities;
    const unlink = await call(
      `/users/me/identities/${identity!.id}`,
      withBearer(account.tokens.access_token, { method: 'DELETE' }),
    );
    expect(unlink.status).toBe(204);
    const last = await call(
      `/users/me/passkeys/${account.passkey.id}`,
      withBearer(account.tokens.access_token, { method: 'DELETE' }),
    );
    await expectProblem(last, 409, 'last_sign_in_method');
  });
});

describe('rate limits', () => {
  it('counts options apart from sign-ins, with the login limit', async () => {
    const tight = { RATE_LIMIT_LOGIN: '2/60' };
    const headers = { 'CF-Connecting-IP': `203.0.113.${Math.floor(Math.random() * 250)}` };
    const options = () => call('/auth/passkey/options', { method: 'POST', headers }, tight);
    expect((await options()).status).toBe(200);
    expect((await options()).status).toBe(200);
    await expectProblem(await options(), 429, 'rate_limited');
    // The login budget of this client is untouched.
    const login = json({ email: 'nobody@example.com', password: 'wrong password, wrong' }, headers);
    expect((await call('/auth/login', login, tight)).status).toBe(401);
  });
});
