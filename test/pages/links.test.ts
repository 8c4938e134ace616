import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  json,
  login,
  mailTo,
  mailedToken,
  refresh,
  register,
  uniqueEmail,
} from '../helpers';
import { Browser } from './browser';

const card = (html: string) => /<main>([\s\S]*)<\/main>/.exec(html)![1]!;

describe('/sign-up', () => {
  it('creates an account, mails the link, and answers a taken address the same way', async () => {
    const b = new Browser();
    const page = await b.get('/sign-up');
    expect(page.text).toContain('autocomplete="new-password"');
    expect(page.text).toContain('minlength="12"');
    const email = uniqueEmail('page');
    const created = await b.post('/sign-up', { email, password: PASSWORD, name: 'Ana' });
    expect(created.status).toBe(200);
    expect(await mailedToken(email, 'verify-email')).toBeTruthy();

    const again = await b.post('/sign-up', {
      email,
      password: 'another fine passphrase',
      name: '',
    });
    expect(again.status).toBe(200);
    expect(card(again.text)).toBe(card(created.text));
    // Only the mailbox learns that the address has an account.
    expect((await mailTo(email)).map((m) => m.subject)).toContain(
      'You already have an account with Edge Auth',
    );
    const users = await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE email = ?')
      .bind(email)
      .first();
    expect(users).toEqual({ n: 1 });
  });

  it('applies the password policy with a message next to the form (422)', async () => {
    const b = new Browser();
    await b.get('/sign-up');
    const res = await b.post('/sign-up', { email: uniqueEmail(), password: 'password' });
    expect(res.status).toBe(422);
    expect(res.text).toMatch(/Password: must be at least 12 characters/);
  });
});

describe('/verify-email', () => {
  it('spends the token only on the POST: a mail scanner’s GET changes nothing', async () => {
    const { email, user } = await register();
    const token = await mailedToken(email, 'verify-email');
    const b = new Browser();
    for (let i = 0; i < 3; i++) {
      const page = await b.get(`/verify-email?token=${token}`);
      expect(page.status).toBe(200);
      expect(b.field('token')).toBe(token);
    }
    const before = await env.DB.prepare('SELECT email_verified_at FROM users WHERE id = ?')
      .bind(user.id)
      .first();
    expect(before).toEqual({ email_verified_at: null });
    const confirmed = await b.post('/verify-email', { token });
    expect(confirmed.status).toBe(200);
    expect(confirmed.text).toContain(`${email} is confirmed.`);
    const again = await b.post('/verify-email', { token });
    expect(again.status).toBe(400);
    expect(again.text).toContain('invalid or has expired');
  });
});

describe('/reset-password', () => {
  it('answers the same for a known and an unknown address', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/reset-password');
    const known = await b.post('/reset-password', { email });
    const unknown = await b.post('/reset-password', { email: 'nobody.here@example.com' });
    expect([known.status, unknown.status]).toEqual([200, 200]);
    const strip = (html: string) => card(html).replace(/[^\s<>]+@example\.com/, '<email>');
    expect(strip(known.text)).toBe(strip(unknown.text));
  });

  it('sets a new password from the mailed link; every session ends; nobody is signed in', async () => {
    const { email } = await register();
    const session = await login(email);
    const b = new Browser();
    await b.get('/reset-password');
    await b.post('/reset-password', { email });
    const token = await mailedToken(email, 'reset-password');
    const form = await b.get(`/reset-password?token=${token}`);
    expect(form.status).toBe(200);
    expect(form.text).toContain('autocomplete="new-password"');
    expect(form.text).toContain(`value="${email}"`); // the username field for password managers
    const weak = await b.post('/reset-password/new', { token, new_password: 'short' });
    expect(weak.status).toBe(422);
    const done = await b.post('/reset-password/new', {
      token,
      new_password: 'a brand new passphrase',
    });
    expect(done.status).toBe(200);
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
    expect((await refresh(session.refresh_token)).status).toBe(401);
    expect(
      (await call('/auth/login', json({ email, password: 'a brand new passphrase' }))).status,
    ).toBe(200);
    expect((await b.get(`/reset-password?token=${token}`)).status).toBe(400);
  });
});

describe('mail links without APP_URL', () => {
  it('point at these pages on the worker itself', async () => {
    const noApp = { APP_URL: '' };
    const email = uniqueEmail('noapp');
    const res = await call('/auth/register', json({ email, password: PASSWORD }), noApp);
    expect(res.status).toBe(201);
    const [mail] = await mailTo(email);
    expect(mail!.text).toMatch(new RegExp(`${env.ISSUER}/verify-email\\?token=[\\w-]+`));
  });
});
