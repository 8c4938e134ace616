// "Email me a code instead" on /sign-in, as a browser without JavaScript uses it.
import { describe, expect, it } from 'vitest';
import { call, json, mailedToken, refresh, uniqueEmail } from '../helpers';
import { Browser, SITE } from '../pages/browser';
import { codeFor, enrolled } from '../totp';
import { codeMails, codeRows, mailedCode, verifiedUser, wrongCode } from './helpers';

const refreshCookie = (b: Browser) => b.cookies.get('__Host-refresh_token');
const message = (html: string) => /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];

/** From /sign-in to the code form, the code mailed to `email`. */
async function askForCode(email: string, returnTo?: string) {
  const b = new Browser();
  const query = returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : '';
  const signIn = await b.get(`/sign-in${query}`);
  const link = /href="(\/sign-in\/email-code\?return_to=[^"]*)"/.exec(signIn.text)![1]!;
  const ask = await b.get(link.replace(/&amp;/g, '&'));
  expect(ask.status).toBe(200);
  const sent = await b.post('/sign-in/email-code', { email, return_to: b.field('return_to') });
  return { b, ask, sent };
}

describe('/sign-in/email-code (no JavaScript: plain form posts)', () => {
  it('is linked from /sign-in and asks for the email under the pages’ policy', async () => {
    const { ask } = await askForCode(uniqueEmail('nobody'));
    const csp = ask.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(ask.text).toContain('autocomplete="username"');
    expect(ask.text).toContain('name="_csrf"');
    expect(ask.text).not.toMatch(/<script>|<style|style="|\son[a-z]+="/);
  });

  it('mails a code, then signs in with it: the session cookie, on to /account', async () => {
    const { email } = await verifiedUser();
    const { b, sent } = await askForCode(email);
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('Check your email');
    expect(sent.text).toContain('autocomplete="one-time-code"');
    expect(sent.text).toContain('inputmode="numeric"');
    const res = await b.post('/sign-in/email-code/verify', {
      email: b.field('email'),
      return_to: b.field('return_to'),
      code: await mailedCode(email),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/account');
    expect(res.headers.getSetCookie().join()).toMatch(
      /__Host-refresh_token=[\w-]{43,}; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict/,
    );
    const account = await b.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain(email);
    expect((await refresh(refreshCookie(b)!)).status).toBe(200);
  });

  it('says the same for an unknown address, and mails it nothing', async () => {
    const ghost = uniqueEmail('ghost');
    const { email } = await verifiedUser();
    const [known, unknown] = [(await askForCode(email)).sent, (await askForCode(ghost)).sent];
    expect([known.status, unknown.status]).toEqual([200, 200]);
    const sentence = (html: string, who: string) =>
      /<p>(If [^<]*)<\/p>/.exec(html)![1]!.replace(who, '…');
    expect(sentence(unknown.text, ghost)).toBe(sentence(known.text, email));
    expect(await codeMails(ghost)).toEqual([]);
  });

  it('keeps the form and says why for a wrong code, then takes the right one', async () => {
    const { email } = await verifiedUser();
    const { b } = await askForCode(email);
    const code = await mailedCode(email);
    const wrong = await b.post('/sign-in/email-code/verify', {
      email: b.field('email'),
      code: wrongCode(code),
    });
    expect(wrong.status).toBe(401);
    expect(message(wrong.text)).toContain('That code is not right');
    expect(b.field('email')).toBe(email);
    expect(refreshCookie(b)).toBeUndefined();
    const right = await b.post('/sign-in/email-code/verify', { email: b.field('email'), code });
    expect(right.status).toBe(303);
  });

  it('shows the lock message with 423 while the address is locked, even for the right code', async () => {
    const { email } = await verifiedUser();
    const { b } = await askForCode(email);
    for (let i = 0; i < 5; i++) {
      await call('/auth/login', json({ email, password: 'not the password at all' }));
    }
    const res = await b.post('/sign-in/email-code/verify', {
      email: b.field('email'),
      code: await mailedCode(email),
    });
    expect(res.status).toBe(423);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(message(res.text)).toContain('Too many failed attempts');
    expect(refreshCookie(b)).toBeUndefined();
  });

  it('continues to the second step when two-factor is on', async () => {
    const account = await enrolled();
    const token = await mailedToken(account.email, 'verify-email');
    expect((await call('/auth/email/verify', json({ token }))).status).toBe(200);
    const { b } = await askForCode(account.email);
    const step = await b.post('/sign-in/email-code/verify', {
      email: b.field('email'),
      code: await mailedCode(account.email),
    });
    expect(step.status).toBe(200);
    expect(step.text).toContain('Two-factor authentication');
    expect(refreshCookie(b)).toBeUndefined();
    const done = await b.post('/sign-in/code', {
      mfa_token: b.field('mfa_token'),
      code: await codeFor(account.secret, 1),
    });
    expect(done.status).toBe(303);
    expect(refreshCookie(b)).toBeDefined();
  });

  it('goes on to an allowed return_to, and never to another site', async () => {
    const { email } = await verifiedUser();
    const to = 'https://app.example.com/after?x=1';
    const { b } = await askForCode(email, to);
    expect(b.field('return_to')).toBe(to);
    const res = await b.post('/sign-in/email-code/verify', {
      email: b.field('email'),
      return_to: b.field('return_to'),
      code: await mailedCode(email),
    });
    expect(res.headers.get('Location')).toBe(to);

    const other = await verifiedUser();
    const evil = await askForCode(other.email, '//evil.example/x');
    expect(evil.b.field('return_to')).toBe('/account');
    const landed = await evil.b.post('/sign-in/email-code/verify', {
      email: other.email,
      return_to: 'https://evil.example/',
      code: await mailedCode(other.email),
    });
    expect(landed.headers.get('Location')).toBe('/account');
  });

  it.each([
    ['no form token', { _csrf: '' }, SITE],
    ['another origin', {}, 'https://evil.example'],
  ] as const)('refuses %s: no code mailed, nobody signed in', async (_name, fields, origin) => {
    const { email } = await verifiedUser();
    const b = new Browser();
    await b.get('/sign-in/email-code');
    const ask = await b.post('/sign-in/email-code', { email, ...fields }, { origin });
    expect(ask.status).toBe(403);
    expect(await codeMails(email)).toEqual([]);
    expect(await codeRows(email)).toEqual([]);

    const { b: signedOut } = await askForCode(email);
    const code = await mailedCode(email);
    const post = await signedOut.post(
      '/sign-in/email-code/verify',
      { email, code, ...fields },
      { origin },
    );
    expect(post.status).toBe(403);
    expect(refreshCookie(signedOut)).toBeUndefined();
    expect((await codeRows(email))[0]).toMatchObject({ attempts: 0, used_at: null });
  });

  it('answers a rate-limited send with the pages’ 429, not JSON', async () => {
    const b = new Browser();
    await b.get('/sign-in/email-code');
    const tight = { RATE_LIMIT_FORGOT_PASSWORD: '1/60' };
    const headers = { 'CF-Connecting-IP': '198.51.100.91' };
    const email = uniqueEmail('limited');
    expect(
      (await b.post('/sign-in/email-code', { email }, { headers, overrides: tight })).status,
    ).toBe(200);
    const limited = await b.post('/sign-in/email-code', { email }, { headers, overrides: tight });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Content-Type')).toMatch(/^text\/html/);
  });
});
