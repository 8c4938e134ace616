import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, call, json, login, mailedToken, register, uniqueEmail } from '../helpers';
import { Browser } from '../pages/browser';
import { count } from './helpers';

async function signedInBrowser() {
  const account = await register();
  const b = new Browser();
  await b.get('/sign-in');
  await b.post('/sign-in', { email: account.email, password: PASSWORD });
  await b.get('/account');
  return { ...account, b };
}
const notice = (html: string) => /<p class="notice"[^>]*>([^<]*)</.exec(html)?.[1];
const error = (html: string) => /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];

describe('/account: email change', () => {
  it('asks for the change, and the mailed link lands on a page whose button confirms it', async () => {
    const { b, email, user } = await signedInBrowser();
    const next = uniqueEmail('new');
    const res = await b.post('/account/email', { new_email: next, password: PASSWORD });
    expect(res.headers.get('Location')).toBe('/account?done=emailChange#email');
    expect(notice((await b.get('/account?done=emailChange')).text)).toMatch(/link is on its way/);
    const token = await mailedToken(next, 'confirm-email-change');
    // Opening the link (a mail scanner's GET) spends nothing.
    const page = await b.get(`/confirm-email-change?token=${token}`);
    expect(page.status).toBe(200);
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE email = ?', email)).toBe(1);
    const done = await b.post('/confirm-email-change', { token });
    expect(done.status).toBe(200);
    expect(done.text).toContain(next);
    expect((await b.get('/account')).text).toContain(next);
    const row = await env.DB.prepare('SELECT email FROM users WHERE id = ?').bind(user.id).first();
    expect(row).toEqual({ email: next });
  });

  it('shows a wrong password and a taken address in the section', async () => {
    const { b } = await signedInBrowser();
    const wrong = await b.post('/account/email', {
      new_email: uniqueEmail(),
      password: 'nope nope nope',
    });
    expect(wrong.status).toBe(403);
    expect(error(wrong.text)).toBe('Your current password is not correct.');
    const other = await register();
    const taken = await b.post('/account/email', { new_email: other.email, password: PASSWORD });
    expect(taken.status).toBe(409);
    expect(error(taken.text)).toBe('An account with this email already exists.');
  });

  it('refuses a confirmation posted from another site, and a spent link', async () => {
    const { b } = await signedInBrowser();
    const next = uniqueEmail('new');
    await b.post('/account/email', { new_email: next, password: PASSWORD });
    const token = await mailedToken(next, 'confirm-email-change');
    await b.get(`/confirm-email-change?token=${token}`);
    const forged = await b.post(
      '/confirm-email-change',
      { token },
      { origin: 'https://evil.example' },
    );
    expect(forged.status).toBe(403);
    expect((await b.post('/confirm-email-change', { token })).status).toBe(200);
    expect((await b.post('/confirm-email-change', { token })).status).toBe(400);
  });
});

describe('/account: export and deletion', () => {
  it('downloads the export with the session cookie', async () => {
    const { b, email } = await signedInBrowser();
    const res = await b.get('/account/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Disposition')).toMatch(/^attachment/);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect((JSON.parse(res.text) as { profile: { email: string } }).profile.email).toBe(email);
    const out = await new Browser().get('/account/export');
    expect([out.status, out.headers.get('Location')]).toEqual([303, '/sign-in']);
  });

  it('deletes the account with the password and the box ticked, then signs the browser out', async () => {
    const { b, email, user } = await signedInBrowser();
    const unticked = await b.post('/account/delete', { password: PASSWORD });
    expect(unticked.status).toBe(422);
    const wrong = await b.post('/account/delete', { password: 'nope nope nope', confirm: 'yes' });
    expect(wrong.status).toBe(403);
    const forged = await b.post(
      '/account/delete',
      { password: PASSWORD, confirm: 'yes' },
      { origin: 'https://evil.example' },
    );
    expect(forged.status).toBe(403);
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.id)).toBe(1);
    const res = await b.post('/account/delete', { password: PASSWORD, confirm: 'yes' });
    expect([res.status, res.headers.get('Location')]).toEqual([303, '/account-deleted']);
    expect((await b.get('/account-deleted')).text).toContain('Account deleted');
    expect((await b.get('/account')).headers.get('Location')).toBe('/sign-in');
    expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.id)).toBe(0);
    const again = await call('/auth/login', json({ email, password: PASSWORD }));
    expect(again.status).toBe(401);
  });
});

describe('/accept-invite', () => {
  it('refuses a form posted from another site and an unknown link', async () => {
    const b = new Browser();
    expect((await b.get('/accept-invite?token=nope')).status).toBe(400);
    const admin = await register(uniqueEmail('admin'));
    await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(admin.user.id).run();
    const tokens = await login(admin.email);
    const email = uniqueEmail('invited');
    await call('/admin/users', {
      ...json({ email }),
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Bearer ${tokens.access_token}`,
      },
    });
    const token = await mailedToken(email, 'accept-invite');
    await b.get(`/accept-invite?token=${token}`);
    const forged = await b.post(
      '/accept-invite',
      { token, new_password: 'a fresh invited passphrase' },
      { origin: 'https://evil.example' },
    );
    expect(forged.status).toBe(403);
    const weak = await b.post('/accept-invite', { token, new_password: 'short' });
    expect(weak.status).toBe(422);
    expect(
      (await b.post('/accept-invite', { token, new_password: 'a fresh invited passphrase' }))
        .status,
    ).toBe(303);
  });
});
