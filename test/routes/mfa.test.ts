import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailTo,
  mailedToken,
  me,
  refresh,
  register,
  signedInAdmin,
  type Tokens,
  withBearer,
} from '../helpers';
import { codeFor, decodeQrSvg, enrolled } from '../totp';

afterEach(() => vi.restoreAllMocks());

const post = (token: string, path: string, body: unknown) =>
  call(path, withBearer(token, json(body)));

async function passwordStep(email: string) {
  const res = await call('/auth/login', json({ email, password: PASSWORD }));
  expect(res.status).toBe(200);
  return (await res.json()) as { mfa_required: boolean; mfa_token: string; expires_in: number };
}
const verify = (mfa_token: string, code: string) =>
  call('/auth/mfa/verify', json({ mfa_token, code }));
const auditCount = async (type: string, userId: string) =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE type = ? AND user_id = ?')
    .bind(type, userId)
    .first<{ n: number }>())!.n;

describe('TOTP enrolment', () => {
  it('setup returns a secret and otpauth URI; MFA is on only after enable with a valid code', async () => {
    const { email } = await register();
    const tokens = await login(email);
    const res = await post(tokens.access_token, '/users/me/mfa/totp/setup', {
      password: PASSWORD,
    });
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const setup = (await res.json()) as { secret: string; otpauth_uri: string };
    expect(setup.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    expect(setup.otpauth_uri).toContain(
      `otpauth://totp/Edge%20Auth:${encodeURIComponent(email)}?secret=${setup.secret}`,
    );
    expect(await (await me(tokens.access_token)).json()).toMatchObject({ mfa_enabled: false });
    expect((await call('/auth/login', json({ email, password: PASSWORD }))).status).toBe(200);

    const wrong = await post(tokens.access_token, '/users/me/mfa/totp/enable', { code: '000000' });
    await expectProblem(wrong, 400, 'invalid_mfa_code');
    const ok = await post(tokens.access_token, '/users/me/mfa/totp/enable', {
      code: await codeFor(setup.secret),
    });
    const { recovery_codes } = (await ok.json()) as { recovery_codes: string[] };
    expect(recovery_codes).toHaveLength(10);
    expect(new Set(recovery_codes).size).toBe(10);
    for (const rc of recovery_codes)
      expect(rc).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$/);
    expect(await (await me(tokens.access_token)).json()).toMatchObject({ mfa_enabled: true });
    await expectProblem(
      await post(tokens.access_token, '/users/me/mfa/totp/setup', { password: PASSWORD }),
      409,
      'mfa_already_enabled',
    );
  });

  it('stores the secret sealed and the recovery codes hashed; the secret never shows again', async () => {
    const lines: string[] = [];
    for (const m of ['log', 'warn', 'error'] as const)
      vi.spyOn(console, m).mockImplementation(
        (...a: unknown[]) => void lines.push(a.map(String).join(' ')),
      );
    const user = await enrolled();
    const row = (await env.DB.prepare(
      'SELECT totp_secret, totp_key_version FROM users WHERE id = ?',
    )
      .bind(user.user.id)
      .first<{ totp_secret: string; totp_key_version: number }>())!;
    expect(row.totp_key_version).toBe(1);
    expect(row.totp_secret).not.toContain(user.secret);
    const codes = JSON.stringify(
      (
        await env.DB.prepare('SELECT * FROM mfa_recovery_codes WHERE user_id = ?')
          .bind(user.user.id)
          .all()
      ).results,
    );
    for (const rc of user.recoveryCodes) expect(codes).not.toContain(rc.replace(/-/g, ''));
    const later = [
      await me(user.tokens.access_token),
      await call('/auth/login', json({ email: user.email, password: PASSWORD })),
      await refresh(user.tokens.refresh_token),
      await call('/users/me/sessions', withBearer(user.tokens.access_token, {})),
    ];
    for (const res of later) expect(await res.text()).not.toContain(user.secret);
    expect(lines.join('\n')).not.toContain(user.secret);
    const audit = JSON.stringify(
      (
        await env.DB.prepare('SELECT * FROM audit_events WHERE user_id = ?')
          .bind(user.user.id)
          .all()
      ).results,
    );
    expect(audit).not.toContain(user.secret);
  });
});

describe('login with TOTP on', () => {
  it('asks for the second factor, then signs in with a TOTP code', async () => {
    const user = await enrolled();
    const step = await passwordStep(user.email);
    expect(step).toMatchObject({ mfa_required: true, expires_in: 300 });
    expect(step).not.toHaveProperty('access_token');
    const res = await verify(step.mfa_token, await codeFor(user.secret, 1));
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    expect((await me(tokens.access_token)).status).toBe(200);
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'login.succeeded' AND user_id = ? ORDER BY id DESC",
    )
      .bind(user.user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toMatchObject({ mfa: 'totp' });
  });

  it('refuses a wrong code, an expired token, a reused token, and the token as a bearer', async () => {
    const user = await enrolled();
    const step = await passwordStep(user.email);
    await expectProblem(await verify(step.mfa_token, '123456'), 401, 'invalid_mfa_code');
    await expectProblem(await me(step.mfa_token), 401, 'unauthorized');
    expect((await verify(step.mfa_token, await codeFor(user.secret, 1))).status).toBe(200);
    await expectProblem(
      await verify(step.mfa_token, await codeFor(user.secret)),
      401,
      'invalid_mfa_code',
    );

    const expiring = await passwordStep(user.email);
    await env.DB.prepare(
      'UPDATE mfa_challenges SET expires_at = ? WHERE user_id = ? AND used_at IS NULL',
    )
      .bind(Date.now() - 1, user.user.id)
      .run();
    await expectProblem(
      await verify(expiring.mfa_token, await codeFor(user.secret, -1)),
      401,
      'invalid_mfa_code',
    );
    await expectProblem(await verify('A'.repeat(43), '123456'), 401, 'invalid_mfa_code');
  });

  it('accepts a code once only: a replay in the same step fails, and so does an older step', async () => {
    const user = await enrolled();
    // Enabling used the current step; a later step works once.
    const code = await codeFor(user.secret, 1);
    expect((await verify((await passwordStep(user.email)).mfa_token, code)).status).toBe(200);
    await expectProblem(
      await verify((await passwordStep(user.email)).mfa_token, code),
      401,
      'invalid_mfa_code',
    );
    await expectProblem(
      await verify((await passwordStep(user.email)).mfa_token, await codeFor(user.secret)),
      401,
      'invalid_mfa_code',
    );
  });

  it('lets exactly one of parallel submissions of one code succeed', async () => {
    const user = await enrolled();
    const challenges = await Promise.all([
      passwordStep(user.email),
      passwordStep(user.email),
      passwordStep(user.email),
    ]);
    const code = await codeFor(user.secret, 1);
    // A threshold the six attempts stay under, so every loser is a checked, refused code.
    const lenient = { LOCKOUT_THRESHOLD: '20' };
    const submit = (mfa_token: string) =>
      call('/auth/mfa/verify', json({ mfa_token, code }), lenient);
    const results = await Promise.all(
      challenges.flatMap((ch) => [submit(ch.mfa_token), submit(ch.mfa_token)]),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
  });

  it('takes each recovery code once, and audits it', async () => {
    const user = await enrolled();
    const rc = user.recoveryCodes[3]!;
    expect(
      (await verify((await passwordStep(user.email)).mfa_token, rc.toLowerCase())).status,
    ).toBe(200);
    await expectProblem(
      await verify((await passwordStep(user.email)).mfa_token, rc),
      401,
      'invalid_mfa_code',
    );
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'mfa.recovery_code_used' AND user_id = ?",
    )
      .bind(user.user.id)
      .first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('allows at most 5 attempts per mfa_token, then refuses even the right code', async () => {
    // A threshold above the challenge's own limit, so that limit is what this test sees.
    const lenient = { LOCKOUT_THRESHOLD: '20' };
    const user = await enrolled();
    const step = await passwordStep(user.email);
    const check = (code: string) =>
      call('/auth/mfa/verify', json({ mfa_token: step.mfa_token, code }), lenient);
    for (let i = 0; i < 5; i++) await check(String(100000 + i));
    await expectProblem(await check(await codeFor(user.secret, 1)), 401, 'invalid_mfa_code');
    expect(await auditCount('mfa.failed', user.user.id)).toBe(5);
  });

  it('is not bypassed by a password reset', async () => {
    const user = await enrolled();
    await call('/auth/password/forgot', json({ email: user.email }));
    const token = await mailedToken(user.email, 'reset-password');
    expect(
      (await call('/auth/password/reset', json({ token, new_password: 'reset but still 2fa' })))
        .status,
    ).toBe(204);
    const res = await call(
      '/auth/login',
      json({ email: user.email, password: 'reset but still 2fa' }),
    );
    expect(await res.json()).toMatchObject({ mfa_required: true });
  });
});

describe('turning TOTP off', () => {
  it('needs the password and a current code, revokes other sessions, keeps this one', async () => {
    const user = await enrolled();
    const other = (await (
      await verify((await passwordStep(user.email)).mfa_token, await codeFor(user.secret, 1))
    ).json()) as Tokens;
    const disable = (body: unknown) =>
      post(user.tokens.access_token, '/users/me/mfa/totp/disable', body);
    // A signed-in user's wrong proof is 403, never a 401 that would sign the client out.
    await expectProblem(
      await disable({ password: 'wrong password!!', code: await codeFor(user.secret) }),
      403,
      'invalid_current_password',
    );
    await expectProblem(
      await disable({ password: PASSWORD, code: '000000' }),
      403,
      'invalid_mfa_code',
    );
    expect((await me(other.access_token)).status).toBe(200);
    // Step +1 was used by the second login: the next one is still free.
    expect((await disable({ password: PASSWORD, code: user.recoveryCodes[0] })).status).toBe(204);
    expect((await me(user.tokens.access_token)).status).toBe(200);
    expect((await me(other.access_token)).status).toBe(401);
    expect((await refresh(other.refresh_token)).status).toBe(401);
    const res = await call('/auth/login', json({ email: user.email, password: PASSWORD }));
    expect(await res.json()).toHaveProperty('access_token');
    expect(await (await me(user.tokens.access_token)).json()).toMatchObject({ mfa_enabled: false });
  });
});

describe('REQUIRE_ADMIN_MFA', () => {
  it('keeps an admin without TOTP to the enrolment routes', async () => {
    const { email, user } = await register();
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(user.id).run();
    const tokens = await login(email);
    const strict = { REQUIRE_ADMIN_MFA: 'true' };
    const as = (init: RequestInit = {}) => withBearer(tokens.access_token, init);
    await expectProblem(await call('/admin/stats', as(), strict), 403, 'forbidden');
    await expectProblem(await call('/users/me', as(), strict), 403, 'forbidden');
    const setup = (await (
      await call('/users/me/mfa/totp/setup', as(json({ password: PASSWORD })), strict)
    ).json()) as { secret: string };
    expect(
      (
        await call(
          '/users/me/mfa/totp/enable',
          as(json({ code: await codeFor(setup.secret) })),
          strict,
        )
      ).status,
    ).toBe(200);
    expect((await call('/admin/stats', as(), strict)).status).toBe(200);
    // Ordinary users are not affected.
    const plain = await login((await register()).email);
    expect((await call('/users/me', withBearer(plain.access_token, {}), strict)).status).toBe(200);
  });
});

describe('enrolment needs the password (a stolen access token cannot add a factor)', () => {
  it('refuses setup without the password, or with a wrong one (403), and stores nothing', async () => {
    const { email, user } = await register();
    const tokens = await login(email);
    await expectProblem(
      await call('/users/me/mfa/totp/setup', withBearer(tokens.access_token, { method: 'POST' })),
      422,
      'validation_failed',
    );
    await expectProblem(
      await post(tokens.access_token, '/users/me/mfa/totp/setup', { password: 'not my password' }),
      403,
      'invalid_current_password',
    );
    const row = await env.DB.prepare('SELECT totp_secret FROM users WHERE id = ?')
      .bind(user.id)
      .first<{ totp_secret: string | null }>();
    expect(row!.totp_secret).toBeNull();
  });

  it('counts wrong passwords at setup towards the lockout, and answers 423 while locked', async () => {
    const { email } = await register();
    const tokens = await login(email);
    const setup = (password: string) =>
      post(tokens.access_token, '/users/me/mfa/totp/setup', { password });
    for (let i = 0; i < 5; i++)
      await expectProblem(await setup('not my password'), 403, 'invalid_current_password');
    await expectProblem(await setup(PASSWORD), 423, 'account_locked');
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      423,
      'account_locked',
    );
  });

  it('returns the otpauth URI as an SVG QR code that a QR reader decodes to that URI', async () => {
    const { email } = await register();
    const tokens = await login(email);
    const res = await post(tokens.access_token, '/users/me/mfa/totp/setup', { password: PASSWORD });
    const setup = (await res.json()) as { otpauth_uri: string; qr_svg: string };
    expect(setup.qr_svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+">/,
    );
    expect(setup.qr_svg).not.toMatch(/<script|on\w+=/i);
    expect(decodeQrSvg(setup.qr_svg)).toBe(setup.otpauth_uri);
  });

  it('mails a notice when two-factor is turned on', async () => {
    const user = await enrolled();
    expect((await mailTo(user.email)).map((m) => m.subject)).toContain(
      'Two-factor authentication was turned on for Edge Auth',
    );
  });
});

describe('one lockout for every proof of an email', () => {
  const threshold = 5;
  const lockRow = (email: string) =>
    env.DB.prepare('SELECT * FROM login_failures WHERE email = ?')
      .bind(email)
      .first<{ failures: number; locked_until: number | null }>();

  it('checks at most LOCKOUT_THRESHOLD wrong codes per window, however many challenges are opened', async () => {
    const user = await enrolled();
    // Right passwords open challenges without using up the budget…
    const steps = [];
    for (let i = 0; i < 8; i++) steps.push(await passwordStep(user.email));
    // …and only the first five wrong codes, across all of them, are ever checked.
    const statuses = [];
    for (const step of steps) statuses.push((await verify(step.mfa_token, '000000')).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 423, 423, 423]);
    expect(await auditCount('mfa.failed', user.user.id)).toBe(threshold);
    expect(await auditCount('account.locked', user.user.id)).toBe(1);
  });

  it('holds under 12 parallel wrong codes on 12 challenges', async () => {
    const user = await enrolled();
    const steps = [];
    for (let i = 0; i < 12; i++) steps.push(await passwordStep(user.email));
    const res = await Promise.all(steps.map((s) => verify(s.mfa_token, '000000')));
    const statuses = res.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(threshold);
    expect(statuses.filter((s) => s === 423)).toHaveLength(12 - threshold);
    expect(await auditCount('mfa.failed', user.user.id)).toBe(threshold);
    expect(await auditCount('account.locked', user.user.id)).toBe(1);
  });

  it('refuses the right code while locked (423) and the right code does not lift the lock', async () => {
    const user = await enrolled();
    const open = await passwordStep(user.email);
    for (let i = 0; i < threshold; i++)
      await verify((await passwordStep(user.email)).mfa_token, '000000');
    const right = await verify(open.mfa_token, await codeFor(user.secret));
    await expectProblem(right, 423, 'account_locked');
    expect(Number(right.headers.get('Retry-After'))).toBeGreaterThan(14 * 60);
    expect((await lockRow(user.email))!.locked_until).toBeGreaterThan(Date.now());
    await expectProblem(
      await call('/auth/login', json({ email: user.email, password: PASSWORD })),
      423,
      'account_locked',
    );
  });

  it('adds wrong passwords and wrong codes together', async () => {
    const user = await enrolled();
    const wrongPassword = () =>
      call('/auth/login', json({ email: user.email, password: 'nope nope nope' }));
    await expectProblem(await wrongPassword(), 401, 'invalid_credentials');
    await expectProblem(await wrongPassword(), 401, 'invalid_credentials');
    for (let i = 0; i < 3; i++)
      await expectProblem(
        await verify((await passwordStep(user.email)).mfa_token, '000000'),
        401,
        'invalid_mfa_code',
      );
    expect((await lockRow(user.email))!.locked_until).toBeGreaterThan(Date.now());
  });

  it('spends open challenges when the email locks, so a lock cannot be waited out with one', async () => {
    const user = await enrolled();
    const open = await passwordStep(user.email);
    for (let i = 0; i < threshold; i++)
      await call('/auth/login', json({ email: user.email, password: 'nope nope nope' }));
    await expectProblem(
      await verify(open.mfa_token, await codeFor(user.secret)),
      423,
      'account_locked',
    );
    // The lock runs out (chosen timestamps, no sleeping): the old challenge is dead.
    await env.DB.prepare('UPDATE login_failures SET locked_until = ? WHERE email = ?')
      .bind(Date.now() - 1, user.email)
      .run();
    await expectProblem(
      await verify(open.mfa_token, await codeFor(user.secret)),
      401,
      'invalid_mfa_code',
    );
    const fresh = await passwordStep(user.email);
    expect((await verify(fresh.mfa_token, await codeFor(user.secret, 1))).status).toBe(200);
  });

  it('counts wrong codes when turning two-factor off, and then refuses with 423', async () => {
    const user = await enrolled();
    const disable = (code: string) =>
      post(user.tokens.access_token, '/users/me/mfa/totp/disable', { password: PASSWORD, code });
    for (let i = 0; i < threshold; i++)
      await expectProblem(await disable('000000'), 403, 'invalid_mfa_code');
    await expectProblem(await disable(await codeFor(user.secret)), 423, 'account_locked');
    expect(await (await me(user.tokens.access_token)).json()).toMatchObject({ mfa_enabled: true });
  });

  it('gives back the attempt of a right password, so only failures count', async () => {
    const user = await enrolled();
    await passwordStep(user.email);
    await passwordStep(user.email);
    expect((await lockRow(user.email))!.failures).toBe(0);
  });
});

describe('DELETE /admin/users/{id}/mfa', () => {
  it('removes the factor and recovery codes, revokes every session, mails the user, audits', async () => {
    const user = await enrolled();
    const admin = await signedInAdmin();
    const adminTokens = admin.tokens;
    const res = await call(
      `/admin/users/${user.user.id}/mfa`,
      withBearer(adminTokens.access_token, { method: 'DELETE' }),
    );
    expect(res.status).toBe(204);
    const row = await env.DB.prepare(
      'SELECT totp_secret, totp_enabled_at, (SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = users.id) AS codes FROM users WHERE id = ?',
    )
      .bind(user.user.id)
      .first();
    expect(row).toEqual({ totp_secret: null, totp_enabled_at: null, codes: 0 });
    await expectProblem(await me(user.tokens.access_token), 401, 'unauthorized');
    expect((await refresh(user.tokens.refresh_token)).status).toBe(401);
    // The password alone signs in now, and the user can enrol again.
    const again = await call('/auth/login', json({ email: user.email, password: PASSWORD }));
    expect(await again.json()).toHaveProperty('access_token');
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'mfa.removed_by_admin' AND user_id = ?",
    )
      .bind(user.user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toEqual({ by: admin.user.id, was_enabled: true });
    expect((await mailTo(user.email)).map((m) => m.subject)).toContain(
      'Two-factor authentication was removed from your Edge Auth account',
    );
  });

  it('is for admins only, and 404 for an unknown user', async () => {
    const user = await enrolled();
    await expectProblem(
      await call(
        `/admin/users/${user.user.id}/mfa`,
        withBearer(user.tokens.access_token, { method: 'DELETE' }),
      ),
      403,
      'forbidden',
    );
    const admin = await signedInAdmin();
    const adminTokens = admin.tokens;
    await expectProblem(
      await call(
        `/admin/users/${crypto.randomUUID()}/mfa`,
        withBearer(adminTokens.access_token, { method: 'DELETE' }),
      ),
      404,
      'not_found',
    );
  });
});
