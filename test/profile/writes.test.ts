// Read-your-writes through the API: every write that changes what GET /users/me returns is seen
// by the user's next GET /users/me at this location, although a profile read before the write
// is cached (each test warms the cache first, so a write that forgot the cache fails here).
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  json,
  login,
  mailedToken,
  me,
  register,
  signedIn,
  signedInAdmin,
  uniqueEmail,
  withBearer,
} from '../helpers';
import { confirmChange, changeToken, requestChange } from '../lifecycle/helpers';
import { Browser } from '../pages/browser';
import { codeFor, enrolled } from '../totp';
import { meCounted, type Profile } from './helpers';

/** The user's profile, warmed into the cache: the next read must not be this one unless unchanged. */
async function warm(token: string): Promise<Profile> {
  await me(token);
  const cached = await meCounted(token);
  expect(cached.d1).toBe(0);
  return cached.body;
}
const post = (token: string, path: string, body: unknown) =>
  call(path, withBearer(token, json(body)));
const admin = (token: string, method: string, path: string, body?: unknown) =>
  call(path, withBearer(token, { ...(body ? json(body) : {}), method }));

describe('GET /users/me reads the user’s own writes', () => {
  it('after PATCH /users/me', async () => {
    const { tokens } = await signedIn();
    await warm(tokens.access_token);
    const res = await admin(tokens.access_token, 'PATCH', '/users/me', { name: 'Renamed' });
    expect(res.status).toBe(200);
    expect((await meCounted(tokens.access_token)).body.name).toBe('Renamed');
  });

  it('after the account page changes the name', async () => {
    const account = await register(undefined, PASSWORD, 'Before');
    const tokens = await login(account.email);
    expect((await warm(tokens.access_token)).name).toBe('Before');
    const b = new Browser();
    await b.get('/sign-in');
    await b.post('/sign-in', { email: account.email, password: PASSWORD });
    await b.get('/account');
    expect((await b.post('/account/name', { name: 'From the page' })).status).toBe(303);
    expect((await meCounted(tokens.access_token)).body.name).toBe('From the page');
  });

  it('after email verification', async () => {
    const { email, tokens } = await signedIn();
    expect((await warm(tokens.access_token)).email_verified).toBe(false);
    const token = await mailedToken(email, 'verify-email');
    expect((await call('/auth/email/verify', json({ token }))).status).toBe(200);
    const after = await meCounted(tokens.access_token);
    expect([after.body.email_verified, after.d1]).toEqual([true, 0]);
  });

  it('after an email change is confirmed', async () => {
    const { tokens } = await signedIn();
    await warm(tokens.access_token);
    const next = uniqueEmail('moved');
    expect((await requestChange(tokens.access_token, next)).status).toBe(202);
    expect((await confirmChange(await changeToken(next))).status).toBe(200);
    const after = await meCounted(tokens.access_token);
    expect([after.body.email, after.body.email_verified, after.d1]).toEqual([next, true, 0]);
  });

  it('after two-factor is turned on, and off', async () => {
    const { tokens } = await signedIn();
    expect((await warm(tokens.access_token)).mfa_enabled).toBe(false);
    const setup = await post(tokens.access_token, '/users/me/mfa/totp/setup', {
      password: PASSWORD,
    });
    const { secret } = (await setup.json()) as { secret: string };
    expect((await meCounted(tokens.access_token)).body.mfa_enabled).toBe(false);
    const on = await post(tokens.access_token, '/users/me/mfa/totp/enable', {
      code: await codeFor(secret),
    });
    expect(on.status).toBe(200);
    expect((await meCounted(tokens.access_token)).body.mfa_enabled).toBe(true);
    await warm(tokens.access_token);
    const off = await post(tokens.access_token, '/users/me/mfa/totp/disable', {
      password: PASSWORD,
      code: await codeFor(secret, 1),
    });
    expect(off.status).toBe(204);
    expect((await meCounted(tokens.access_token)).body.mfa_enabled).toBe(false);
  });

  it('after an admin removes the two-factor (in the session signed in after it)', async () => {
    const boss = await signedInAdmin();
    const user = await enrolled();
    expect((await warm(user.tokens.access_token)).mfa_enabled).toBe(true);
    const res = await admin(boss.tokens.access_token, 'DELETE', `/admin/users/${user.user.id}/mfa`);
    expect(res.status).toBe(204);
    const tokens = await login(user.email);
    expect((await meCounted(tokens.access_token)).body.mfa_enabled).toBe(false);
  });

  it('after an admin changes the role (in the session signed in after it)', async () => {
    const boss = await signedInAdmin();
    const { user, email, tokens } = await signedIn();
    expect((await warm(tokens.access_token)).role).toBe('user');
    const res = await admin(boss.tokens.access_token, 'PATCH', `/admin/users/${user.id}`, {
      role: 'admin',
    });
    expect(res.status).toBe(200);
    const fresh = await login(email);
    const after = await meCounted(fresh.access_token);
    expect([after.status, after.body.role, after.d1]).toEqual([200, 'admin', 0]);
  });

  it('after an admin re-enables a disabled user', async () => {
    const boss = await signedInAdmin();
    const { user, email, tokens } = await signedIn();
    await warm(tokens.access_token);
    const path = `/admin/users/${user.id}`;
    expect((await admin(boss.tokens.access_token, 'PATCH', path, { disabled: true })).status).toBe(
      200,
    );
    expect((await admin(boss.tokens.access_token, 'PATCH', path, { disabled: false })).status).toBe(
      200,
    );
    const after = await meCounted((await login(email)).access_token);
    expect([after.status, after.body.id]).toEqual([200, user.id]);
  });
});
