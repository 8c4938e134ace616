import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  json,
  login,
  register,
  uniqueEmail,
  withBearer,
  userSessionsDb,
  onMainDatabase,
} from '../helpers';
import { Browser } from '../pages/browser';
import { codeFor, enrolled } from '../totp';
import { TENANT, count, providerConfig, signInAt } from './helpers';

const verified = (email: string, extra: Record<string, unknown> = {}) => ({
  claims: { sub: crypto.randomUUID(), email, email_verified: true, name: 'Ana', ...extra },
});
const errorOf = (res: { headers: Headers }) =>
  new URL(res.headers.get('Location') ?? '', 'https://x').searchParams.get('error');

describe('GET /auth/oauth/{provider}/start', () => {
  it('redirects to the provider with state, nonce and a PKCE S256 challenge, bound to the browser', async () => {
    const b = new Browser();
    const { start, location } = await signInAt(b, 'acme', {}, { callback: false });
    expect(start.status).toBe(302);
    expect(location.origin + location.pathname).toBe('https://idp.stand-in.test/authorize');
    const p = location.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe('acme-client');
    expect(p.get('redirect_uri')).toBe(`${env.ISSUER}/auth/oauth/acme/callback`);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(p.get('state')).toMatch(/^[\w-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(start.headers.getSetCookie().join()).toMatch(
      /__Host-oauth=[\w-]{43}; Path=\/; Max-Age=600; HttpOnly; Secure; SameSite=None/,
    );
    // Only hashes of the state are kept.
    expect(await count('oauth_states', 'state_hash = ?', p.get('state'))).toBe(0);
  });

  it('answers 404 for a provider that is not configured', async () => {
    const res = await call('/auth/oauth/nope/start', {}, await providerConfig());
    expect(res.status).toBe(404);
  });

  it('sends Apple’s answer back as a form post, and asks GitHub for its scopes without a nonce', async () => {
    const apple = (await signInAt(new Browser(), 'apple', {}, { callback: false })).location;
    expect(apple.searchParams.get('response_mode')).toBe('form_post');
    const gh = (await signInAt(new Browser(), 'github', {}, { callback: false })).location;
    expect(gh.searchParams.get('scope')).toBe('read:user user:email');
    expect(gh.searchParams.has('nonce')).toBe(false);
  });
});

describe('GET /auth/oauth/{provider}/callback', () => {
  it('creates an account without a password for a new verified email, and signs it in', async () => {
    const email = uniqueEmail('idp');
    const b = new Browser();
    const { callback } = await signInAt(b, 'acme', verified(email));
    expect(callback!.status).toBe(200);
    // A same-site step to /account: the Strict session cookie is not sent along the
    // provider's cross-site redirect chain.
    expect(callback!.headers.get('Refresh')).toBe('0; url=/account');
    expect(b.cookies.has('__Host-refresh_token')).toBe(true);
    const account = await b.get('/account', await providerConfig());
    expect(account.status).toBe(200);
    expect(account.text).toContain(email);
    const user = await env.DB.prepare(
      'SELECT password_hash, email_verified_at FROM users WHERE email = ?',
    )
      .bind(email)
      .first<{ password_hash: string; email_verified_at: number | null }>();
    expect(user!.password_hash).toBe('');
    expect(user!.email_verified_at).not.toBeNull();
    // No password works for it, not even an empty one.
    const res = await call('/auth/login', json({ email, password: 'x'.repeat(12) }));
    expect(res.status).toBe(401);
  });

  it('signs the same identity into the same account next time, and redirects an app return_to', async () => {
    const email = uniqueEmail('idp');
    const claims = verified(email);
    await signInAt(new Browser(), 'acme', claims);
    const b = new Browser();
    const to = 'https://app.example.com/home';
    const { callback } = await signInAt(b, 'acme', claims, { returnTo: to });
    expect([callback!.status, callback!.headers.get('Location')]).toEqual([302, to]);
    expect(await count('users', 'email = ?', email)).toBe(1);
    expect(await count('identities', 'email = ?', email)).toBe(1);
  });

  it('sets no cookie when the account is gone before its session is written', async () => {
    const email = uniqueEmail('idp');
    const claims = verified(email);
    await signInAt(new Browser(), 'acme', claims);
    const { id } = (await env.DB.prepare('SELECT id FROM users WHERE email = ?')
      .bind(email)
      .first<{ id: string }>())!;
    // The main database's session insert (shard 0); a shard's is test/shards/'s.
    await onMainDatabase(id);
    // A trigger stands for a deletion between the account being read and the session insert.
    await env.DB.prepare(
      `CREATE TRIGGER vanish_idp BEFORE INSERT ON sessions WHEN NEW.user_id = '${id}'
       BEGIN SELECT RAISE(IGNORE); END`,
    ).run();
    try {
      const { callback } = await signInAt(new Browser(), 'acme', claims);
      expect(callback!.headers.get('Location')).toBe('/sign-in?error=state');
      expect(callback!.headers.get('Set-Cookie') ?? '').not.toMatch(/refresh_token=[^;]/);
      // The first sign-in's only, on whichever shard it drew before the pin.
      const onEither = await Promise.all(
        [env.DB, env.SESSIONS_1].map((db) =>
          db
            .prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
            .bind(id)
            .first<{ n: number }>(),
        ),
      );
      expect(onEither.reduce((n, row) => n + row!.n, 0)).toBe(1);
    } finally {
      await env.DB.prepare('DROP TRIGGER vanish_idp').run();
    }
  });

  it('links a verified identity to an existing verified account automatically', async () => {
    const { email, user } = await register();
    await env.DB.prepare('UPDATE users SET email_verified_at = 1 WHERE id = ?').bind(user.id).run();
    const b = new Browser();
    const { callback } = await signInAt(b, 'google', verified(email.toUpperCase()));
    expect(callback!.status).toBe(200);
    expect(await count('identities', 'user_id = ? AND provider = ?', user.id, 'google')).toBe(1);
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'identity.linked' AND user_id = ?",
    )
      .bind(user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toMatchObject({ provider: 'google', auto: true });
  });

  it('never links to an unverified password account (pre-account takeover), and writes nothing', async () => {
    const { email, user } = await register(); // registered, never confirmed
    const b = new Browser();
    const { callback } = await signInAt(b, 'acme', verified(email));
    expect(errorOf(callback!)).toBe('account_exists');
    expect(await count('identities', 'user_id = ?', user.id)).toBe(0);
    expect(await count('sessions', 'user_id = ?', user.id)).toBe(0);
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
  });

  it('never trusts an unverified provider email: no account is made or linked', async () => {
    const email = uniqueEmail('unverified');
    const { callback } = await signInAt(new Browser(), 'acme', {
      claims: { sub: crypto.randomUUID(), email, email_verified: false },
    });
    expect(errorOf(callback!)).toBe('email_unverified');
    expect(await count('users', 'email = ?', email)).toBe(0);
  });

  it.each([
    ['a wrong iss', { claims: { iss: 'https://evil.example' } }],
    ['a wrong aud', { claims: { aud: 'someone-else' } }],
    ['a wrong nonce', { claims: { nonce: 'x'.repeat(43) } }],
    ['an expired token', { claims: { exp: Math.floor(Date.now() / 1000) - 3600 } }],
    ['a key outside the provider’s JWKS', { foreignKey: true }],
    ['alg none', { claims: {}, unsigned: true }],
    ['a provider that is down', { down: true }],
  ] as const)('refuses an ID token with %s, writing nothing', async (_name, flow) => {
    const email = uniqueEmail('bad');
    const claims = { ...verified(email).claims, ...('claims' in flow ? flow.claims : {}) };
    const b = new Browser();
    const { callback } = await signInAt(b, 'acme', { ...flow, claims } as never);
    expect(errorOf(callback!)).toBe('provider');
    expect(await count('users', 'email = ?', email)).toBe(0);
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
  });
});

/** The sessions of the account with `email`, in the shard that holds them (docs/sharding.md). */
async function sessionsByEmail(email: string) {
  const user = await env.DB.prepare('SELECT id FROM users WHERE email = ?')
    .bind(email)
    .first<{ id: string }>();
  const row = await (
    await userSessionsDb(user!.id)
  )
    .prepare('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?')
    .bind(user!.id)
    .first<{ n: number }>();
  return row!.n;
}

describe('state: single use, this browser only', () => {
  it('refuses a wrong state before the code is exchanged', async () => {
    const email = uniqueEmail('state');
    const b = new Browser();
    const { callback } = await signInAt(b, 'acme', verified(email), {
      state: () => 'x'.repeat(43),
    });
    expect(errorOf(callback!)).toBe('state');
    expect(await count('users', 'email = ?', email)).toBe(0);
  });

  it('refuses a callback in another browser (no binding cookie, or another one)', async () => {
    const email = uniqueEmail('state');
    // The attacker starts a sign-in and gets a code for their own account at the provider...
    const attacker = await signInAt(new Browser(), 'acme', verified(email), { callback: false });
    const url = `/auth/oauth/acme/callback?code=${attacker.code}&state=${attacker.state}`;
    // ...and makes the victim's browser deliver it (login CSRF): with its own binding cookie, or
    // none at all, the state does not match.
    const victim = new Browser();
    await signInAt(victim, 'acme', {}, { callback: false });
    expect(errorOf(await victim.get(url, attacker.overrides))).toBe('state');
    expect(errorOf(await new Browser().get(url, attacker.overrides))).toBe('state');
    expect(await count('users', 'email = ?', email)).toBe(0);
  });

  it('refuses a replayed callback: the state and the code are spent', async () => {
    const email = uniqueEmail('replay');
    const b = new Browser();
    const { callback, back } = await signInAt(b, 'acme', verified(email));
    expect(callback!.status).toBe(200);
    expect(errorOf(await back())).toBe('state');
    expect(await sessionsByEmail(email)).toBe(1);
  });

  it('lets one of two parallel callbacks for one state win', async () => {
    const email = uniqueEmail('race');
    const b = new Browser();
    const { back } = await signInAt(b, 'acme', verified(email), { callback: false });
    const results = await Promise.all([back(), back(), back()]);
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(await sessionsByEmail(email)).toBe(1);
  });
});

describe('the same rules as a password sign-in', () => {
  it('asks for the second factor when two-factor is on', async () => {
    const user = await enrolled();
    await env.DB.prepare('UPDATE users SET email_verified_at = 1 WHERE id = ?')
      .bind(user.user.id)
      .run();
    const b = new Browser();
    const { callback } = await signInAt(b, 'acme', verified(user.email));
    expect(callback!.status).toBe(200);
    expect(callback!.text).toContain('autocomplete="one-time-code"');
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
    const done = await b.post('/sign-in/code', {
      mfa_token: b.field('mfa_token'),
      code: await codeFor(user.secret, 1),
    });
    expect(done.status).toBe(303);
    expect(b.cookies.has('__Host-refresh_token')).toBe(true);
  });

  it('refuses while the email is locked, and a disabled account', async () => {
    const { email, user } = await register();
    await env.DB.prepare('UPDATE users SET email_verified_at = 1 WHERE id = ?').bind(user.id).run();
    await signInAt(new Browser(), 'acme', verified(email)); // linked
    for (let i = 0; i < 5; i++)
      await call('/auth/login', json({ email, password: 'wrong wrong wrong' }));
    const locked = await signInAt(new Browser(), 'acme', verified(email));
    expect(errorOf(locked.callback!)).toBe('account_locked');
    await env.DB.prepare('DELETE FROM login_failures WHERE email = ?').bind(email).run();
    await env.DB.prepare('UPDATE users SET disabled_at = 1 WHERE id = ?').bind(user.id).run();
    const disabled = await signInAt(new Browser(), 'acme', verified(email));
    expect(errorOf(disabled.callback!)).toBe('account_disabled');
  });
});

describe('providers', () => {
  it('GitHub: the verified primary email from /user/emails, the numeric id as subject', async () => {
    const email = uniqueEmail('gh');
    const github = {
      user: { id: 4242, login: 'ana', name: 'Ana' },
      emails: [
        { email: 'other@example.com', primary: false, verified: true },
        { email, primary: true, verified: true },
      ],
    };
    const b = new Browser();
    const { callback } = await signInAt(b, 'github', { github });
    expect(callback!.status).toBe(200);
    const row = await env.DB.prepare('SELECT subject, email FROM identities WHERE provider = ?')
      .bind('github')
      .first();
    expect(row).toEqual({ subject: '4242', email });
  });

  it('GitHub: an unverified primary email makes no account', async () => {
    const email = uniqueEmail('gh');
    const github = {
      user: { id: 4343, login: 'bo', name: null },
      emails: [{ email, primary: true, verified: false }],
    };
    const { callback } = await signInAt(new Browser(), 'github', { github });
    expect(errorOf(callback!)).toBe('email_unverified');
  });

  it('Microsoft: the issuer of the token’s own tenant; a pinned tenant refuses another', async () => {
    const other = '99999999-8888-7777-6666-555555555555';
    const email = uniqueEmail('ms');
    const ok = await signInAt(new Browser(), 'msft', {
      claims: { sub: crypto.randomUUID(), tid: other, email, xms_edov: true },
    });
    expect(ok.callback!.status).toBe(200);
    const pinned = await signInAt(new Browser(), 'msft-pinned', {
      claims: { sub: crypto.randomUUID(), tid: other, email: uniqueEmail('ms'), xms_edov: true },
    });
    expect(errorOf(pinned.callback!)).toBe('provider');
    const right = await signInAt(new Browser(), 'msft-pinned', {
      claims: { sub: crypto.randomUUID(), tid: TENANT, email: uniqueEmail('ms'), xms_edov: true },
    });
    expect(right.callback!.status).toBe(200);
  });

  it('Microsoft: an email without xms_edov is not taken as verified', async () => {
    const email = uniqueEmail('ms');
    const { callback } = await signInAt(new Browser(), 'msft', {
      claims: { sub: crypto.randomUUID(), tid: TENANT, email, email_verified: true },
    });
    expect(errorOf(callback!)).toBe('email_unverified');
  });

  it('Apple: a form post back, and a client secret the provider verifies as an ES256 JWT', async () => {
    const email = uniqueEmail('apple');
    const b = new Browser();
    const { callback } = await signInAt(b, 'apple', {
      claims: { sub: crypto.randomUUID(), email, email_verified: 'true' },
    });
    expect(callback!.status, callback!.headers.get('Location') ?? '').toBe(200);
    expect(b.cookies.has('__Host-refresh_token')).toBe(true);
  });
});

describe('linking from /account, and unlinking', () => {
  it('links the identity to the signed-in user (even with another email), and lists it', async () => {
    const { email } = await register();
    const b = new Browser();
    const overrides = await providerConfig();
    await b.get('/sign-in', overrides);
    await b.post('/sign-in', { email, password: PASSWORD }, { overrides });
    await b.get('/account', overrides);
    const link = await b.post('/account/identities/link', { provider: 'acme' }, { overrides });
    expect(link.status).toBe(200);
    const location = new URL(link.headers.get('Refresh')!.replace(/^0; url=/, ''));
    expect(location.origin).toBe('https://idp.stand-in.test');
    const code = crypto.randomUUID();
    await fetch('https://idp.stand-in.test/_codes', {
      method: 'POST',
      body: JSON.stringify({
        code,
        challenge: location.searchParams.get('code_challenge'),
        nonce: location.searchParams.get('nonce'),
        clientId: 'acme-client',
        clientSecret: 'acme-secret',
        claims: { sub: crypto.randomUUID(), email: 'elsewhere@example.org' },
      }),
    });
    const state = location.searchParams.get('state')!;
    const back = await b.get(`/auth/oauth/acme/callback?code=${code}&state=${state}`, overrides);
    expect(back.headers.get('Refresh')).toBe('0; url=/account?done=identity#identities');
    const page = await b.get('/account?done=identity', overrides);
    expect(page.text).toContain('elsewhere@example.org');

    const tokens = await login(email);
    const list = await call('/users/me/identities', withBearer(tokens.access_token), overrides);
    const { identities } = (await list.json()) as {
      identities: { id: string; provider: string }[];
    };
    expect(identities.map((i) => i.provider)).toEqual(['acme']);
    // The account has a password: unlinking is fine.
    const del = await call(
      `/users/me/identities/${identities[0]!.id}`,
      withBearer(tokens.access_token, { method: 'DELETE' }),
      overrides,
    );
    expect(del.status).toBe(204);
  });

  it('leaves for the provider from a page, since form-action holds a form post to our origins', async () => {
    // Browsers check every redirect of a form submission against the page's form-action: a
    // 303 from the link form to the provider is blocked (seen in Chromium by the e2e suite).
    const { email } = await register();
    const b = new Browser();
    const overrides = await providerConfig();
    await b.get('/sign-in', overrides);
    await b.post('/sign-in', { email, password: PASSWORD }, { overrides });
    const account = await b.get('/account', overrides);
    const formAction = /form-action ([^;]*)/.exec(account.headers.get('Content-Security-Policy')!)!;
    expect(formAction[1]).not.toContain('idp.stand-in.test');
    const link = await b.post('/account/identities/link', { provider: 'acme' }, { overrides });
    expect(link.status).toBe(200);
    expect(link.headers.get('Location')).toBeNull();
    const to = link.headers.get('Refresh')!.replace(/^0; url=/, '');
    expect(new URL(to).pathname).toBe('/authorize');
    expect(link.text).toContain('Continuing to single sign-on');
    expect(link.text).toContain(`href="${to.replace(/&/g, '&amp;')}"`);
  });

  it('refuses to unlink the last way to sign in (409), also racing two unlinks', async () => {
    const email = uniqueEmail('only');
    const b = new Browser();
    await signInAt(b, 'acme', verified(email));
    await signInAt(b, 'google', verified(email));
    const overrides = await providerConfig();
    const ids = (
      await env.DB.prepare(
        'SELECT i.id FROM identities i JOIN users u ON u.id = i.user_id WHERE u.email = ?',
      )
        .bind(email)
        .all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(ids).toHaveLength(2);
    const page = await b.get('/account', overrides);
    expect(page.status).toBe(200);
    const results = await Promise.all(
      ids.map((identity_id) =>
        b.post('/account/identities/unlink', { identity_id }, { overrides }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([303, 409]);
    expect(await count('identities i JOIN users u ON u.id = i.user_id', 'u.email = ?', email)).toBe(
      1,
    );
  });
});

describe('configuration', () => {
  it('fails closed when a provider has no secret, or uses http in production', async () => {
    const base = await providerConfig();
    const noSecret = { ...base, IDENTITY_PROVIDER_SECRETS: '{}' };
    expect((await call('/health/live', {}, noSecret)).status).toBe(500);
    const httpInProd = {
      ...base,
      ENVIRONMENT: 'production',
      MAIL_TRANSPORT: 'resend',
      MAIL_API_KEY: 'k',
      MAIL_FROM: 'a@b.c',
      IDENTITY_PROVIDERS: JSON.stringify([
        { id: 'local', type: 'oidc', client_id: 'c', issuer: 'http://127.0.0.1:9' },
      ]),
      IDENTITY_PROVIDER_SECRETS: JSON.stringify({ local: 's' }),
    };
    expect((await call('/health/live', {}, httpInProd)).status).toBe(500);
  });
});
