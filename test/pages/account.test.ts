import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, call, json, login, mailTo, me, refresh, register } from '../helpers';
import { codeFor, decodeQrSvg } from '../totp';
import { Browser } from './browser';

/** A browser signed in through the sign-in page, on /account. */
async function signedInBrowser(name?: string) {
  const account = await register(undefined, PASSWORD, name);
  const b = new Browser();
  await b.get('/sign-in');
  await b.post('/sign-in', { email: account.email, password: PASSWORD });
  await b.get('/account');
  return { ...account, b };
}
const notice = (html: string) => /<p class="notice"[^>]*>([^<]*)</.exec(html)?.[1];
const error = (html: string) => /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];

describe('/account', () => {
  it('sends a signed-out browser to /sign-in', async () => {
    const res = await new Browser().get('/account');
    expect([res.status, res.headers.get('Location')]).toEqual([303, '/sign-in']);
  });

  it('escapes what users typed (a stored XSS in a name stays text)', async () => {
    const { b } = await signedInBrowser('<script>alert(1)</script>"><img src=x onerror=alert(2)>');
    const page = await b.get('/account');
    expect(page.text).not.toContain('<script>alert(1)');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('changes the name (POST, redirect, GET)', async () => {
    const { b, user } = await signedInBrowser();
    const res = await b.post('/account/name', { name: 'Ana Lúcia' });
    expect(res.headers.get('Location')).toBe('/account?done=name#profile');
    const page = await b.get('/account?done=name');
    expect(notice(page.text)).toBe('Name saved.');
    for (const key of ['__proto__', 'constructor', 'toString', '<b>x</b>']) {
      const other = await b.get(`/account?done=${encodeURIComponent(key)}`);
      expect([other.status, notice(other.text)]).toEqual([200, undefined]);
    }
    const row = await env.DB.prepare('SELECT name FROM users WHERE id = ?').bind(user.id).first();
    expect(row).toEqual({ name: 'Ana Lúcia' });
  });

  it('changes the password with the current one (403 and no change without it); other sessions end', async () => {
    const { b, email } = await signedInBrowser();
    const api = await login(email);
    const wrong = await b.post('/account/password', {
      current_password: 'not my password',
      new_password: 'a brand new passphrase',
    });
    expect(wrong.status).toBe(403);
    expect(error(wrong.text)).toBe('Your current password is not correct.');
    const weak = await b.post('/account/password', {
      current_password: PASSWORD,
      new_password: 'short',
    });
    expect(weak.status).toBe(422);
    expect(error(weak.text)).toMatch(/^New password: must be at least 12 characters/);
    const ok = await b.post('/account/password', {
      current_password: PASSWORD,
      new_password: 'a brand new passphrase',
    });
    expect(ok.status).toBe(303);
    expect((await b.get('/account')).status).toBe(200); // this session stays
    expect((await refresh(api.refresh_token)).status).toBe(401); // the others end
    expect(
      (await call('/auth/login', json({ email, password: 'a brand new passphrase' }))).status,
    ).toBe(200);
  });

  it('lists sessions, revokes another one, and signs out everywhere', async () => {
    const { b, email } = await signedInBrowser();
    const api = await login(email, PASSWORD, {
      'User-Agent': 'Mozilla/5.0 (Windows NT 10.0) Firefox/130.0',
    });
    const page = await b.get('/account');
    expect(page.text).toContain('This device');
    expect(page.text).toContain('Firefox on Windows');
    const revoke = await b.post('/account/sessions/revoke', { session_id: api.session_id });
    expect(revoke.headers.get('Location')).toBe('/account?done=session#sessions');
    expect((await refresh(api.refresh_token)).status).toBe(401);
    expect((await me(api.access_token)).status).toBe(401);
    // Someone else's session is not found, and stays alive.
    const stranger = (await register()).email;
    const theirs = await login(stranger);
    const refused = await b.post('/account/sessions/revoke', { session_id: theirs.session_id });
    expect(refused.status).toBe(404);
    expect((await me(theirs.access_token)).status).toBe(200);

    const api2 = await login(email);
    const all = await b.post('/account/sessions/revoke-all', {});
    expect([all.status, all.headers.get('Location')]).toEqual([303, '/sign-in']);
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
    expect((await refresh(api2.refresh_token)).status).toBe(401);
  });

  it('turns two-factor on with a QR code a reader decodes, shows recovery codes once, and off again', async () => {
    const { b, email } = await signedInBrowser();
    const wrong = await b.post('/account/mfa/setup', { password: 'not my password' });
    expect(wrong.status).toBe(403);
    const setup = await b.post('/account/mfa/setup', { password: PASSWORD });
    expect(setup.status).toBe(200);
    const svg = /<svg[\s\S]*?<\/svg>/.exec(setup.text)![0];
    const uri = decodeQrSvg(svg)!;
    expect(uri).toMatch(/^otpauth:\/\/totp\/Edge%20Auth:/);
    const secret = new URL(uri).searchParams.get('secret')!;
    const key = /<code class="key">([^<]*)</.exec(setup.text)![1]!;
    expect(key.replaceAll(' ', '')).toBe(secret);
    expect(key).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);

    const bad = await b.post('/account/mfa/enable', { code: '000000' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<svg'); // the same secret, shown again to try once more
    const on = await b.post('/account/mfa/enable', { code: await codeFor(secret) });
    expect(on.status).toBe(200);
    const codes = [
      ...on.text.matchAll(/<li>([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})<\/li>/g),
    ].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect(on.text).toContain('download="recovery-codes.txt"');
    expect(on.text).toContain('data-copy="recovery-codes"');
    expect((await b.get('/account')).text).not.toContain(codes[0]!);
    expect((await mailTo(email)).map((m) => m.subject)).toContain(
      'Two-factor authentication was turned on for Edge Auth',
    );
    const signIn = await call('/auth/login', json({ email, password: PASSWORD }));
    expect(await signIn.json()).toMatchObject({ mfa_required: true });

    const off = await b.post('/account/mfa/disable', { password: PASSWORD, code: codes[1]! });
    expect(off.headers.get('Location')).toBe('/account?done=mfaOff#two-factor');
    expect(
      await (await call('/auth/login', json({ email, password: PASSWORD }))).json(),
    ).toHaveProperty('access_token');
  });

  it('refuses a form from another site on every account action, changing nothing', async () => {
    const { b, user } = await signedInBrowser('Before');
    for (const [path, fields] of [
      ['/account/name', { name: 'After' }],
      ['/account/password', { current_password: PASSWORD, new_password: 'a brand new passphrase' }],
      ['/account/sessions/revoke-all', {}],
      ['/account/mfa/setup', { password: PASSWORD }],
      ['/sign-out', {}],
    ] as const) {
      const res = await b.post(path, fields, { origin: 'https://evil.example' });
      expect(res.status, path).toBe(403);
    }
    const row = await env.DB.prepare('SELECT name, totp_secret FROM users WHERE id = ?')
      .bind(user.id)
      .first();
    expect(row).toEqual({ name: 'Before', totp_secret: null });
    expect((await b.get('/account')).status).toBe(200);
  });
});
