import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { sha256 } from '../../src/crypto/tokens';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  me,
  refresh,
  register,
  uniqueEmail,
} from '../helpers';

afterEach(() => vi.restoreAllMocks());

type Message = {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  sent_at: string;
};
const mailbox = async () =>
  ((await (await call('/dev/mailbox.json')).json()) as { messages: Message[] }).messages;
const mailTo = async (to: string) => (await mailbox()).filter((m) => m.to === to);
/** The token from the newest mail to `to` whose link goes to `page`. */
async function tokenFrom(to: string, page: 'verify-email' | 'reset-password') {
  const message = (await mailTo(to)).find((m) => m.text.includes(`/${page}?token=`));
  if (!message) throw new Error(`no ${page} mail to ${to}`);
  const url = new URL(
    /https?:\/\/\S+/.exec(message.text.slice(message.text.indexOf(`/${page}?`) - 40))![0],
  );
  return { url, token: url.searchParams.get('token')! };
}
const verify = (token: string) => call('/auth/email/verify', json({ token }));
const forgot = (email: string) => call('/auth/password/forgot', json({ email }));
const reset = (token: string, new_password: string) =>
  call('/auth/password/reset', json({ token, new_password }));

describe('email verification', () => {
  it('mails a link to APP_URL on registration; the token verifies the address once', async () => {
    const { email } = await register();
    const { url, token } = await tokenFrom(email, 'verify-email');
    expect(url.origin + url.pathname).toBe('https://app.example.com/verify-email');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await verify(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email, email_verified: true });
    await expectProblem(await verify(token), 400, 'invalid_token');
    const stored = JSON.stringify(
      (await env.DB.prepare('SELECT * FROM one_time_tokens').all()).results,
    );
    expect(stored).not.toContain(token);
    expect(stored).toContain(await sha256(token));
  });

  it('refuses an expired, unknown or wrong-purpose token', async () => {
    const { email } = await register();
    const { token } = await tokenFrom(email, 'verify-email');
    await env.DB.prepare('UPDATE one_time_tokens SET expires_at = ? WHERE token_hash = ?')
      .bind(Date.now() - 1, await sha256(token))
      .run();
    await expectProblem(await verify(token), 400, 'invalid_token');
    await expectProblem(await verify('A'.repeat(43)), 400, 'invalid_token');
    await forgot(email);
    const resetToken = (await tokenFrom(email, 'reset-password')).token;
    await expectProblem(await verify(resetToken), 400, 'invalid_token');
    expect((await reset(resetToken, 'a new fine passphrase')).status).toBe(204);
  });

  it('lets exactly one of two concurrent submissions succeed', async () => {
    const { email } = await register();
    const { token } = await tokenFrom(email, 'verify-email');
    const statuses = (await Promise.all([verify(token), verify(token), verify(token)]))
      .map((r) => r.status)
      .sort();
    expect(statuses).toEqual([200, 400, 400]);
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'email.verified' AND user_id = (SELECT id FROM users WHERE email = ?)",
    )
      .bind(email)
      .first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('resend answers 202 always and invalidates the previous token', async () => {
    const { email } = await register();
    const first = (await tokenFrom(email, 'verify-email')).token;
    const res = await call('/auth/email/resend', json({ email }));
    expect(res.status).toBe(202);
    const second = (await tokenFrom(email, 'verify-email')).token;
    expect(second).not.toBe(first);
    await expectProblem(await verify(first), 400, 'invalid_token');
    expect((await verify(second)).status).toBe(200);
    // Verified and unknown addresses get the same 202 and no mail.
    for (const address of [email, uniqueEmail('nobody')]) {
      const before = (await mailTo(address)).length;
      const again = await call('/auth/email/resend', json({ email: address }));
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ status: 'accepted' });
      expect((await mailTo(address)).length).toBe(before);
    }
  });

  it('throttles resends per address silently, and per IP with 429', async () => {
    const { email } = await register();
    for (let i = 0; i < 5; i++)
      expect((await call('/auth/email/resend', json({ email }))).status).toBe(202);
    // One mail at registration, then RATE_LIMIT_EMAIL_PER_ADDRESS (3 per hour) resends.
    expect((await mailTo(email)).length).toBe(4);
    const ip = { 'CF-Connecting-IP': '198.51.100.200' };
    const tight = { RATE_LIMIT_EMAIL_RESEND: '1/60' };
    expect((await call('/auth/email/resend', json({ email }, ip), tight)).status).toBe(202);
    await expectProblem(
      await call('/auth/email/resend', json({ email }, ip), tight),
      429,
      'rate_limited',
    );
  });

  it('with REQUIRE_EMAIL_VERIFICATION, refuses login with 403 until verified (right password only)', async () => {
    const { email } = await register();
    const strict = { REQUIRE_EMAIL_VERIFICATION: 'true' };
    await expectProblem(
      await call('/auth/login', json({ email, password: 'wrong password!!' }), strict),
      401,
      'invalid_credentials',
    );
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD }), strict),
      403,
      'email_not_verified',
    );
    await verify((await tokenFrom(email, 'verify-email')).token);
    expect((await call('/auth/login', json({ email, password: PASSWORD }), strict)).status).toBe(
      200,
    );
  });
});

describe('password reset', () => {
  it('answers a known and an unknown email identically, and mails only the known one', async () => {
    const { email } = await register();
    const ghost = uniqueEmail('ghost');
    const [known, unknown] = [await forgot(email), await forgot(ghost)];
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(await known.text()).toBe(await unknown.text());
    const headers = (r: Response) =>
      [...r.headers].filter(([k]) => k !== 'x-request-id' && !k.startsWith('ratelimit-'));
    expect(headers(known)).toEqual(headers(unknown));
    expect((await mailTo(email)).some((m) => m.subject.startsWith('Reset'))).toBe(true);
    expect(await mailTo(ghost)).toEqual([]);
  });

  it('builds the link from APP_URL even when Host and X-Forwarded-Host are forged', async () => {
    const { email } = await register();
    const ctx = createExecutionContext();
    const forged = new Request('https://evil.example/auth/password/forgot', {
      ...json({ email }, { 'X-Forwarded-Host': 'evil.example', Host: 'evil.example' }),
    });
    expect((await worker.fetch(forged, env, ctx)).status).toBe(202);
    await waitOnExecutionContext(ctx);
    const { url } = await tokenFrom(email, 'reset-password');
    expect(url.origin).toBe('https://app.example.com');
    expect(JSON.stringify(await mailTo(email))).not.toContain('evil.example');
  });

  it('sets the password, revokes every session, returns no tokens, and mails a notice', async () => {
    const { email } = await register();
    const a = await login(email);
    const b = await login(email);
    await forgot(email);
    const { token } = await tokenFrom(email, 'reset-password');
    const res = await reset(token, 'my new passphrase!');
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(res.headers.get('Set-Cookie')).toBeNull();
    for (const t of [a, b]) {
      expect((await me(t.access_token)).status).toBe(401);
      expect((await refresh(t.refresh_token)).status).toBe(401);
    }
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      401,
      'invalid_credentials',
    );
    expect(
      (await call('/auth/login', json({ email, password: 'my new passphrase!' }))).status,
    ).toBe(200);
    expect((await mailTo(email)).some((m) => m.subject.includes('password was changed'))).toBe(
      true,
    );
    await expectProblem(await reset(token, 'yet another passphrase'), 400, 'invalid_token');
  });

  it('works while the email is locked out, and clears the lock', async () => {
    const { email } = await register();
    for (let i = 0; i < 5; i++)
      await call('/auth/login', json({ email, password: 'wrong password!!' }));
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      423,
      'account_locked',
    );
    await forgot(email);
    expect(
      (await reset((await tokenFrom(email, 'reset-password')).token, 'unlocked passphrase')).status,
    ).toBe(204);
    expect(
      (await call('/auth/login', json({ email, password: 'unlocked passphrase' }))).status,
    ).toBe(200);
  });

  it('lets exactly one of two concurrent resets win, with the winner’s password', async () => {
    const { email } = await register();
    await forgot(email);
    const { token } = await tokenFrom(email, 'reset-password');
    const [r1, r2] = await Promise.all([
      reset(token, 'first racing passphrase'),
      reset(token, 'second racing passphrase'),
    ]);
    expect([r1.status, r2.status].sort()).toEqual([204, 400]);
    const winner = r1.status === 204 ? 'first racing passphrase' : 'second racing passphrase';
    const loser = r1.status === 204 ? 'second racing passphrase' : 'first racing passphrase';
    expect((await call('/auth/login', json({ email, password: winner }))).status).toBe(200);
    expect((await call('/auth/login', json({ email, password: loser }))).status).toBe(401);
  });

  it('refuses a weak new password with 422 and leaves the token usable', async () => {
    const { email } = await register();
    await forgot(email);
    const { token } = await tokenFrom(email, 'reset-password');
    await expectProblem(await reset(token, 'short'), 422, 'validation_failed');
    expect((await reset(token, 'a fine new passphrase')).status).toBe(204);
  });

  it('spends older reset tokens when a new one is issued or the password changes', async () => {
    const { email } = await register();
    await forgot(email);
    const older = (await tokenFrom(email, 'reset-password')).token;
    await forgot(email);
    const newer = (await tokenFrom(email, 'reset-password')).token;
    await expectProblem(await reset(older, 'an older passphrase'), 400, 'invalid_token');
    const session = await login(email);
    await call('/users/me/password', {
      ...json({ current_password: PASSWORD, new_password: 'changed in the app' }),
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${session.access_token}`,
      },
    });
    await expectProblem(await reset(newer, 'a newer passphrase'), 400, 'invalid_token');
  });
});

describe('the development mailbox', () => {
  it('renders messages newest first with clickable links and escaped HTML', async () => {
    const { email } = await register();
    await env.DB.prepare(
      "INSERT INTO dev_mailbox (id, \"to\", subject, text, html, sent_at) VALUES ('zzzz-newest', ?1, '<script>alert(1)</script>', 'x <img src=x onerror=alert(1)> https://app.example.com/a?b=1&c=2', '', ?2)",
    )
      .bind(email, Date.now())
      .run();
    const res = await call('/dev/mailbox');
    expect(res.headers.get('Content-Type')).toContain('text/html');
    expect(res.headers.get('Content-Security-Policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).toContain('<a href="https://app.example.com/a?b=1&#38;c=2">');
    expect(html).toMatch(
      /<a href="https:\/\/app\.example\.com\/verify-email\?token=[A-Za-z0-9_-]{43}">/,
    );
    expect(html.indexOf('&#60;script')).toBeLessThan(html.indexOf('verify-email'));
  });

  it('is a 404 with any other transport', async () => {
    const resend = { MAIL_TRANSPORT: 'resend', MAIL_API_KEY: 'k', MAIL_FROM: 'a@b.co' };
    await expectProblem(await call('/dev/mailbox', {}, resend), 404, 'not_found');
    await expectProblem(await call('/dev/mailbox.json', {}, resend), 404, 'not_found');
  });

  it('makes every request fail closed when configured in production', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const path of ['/dev/mailbox', '/health/live', '/.well-known/jwks.json']) {
      await expectProblem(
        await call(path, {}, { ENVIRONMENT: 'production' }),
        500,
        'server_misconfigured',
      );
    }
  });
});
