import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, register, userSessionsDb } from '../helpers';
import { Browser, SITE } from '../pages/browser';
import { codeFor, enrolled } from '../totp';
import { Authenticator } from './authenticator.mjs';
import { confirm } from './helpers';

// Passkeys need a domain for their RP id (browsers refuse an IP address), so these pages run
// under ISSUER=https://auth.test; the tests' default ISSUER (127.0.0.1) shows no passkey UI.
const domain = { ISSUER: SITE };

async function signedInBrowser(email?: string) {
  const account = email ? { email } : await register();
  await confirm(account.email);
  const b = new Browser();
  await b.get('/sign-in', domain);
  await b.post('/sign-in', { email: account.email, password: PASSWORD }, { overrides: domain });
  await b.get('/account', domain);
  return { ...account, b };
}

/** What /pages.js does: the options from the page route, then the answer as a form post. */
async function options(b: Browser, path: string) {
  const res = await b.post(path, {}, { overrides: domain });
  expect(res.status).toBe(200);
  return JSON.parse(res.text) as { challenge: string; user: { id: string } };
}

async function addPasskey(b: Browser, authenticator = new Authenticator(SITE), name = '') {
  const created = await authenticator.create(await options(b, '/account/passkeys/options'));
  const res = await b.post(
    '/account/passkeys',
    { response: JSON.stringify(created.json), name },
    { overrides: domain },
  );
  return { authenticator, res };
}

async function signInWithPasskey(authenticator: Authenticator, b = new Browser()) {
  await b.get('/sign-in', domain);
  const assertion = await authenticator.get(await options(b, '/sign-in/passkey/options'));
  const res = await b.post(
    '/sign-in/passkey',
    { response: JSON.stringify(assertion), return_to: '/account' },
    { overrides: domain },
  );
  return { b, res };
}

describe('passkeys on the pages', () => {
  it('offers them only where the RP id is a domain name', async () => {
    const onDomain = await new Browser().get('/sign-in', domain);
    expect(onDomain.text).toContain('data-passkey="sign-in"');
    expect(onDomain.text).toContain('autocomplete="username webauthn"');
    // The script may fetch the two options routes and nothing else (not /auth/refresh).
    expect(onDomain.headers.get('Content-Security-Policy')).toContain(
      `connect-src ${SITE}/sign-in/passkey/options ${SITE}/account/passkeys/options;`,
    );
    const onIp = await new Browser().get('/sign-in');
    expect(onIp.text).not.toContain('data-passkey');
    const script = await new Browser().get('/pages.js');
    expect(script.text).toContain('navigator.credentials.get');
  });

  it('adds a passkey from /account, then signs in with it on /sign-in without an email', async () => {
    const { b, email } = await signedInBrowser();
    const page = await b.get('/account', domain);
    expect(page.text).toContain('id="passkeys"');
    const { authenticator, res } = await addPasskey(b, undefined, 'Phone');
    expect([res.status, res.headers.get('Location')]).toEqual([
      303,
      '/account?done=passkey#passkeys',
    ]);
    const listed = await b.get('/account?done=passkey', domain);
    expect(listed.text).toContain('Passkey added.');
    expect(listed.text).toContain('Phone');

    const signedIn = await signInWithPasskey(authenticator);
    expect([signedIn.res.status, signedIn.res.headers.get('Location')]).toEqual([303, '/account']);
    expect(signedIn.b.cookies.has('__Host-refresh_token')).toBe(true);
    const account = await signedIn.b.get('/account', domain);
    expect(account.text).toContain(email);
  });

  it('renames and deletes it; a deleted passkey no longer signs in', async () => {
    const { b, email } = await signedInBrowser();
    const { authenticator } = await addPasskey(b);
    const id = (await env.DB.prepare(
      'SELECT p.id FROM passkeys p JOIN users u ON u.id = p.user_id WHERE u.email = ?',
    )
      .bind(email)
      .first<{ id: string }>())!.id;
    const renamed = await b.post(
      '/account/passkeys/rename',
      { passkey_id: id, name: 'Laptop' },
      { overrides: domain },
    );
    expect(renamed.headers.get('Location')).toBe('/account?done=passkeyRenamed#passkeys');
    const deleted = await b.post(
      '/account/passkeys/delete',
      { passkey_id: id },
      { overrides: domain },
    );
    expect(deleted.headers.get('Location')).toBe('/account?done=passkeyDeleted#passkeys');
    const refused = await signInWithPasskey(authenticator);
    expect(refused.res.status).toBe(401);
    expect(refused.res.text).toContain('That passkey could not be used here');
    expect(refused.b.cookies.has('__Host-refresh_token')).toBe(false);
  });

  it('skips the code step for a user with TOTP on, and is offered on that step too', async () => {
    const account = await enrolled();
    const b = new Browser();
    await b.get('/sign-in', domain);
    const code = await b.post(
      '/sign-in',
      { email: account.email, password: PASSWORD },
      { overrides: domain },
    );
    expect(code.text).toContain('action="/sign-in/code"');
    expect(code.text).toContain('data-passkey="sign-in"');
    const { b: owner } = await signedInBrowserAfterCode(account);
    const { authenticator } = await addPasskey(owner);
    const signedIn = await signInWithPasskey(authenticator);
    expect(signedIn.res.status).toBe(303);
    expect(signedIn.b.cookies.has('__Host-refresh_token')).toBe(true);
  });

  it('on the code step, takes only a passkey of the account whose password was typed', async () => {
    const account = await enrolled();
    const { b: owner } = await signedInBrowserAfterCode(account);
    const { authenticator: mine } = await addPasskey(owner);
    const { authenticator: theirs } = await addPasskey((await signedInBrowser()).b);
    const step = async () => {
      const b = new Browser();
      await b.get('/sign-in', domain);
      await b.post('/sign-in', { email: account.email, password: PASSWORD }, { overrides: domain });
      const mfaToken = b.field('mfa_token');
      expect(b.last).toContain(`name="mfa_token" value="${mfaToken}"`);
      const res = await b.post(
        '/sign-in/passkey/options',
        { mfa_token: mfaToken },
        { overrides: domain },
      );
      return { b, mfaToken, options: JSON.parse(res.text) as { challenge: string } };
    };
    const post = (b: Browser, assertion: unknown, mfaToken: string) =>
      b.post(
        '/sign-in/passkey',
        { response: JSON.stringify(assertion), return_to: '/account', mfa_token: mfaToken },
        { overrides: domain },
      );
    const other = await step();
    const refused = await post(other.b, await theirs.get(other.options), other.mfaToken);
    expect(refused.status).toBe(401);
    const right = await step();
    const signedIn = await post(right.b, await mine.get(right.options), right.mfaToken);
    expect(signedIn.status).toBe(303);
    // The code step it made needless is closed.
    const open = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM mfa_challenges WHERE user_id = ? AND used_at IS NULL',
    )
      .bind(account.user.id)
      .first<{ n: number }>();
    expect(open!.n).toBe(1); // the first step's, left for its code
  });

  it('says why a passkey cannot be added yet: an unconfirmed address, an old sign-in', async () => {
    const account = await register();
    const b = new Browser();
    await b.get('/sign-in', domain);
    await b.post('/sign-in', { email: account.email, password: PASSWORD }, { overrides: domain });
    const unconfirmed = await b.get('/account', domain);
    expect(unconfirmed.text).toContain('Confirm your email address');
    expect(unconfirmed.text).not.toContain('data-passkey="register"');
    await confirm(account.email);
    expect((await b.get('/account', domain)).text).toContain('data-passkey="register"');
    await (
      await userSessionsDb(account.user.id)
    )
      .prepare('UPDATE sessions SET created_at = ? WHERE user_id = ?')
      .bind(Date.now() - 601_000, account.user.id)
      .run();
    const old = await b.get('/account', domain);
    expect(old.text).toContain('To add a passkey, sign in again');
    expect(old.text).not.toContain('data-passkey="register"');
    const refused = await b.post('/account/passkeys/options', {}, { overrides: domain });
    expect(refused.status).toBe(403);
  });

  it('refuses forms from another site and answers without a session', async () => {
    const b = new Browser();
    await b.get('/sign-in', domain);
    const forged = await b.post(
      '/sign-in/passkey/options',
      {},
      {
        origin: 'https://evil.example',
        overrides: domain,
      },
    );
    expect(forged.status).toBe(403);
    const signedOut = await b.post('/account/passkeys/options', {}, { overrides: domain });
    expect(signedOut.status).toBe(401);
    const garbage = await b.post(
      '/sign-in/passkey',
      { response: '{not json', return_to: '/account' },
      { overrides: domain },
    );
    expect(garbage.status).toBe(422);
    expect(b.cookies.has('__Host-refresh_token')).toBe(false);
  });
});

/** A browser signed in as a TOTP user (password, then the code). */
async function signedInBrowserAfterCode(account: { email: string; secret: string }) {
  await confirm(account.email);
  const b = new Browser();
  await b.get('/sign-in', domain);
  await b.post('/sign-in', { email: account.email, password: PASSWORD }, { overrides: domain });
  const mfaToken = b.field('mfa_token');
  await b.post(
    '/sign-in/code',
    { mfa_token: mfaToken, code: await codeFor(account.secret, 1), return_to: '/account' },
    { overrides: domain },
  );
  await b.get('/account', domain);
  return { b };
}
