import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { hotp, stepAt } from '../../src/crypto/totp';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  me,
  refresh,
  register,
  type Tokens,
  withBearer,
} from '../helpers';

afterEach(() => vi.restoreAllMocks());

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32Decode(text: string): Uint8Array {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text) {
    value = (value << 5) | BASE32.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}
/** What an authenticator app shows for `secret` at a given step offset from now. */
const codeFor = (secret: string, offset = 0) =>
  hotp(base32Decode(secret), stepAt(Date.now()) + offset);

const post = (token: string, path: string, body: unknown) =>
  call(path, withBearer(token, json(body)));

/** A user with TOTP on: their secret, recovery codes and a session. */
async function enrolled() {
  const account = await register();
  const tokens = await login(account.email);
  const setup = (await (
    await call('/users/me/mfa/totp/setup', withBearer(tokens.access_token, { method: 'POST' }))
  ).json()) as { secret: string; otpauth_uri: string };
  const res = await post(tokens.access_token, '/users/me/mfa/totp/enable', {
    code: await codeFor(setup.secret),
  });
  const { recovery_codes } = (await res.json()) as { recovery_codes: string[] };
  return { ...account, tokens, secret: setup.secret, recoveryCodes: recovery_codes };
}
async function passwordStep(email: string) {
  const res = await call('/auth/login', json({ email, password: PASSWORD }));
  expect(res.status).toBe(200);
  return (await res.json()) as { mfa_required: boolean; mfa_token: string; expires_in: number };
}
const verify = (mfa_token: string, code: string) =>
  call('/auth/mfa/verify', json({ mfa_token, code }));

describe('TOTP enrolment', () => {
  it('setup returns a secret and otpauth URI; MFA is on only after enable with a valid code', async () => {
    const { email } = await register();
    const tokens = await login(email);
    const res = await call(
      '/users/me/mfa/totp/setup',
      withBearer(tokens.access_token, { method: 'POST' }),
    );
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
      await call('/users/me/mfa/totp/setup', withBearer(tokens.access_token, { method: 'POST' })),
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
    const results = await Promise.all(
      challenges.flatMap((ch) => [verify(ch.mfa_token, code), verify(ch.mfa_token, code)]),
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
    const user = await enrolled();
    const step = await passwordStep(user.email);
    for (let i = 0; i < 5; i++) await verify(step.mfa_token, String(100000 + i));
    await expectProblem(
      await verify(step.mfa_token, await codeFor(user.secret, 1)),
      401,
      'invalid_mfa_code',
    );
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'mfa.failed' AND user_id = ?",
    )
      .bind(user.user.id)
      .first<{ n: number }>())!;
    expect(n).toBe(5);
  });

  it('counts wrong codes towards the email lockout, so new challenges do not reset the budget', async () => {
    const user = await enrolled();
    for (let i = 0; i < 3; i++) await verify((await passwordStep(user.email)).mfa_token, '000000');
    // Password steps and failed codes add up: the email is now locked.
    await expectProblem(
      await call('/auth/login', json({ email: user.email, password: PASSWORD })),
      423,
      'account_locked',
    );
    const lock = await env.DB.prepare('SELECT locked_until FROM login_failures WHERE email = ?')
      .bind(user.email)
      .first<{ locked_until: number }>();
    expect(lock!.locked_until).toBeGreaterThan(Date.now());
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'account.locked' AND user_id = ?",
    )
      .bind(user.user.id)
      .first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('is not bypassed by a password reset', async () => {
    const user = await enrolled();
    await call('/auth/password/forgot', json({ email: user.email }));
    const mails = (
      (await (await call('/dev/mailbox.json')).json()) as {
        messages: { to: string; text: string }[];
      }
    ).messages;
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(
      mails.find((m) => m.to === user.email && m.text.includes('reset-password'))!.text,
    )![1]!;
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
    await expectProblem(
      await disable({ password: 'wrong password!!', code: await codeFor(user.secret) }),
      401,
      'invalid_credentials',
    );
    await expectProblem(
      await disable({ password: PASSWORD, code: '000000' }),
      401,
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
      await call('/users/me/mfa/totp/setup', as({ method: 'POST' }), strict)
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
