import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailTo,
  mailedToken,
  register,
  signedIn,
  signedInAdmin,
  uniqueEmail,
  withBearer,
  onMainDatabase,
} from '../helpers';
import { Browser } from '../pages/browser';
import { auditTypes, count } from './helpers';

const NEW_PASSWORD = 'a fresh invited passphrase';
const invite = (token: string, body: unknown) =>
  call('/admin/users', withBearer(token, json(body)));
const bare = (method: string, token: string, path: string) =>
  call(path, withBearer(token, { method }));

/** Accepts an invitation in the page, as a browser does; returns the browser and the answer. */
async function accept(linkToken: string, password = NEW_PASSWORD) {
  const browser = new Browser();
  const page = await browser.get(`/accept-invite?token=${linkToken}`);
  const res = await browser.post('/accept-invite', { token: linkToken, new_password: password });
  return { browser, page, res };
}

describe('admin routes: 401 / 403', () => {
  it.each([
    ['POST', '/admin/users', { email: 'x@example.com' }],
    ['DELETE', '/admin/users/{id}', undefined],
    ['POST', '/admin/users/{id}/unlock', undefined],
    ['POST', '/admin/users/{id}/password-reset', undefined],
  ])('%s %s', async (method, path, body) => {
    const user = await signedIn();
    const url = path.replace('{id}', user.user.id);
    const init = (token?: string): RequestInit => ({
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    await expectProblem(await call(url, init()), 401, 'unauthorized');
    await expectProblem(await call(url, init(user.tokens.access_token)), 403, 'forbidden');
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.user.id)).toBe(1);
  });
});

describe('POST /admin/users', () => {
  it('creates a user without a password and mails an invitation that sets one and signs in', async () => {
    const admin = await signedInAdmin();
    const email = uniqueEmail('invited');
    const res = await invite(admin.tokens.access_token, { email, name: 'Ines', role: 'user' });
    expect(res.status).toBe(201);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const user = (await res.json()) as { id: string; email: string; email_verified: boolean };
    expect(user).toMatchObject({ email, email_verified: false });
    expect(await auditTypes(user.id)).toEqual(['user.invited']);
    // No password until the link is used: a sign-in fails like a wrong password.
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      401,
      'invalid_credentials',
    );
    const link = await mailedToken(email, 'accept-invite');
    const { page, res: done, browser } = await accept(link);
    expect(page.status).toBe(200);
    expect(page.text).toContain(email);
    expect(done.status).toBe(303);
    expect(done.headers.get('Location')).toBe('/account');
    expect((await browser.get('/account')).text).toContain(email);
    const tokens = await login(email, NEW_PASSWORD);
    const me = await call('/users/me', withBearer(tokens.access_token));
    expect(((await me.json()) as { email_verified: boolean }).email_verified).toBe(true);
    expect(await auditTypes(user.id)).toContain('invite.accepted');
  });

  it('can invite an admin', async () => {
    const admin = await signedInAdmin();
    const res = await invite(admin.tokens.access_token, { email: uniqueEmail(), role: 'admin' });
    expect(((await res.json()) as { role: string }).role).toBe('admin');
  });

  it('signs nobody in when the account is gone before its session is written', async () => {
    const admin = await signedInAdmin();
    const email = uniqueEmail('invited');
    const { id } = (await (await invite(admin.tokens.access_token, { email })).json()) as {
      id: string;
    };
    const link = await mailedToken(email, 'accept-invite');
    // The main database's session insert (shard 0); a shard's is test/shards/'s.
    await onMainDatabase(id);
    // A trigger stands for a deletion between the password being set and the session insert.
    await env.DB.prepare(
      `CREATE TRIGGER vanish_invite BEFORE INSERT ON sessions WHEN NEW.user_id = '${id}'
       BEGIN SELECT RAISE(IGNORE); END`,
    ).run();
    try {
      const { res } = await accept(link);
      expect(res.status).toBe(200);
      expect(res.headers.get('Set-Cookie') ?? '').not.toMatch(/refresh_token=[^;]/);
      const succeeded = await count(
        "SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'login.succeeded'",
        id,
      );
      expect(succeeded).toBe(0);
    } finally {
      await env.DB.prepare('DROP TRIGGER vanish_invite').run();
    }
  });

  it('is single-use', async () => {
    const admin = await signedInAdmin();
    const email = uniqueEmail('invited');
    await invite(admin.tokens.access_token, { email });
    const link = await mailedToken(email, 'accept-invite');
    expect((await accept(link)).res.status).toBe(303);
    const again = await accept(link, 'another fresh passphrase');
    expect(again.page.status).toBe(400);
    expect(again.res.status).toBe(400);
    await login(email, NEW_PASSWORD);
  });

  it('expires after INVITE_TTL', async () => {
    const admin = await signedInAdmin();
    const email = uniqueEmail('invited');
    const before = Date.now();
    const created = await invite(admin.tokens.access_token, { email });
    const { id } = (await created.json()) as { id: string };
    const row = await env.DB.prepare(
      "SELECT created_at, expires_at FROM one_time_tokens WHERE user_id = ? AND purpose = 'invite'",
    )
      .bind(id)
      .first<{ created_at: number; expires_at: number }>();
    expect(row!.created_at).toBeGreaterThanOrEqual(before);
    expect(row!.expires_at - row!.created_at).toBe(7 * 86_400 * 1000);
    // The clock moves past the expiry: the stored time is what the check compares with now.
    await env.DB.prepare(
      "UPDATE one_time_tokens SET expires_at = ? WHERE user_id = ? AND purpose = 'invite'",
    )
      .bind(Date.now() - 1, id)
      .run();
    const link = await mailedToken(email, 'accept-invite');
    const late = await accept(link);
    expect(late.page.status).toBe(400);
    expect(late.res.status).toBe(400);
    await expectProblem(
      await call('/auth/login', json({ email, password: NEW_PASSWORD })),
      401,
      'invalid_credentials',
    );
  });

  it('answers 409 for a taken address and 422 for a bad one', async () => {
    const admin = await signedInAdmin();
    const { email } = await register();
    await expectProblem(await invite(admin.tokens.access_token, { email }), 409, 'email_taken');
    await expectProblem(
      await invite(admin.tokens.access_token, { email: 'nope' }),
      422,
      'validation_failed',
    );
    await expectProblem(
      await invite(admin.tokens.access_token, { email: uniqueEmail(), role: 'root' }),
      422,
      'validation_failed',
    );
  });

  it('creates one account for two parallel invitations of one address', async () => {
    const admin = await signedInAdmin();
    const email = uniqueEmail('invited');
    const results = await Promise.all([
      invite(admin.tokens.access_token, { email }),
      invite(admin.tokens.access_token, { email }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM one_time_tokens t JOIN users u ON u.id = t.user_id WHERE u.email = ? AND t.purpose = 'invite'",
        email,
      ),
    ).toBe(1);
  });
});

describe('DELETE /admin/users/{id}', () => {
  it('erases the user and cuts their tokens', async () => {
    const admin = await signedInAdmin();
    const { user, tokens, email } = await signedIn();
    const res = await bare('DELETE', admin.tokens.access_token, `/admin/users/${user.id}`);
    expect(res.status).toBe(204);
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', user.id)).toBe(0);
    await expectProblem(
      await call('/users/me', withBearer(tokens.access_token)),
      401,
      'unauthorized',
    );
    const deleted = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE user_id = ? AND type = 'account.deleted'",
    )
      .bind(user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(deleted!.detail)).toEqual({ by: admin.user.id });
    expect((await mailTo(email)).map((m) => m.subject)).toEqual([
      'Your Edge Auth account was deleted',
    ]);
  });

  it('answers 404 for an unknown user', async () => {
    const admin = await signedInAdmin();
    const res = await bare(
      'DELETE',
      admin.tokens.access_token,
      `/admin/users/${crypto.randomUUID()}`,
    );
    await expectProblem(res, 404, 'not_found');
  });
});

describe('POST /admin/users/{id}/unlock', () => {
  it("lifts the email's lockout, audited", async () => {
    const admin = await signedInAdmin();
    const { email, user } = await register();
    for (let i = 0; i < 5; i++) {
      await call('/auth/login', json({ email, password: `wrong password ${i}` }));
    }
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      423,
      'account_locked',
    );
    const res = await bare('POST', admin.tokens.access_token, `/admin/users/${user.id}/unlock`);
    expect(res.status).toBe(204);
    await login(email);
    const row = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE user_id = ? AND type = 'account.unlocked'",
    )
      .bind(user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(row!.detail)).toEqual({ by: admin.user.id, was_locked: true });
  });

  it('answers 404 for an unknown user', async () => {
    const admin = await signedInAdmin();
    const res = await bare(
      'POST',
      admin.tokens.access_token,
      `/admin/users/${crypto.randomUUID()}/unlock`,
    );
    await expectProblem(res, 404, 'not_found');
  });
});

describe('POST /admin/users/{id}/password-reset', () => {
  it('mails a reset link that works, and spends older ones', async () => {
    const admin = await signedInAdmin();
    const { email, user } = await register();
    await call('/auth/password/forgot', json({ email }));
    const older = await mailedToken(email, 'reset-password');
    const res = await bare(
      'POST',
      admin.tokens.access_token,
      `/admin/users/${user.id}/password-reset`,
    );
    expect(res.status).toBe(202);
    const link = await mailedToken(email, 'reset-password');
    expect(link).not.toBe(older);
    const reset = (token: string) =>
      call('/auth/password/reset', json({ token, new_password: NEW_PASSWORD }));
    await expectProblem(await reset(older), 400, 'invalid_token');
    expect((await reset(link)).status).toBe(204);
    await login(email, NEW_PASSWORD);
    expect(await auditTypes(user.id)).toContain('password.reset_sent_by_admin');
  });

  it('answers 404 for an unknown user', async () => {
    const admin = await signedInAdmin();
    const path = `/admin/users/${crypto.randomUUID()}/password-reset`;
    await expectProblem(await bare('POST', admin.tokens.access_token, path), 404, 'not_found');
  });
});
