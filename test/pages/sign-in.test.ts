import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, call, json, login, me, refresh, register, uniqueEmail } from '../helpers';
import { codeFor, enrolled } from '../totp';
import { Browser, SITE } from './browser';

const refreshCookie = (b: Browser) => b.cookies.get('__Host-refresh_token');

describe('GET /sign-in', () => {
  it('sends a strict policy, no cache, a form token cookie, and fields password managers know', async () => {
    const b = new Browser();
    const res = await b.get('/sign-in');
    expect(res.status).toBe(200);
    const csp = res.headers.get('Content-Security-Policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers.get('X-Frame-Options')).toBe('DENY');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.getSetCookie().join()).toMatch(
      /__Host-csrf=[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict/,
    );
    expect(res.text).toContain('autocomplete="username"');
    expect(res.text).toContain('autocomplete="current-password"');
    expect(res.text).toMatch(/<label for="email">/);
    // No inline script or style anywhere: the policy would block it, and nothing needs it.
    expect(res.text).not.toMatch(/<script>|<style|style="|\son[a-z]+="/);
  });
});

describe('POST /sign-in (no JavaScript: a plain form post)', () => {
  it('signs in, sets the session cookie, and lands on /account with no token in the page', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    const res = await b.post('/sign-in', { email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(res.headers.get('Location')).toBe('/account');
    expect(res.headers.getSetCookie().join()).toMatch(
      /__Host-refresh_token=[\w-]{43,}; Path=\/; Max-Age=\d+; HttpOnly; Secure; SameSite=Strict/,
    );
    const account = await b.get('/account');
    expect(account.status).toBe(200);
    expect(account.text).toContain(email);
    expect(account.text).not.toContain(refreshCookie(b)!);
    expect(account.text).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT, ever
    // The cookie is the API's refresh cookie: the API takes it as it is.
    expect((await refresh(refreshCookie(b)!)).status).toBe(200);
  });

  it('gives the same answer for an unknown email and a wrong password', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    const wrong = await b.post('/sign-in', { email, password: 'not the password at all' });
    const ghost = await b.post('/sign-in', {
      email: email.replace('@', '.ghost@'),
      password: 'not the password at all',
    });
    expect([wrong.status, ghost.status]).toEqual([401, 401]);
    const message = (html: string) => /<p class="error"[^>]*>([^<]*)</.exec(html)?.[1];
    expect(message(wrong.text)).toBe('Wrong email or password.');
    expect(message(ghost.text)).toBe(message(wrong.text));
    expect(refreshCookie(b)).toBeUndefined();
  });

  it.each([
    ['//evil.example/x'],
    ['https:evil.example'],
    ['/\\evil.example'],
    ['javascript:alert(1)'],
    ['JAVASCRIPT:alert(1)'],
    ['java\tscript:alert(1)'],
    ['https%3A%2F%2Fevil.example'],
    ['https://app.example.com@evil.example/'],
    ['https://user:pw@app.example.com/'],
    ['https://app.example.com.evil.example/'],
    ['https://app.example.com./'],
    ['http://app.example.com/'],
    ['https://evil.example/?https://app.example.com'],
    ['/account/../../evil'],
  ])('refuses return_to=%s and lands on /account', async (returnTo) => {
    const { email } = await register();
    const b = new Browser();
    await b.get(`/sign-in?return_to=${encodeURIComponent(returnTo)}`);
    expect(b.field('return_to')).toBe('/account');
    const res = await b.post('/sign-in', { email, password: PASSWORD, return_to: returnTo });
    expect(res.headers.get('Location')).toBe('/account');
  });

  it('honours return_to on an allowed origin, also when already signed in', async () => {
    const { email } = await register();
    const b = new Browser();
    const to = 'https://app.example.com/after?x=1';
    await b.get(`/sign-in?return_to=${encodeURIComponent(to)}`);
    const res = await b.post('/sign-in', {
      email,
      password: PASSWORD,
      return_to: b.field('return_to'),
    });
    expect(res.headers.get('Location')).toBe(to);
    const again = await b.get(`/sign-in?return_to=${encodeURIComponent(to)}`);
    expect([again.status, again.headers.get('Location')]).toEqual([303, to]);
  });
});

describe('form posts from elsewhere (CSRF, login CSRF)', () => {
  it.each([
    ['no form token', { _csrf: '' }, SITE],
    ['a made-up token', { _csrf: 'x'.repeat(43) }, SITE],
    ['another origin', {}, 'https://evil.example'],
    ['an allowed app origin (not this site)', {}, 'https://app.example.com'],
    ['no Origin at all', {}, null],
  ] as const)('refuses %s with 403 and signs nobody in', async (_name, fields, origin) => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    const res = await b.post('/sign-in', { email, password: PASSWORD, ...fields }, { origin });
    expect(res.status).toBe(403);
    expect(res.text).toContain('came from another site');
    expect(refreshCookie(b)).toBeUndefined();
  });

  // Chromium sends `Origin: null` on a form POST from a no-referrer page (all of ours), as Fetch says.
  it('signs in from a no-referrer page: Origin null, Sec-Fetch-Site same-origin', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    const headers = { 'Sec-Fetch-Site': 'same-origin' };
    const res = await b.post(
      '/sign-in',
      { email, password: PASSWORD },
      { origin: 'null', headers },
    );
    expect(res.status).toBe(303);
    expect(refreshCookie(b)).toBeDefined();
  });

  it.each([['cross-site'], ['same-site'], ['none'], [undefined]])(
    'refuses Origin null with Sec-Fetch-Site %s',
    async (site) => {
      const { email } = await register();
      const b = new Browser();
      await b.get('/sign-in');
      const headers: Record<string, string> = site ? { 'Sec-Fetch-Site': site } : {};
      const res = await b.post(
        '/sign-in',
        { email, password: PASSWORD },
        { origin: 'null', headers },
      );
      expect(res.status).toBe(403);
      expect(refreshCookie(b)).toBeUndefined();
    },
  );

  it('refuses a token from another browser: an attacker’s own pair cannot sign a victim in', async () => {
    const attacker = new Browser();
    await attacker.get('/sign-in');
    const victim = new Browser();
    await victim.get('/sign-in');
    const { email } = await register();
    const res = await victim.post('/sign-in', { email, password: PASSWORD, _csrf: attacker.token });
    expect(res.status).toBe(403);
    expect(refreshCookie(victim)).toBeUndefined();
  });
});

describe('the same rules as the API', () => {
  it('locks the email after five failures: then 423 with Retry-After, also for the right password', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    for (let i = 0; i < 5; i++) await b.post('/sign-in', { email, password: 'wrong wrong wrong' });
    const res = await b.post('/sign-in', { email, password: PASSWORD });
    expect(res.status).toBe(423);
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(60);
    expect(res.text).toContain('Too many failed attempts');
    expect(refreshCookie(b)).toBeUndefined();
  });

  it('rate-limits by client IP with a 429 page, not problem+json', async () => {
    const b = new Browser();
    await b.get('/sign-in');
    const tight = { RATE_LIMIT_LOGIN: '2/60' };
    const ip = { 'CF-Connecting-IP': `203.0.113.${Math.floor(Math.random() * 250)}` };
    const post = () =>
      call(
        '/sign-in',
        {
          method: 'POST',
          headers: { ...ip, 'Content-Type': 'application/x-www-form-urlencoded', Origin: SITE },
          body: new URLSearchParams({ email: uniqueEmail(), password: 'x' }),
        },
        tight,
      );
    await post();
    await post();
    const res = await post();
    expect(res.status).toBe(429);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/);
    expect(res.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect(await res.text()).toContain('Too many requests');
  });

  it('asks for the second factor, then signs in with a TOTP code or a recovery code', async () => {
    const user = await enrolled();
    const b = new Browser();
    await b.get('/sign-in');
    const step = await b.post('/sign-in', { email: user.email, password: PASSWORD });
    expect(step.status).toBe(200);
    expect(step.text).toContain('inputmode="numeric"');
    expect(step.text).toContain('autocomplete="one-time-code"');
    expect(refreshCookie(b)).toBeUndefined();
    const mfaToken = b.field('mfa_token');
    const wrong = await b.post('/sign-in/code', { mfa_token: mfaToken, code: '000000' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('That code is not right');
    const right = await b.post('/sign-in/code', {
      mfa_token: b.field('mfa_token'),
      code: await codeFor(user.secret, 1),
    });
    expect([right.status, right.headers.get('Location')]).toEqual([303, '/account']);
    expect(refreshCookie(b)).toBeDefined();

    const other = new Browser();
    await other.get('/sign-in');
    await other.post('/sign-in', { email: user.email, password: PASSWORD });
    const recovered = await other.post('/sign-in/code', {
      mfa_token: other.field('mfa_token'),
      code: user.recoveryCodes[0]!,
    });
    expect(recovered.status).toBe(303);
  });

  it('refuses every code while the email is locked, as the API does', async () => {
    const user = await enrolled();
    const b = new Browser();
    await b.get('/sign-in');
    await b.post('/sign-in', { email: user.email, password: PASSWORD });
    const mfaToken = b.field('mfa_token');
    for (let i = 0; i < 5; i++)
      await call('/auth/login', json({ email: user.email, password: 'nope nope nope' }));
    const res = await b.post('/sign-in/code', {
      mfa_token: mfaToken,
      code: await codeFor(user.secret, 1),
    });
    expect(res.status).toBe(423);
  });

  it('audits a page sign-in like an API one', async () => {
    const { email, user } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    await b.post('/sign-in', { email, password: PASSWORD });
    const row = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'login.succeeded' AND user_id = ?",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(row!.n).toBe(1);
  });
});

describe('POST /sign-out', () => {
  it('ends the session and clears the cookie; the old cookie refreshes nothing', async () => {
    const { email } = await register();
    const b = new Browser();
    await b.get('/sign-in');
    await b.post('/sign-in', { email, password: PASSWORD });
    const cookie = refreshCookie(b)!;
    await b.get('/account');
    const res = await b.post('/sign-out', {});
    expect([res.status, res.headers.get('Location')]).toEqual([303, '/sign-in']);
    expect(refreshCookie(b)).toBeUndefined();
    expect((await refresh(cookie)).status).toBe(401);
    expect((await b.get('/account')).headers.get('Location')).toBe('/sign-in');
    // An API session of the same user is untouched.
    expect((await me((await login(email)).access_token)).status).toBe(200);
  });
});
