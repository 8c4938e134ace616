import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { rehashPassword } from '../../src/accounts/rehash';
import { loadConfig } from '../../src/config';
import { hmac } from '../../src/crypto/tokens';
import { database } from '../../src/db/client';
import { userById } from '../../src/users/users';
import { call, expectProblem, json, login, uniqueEmail, withBearer } from '../helpers';
import { auditOf, fixtures, importBatch, storedHash } from './helpers';

const OWN = /^\$pbkdf2-sha512\$i=100000,l=64\$/;

async function imported(hash: string, extra: Record<string, unknown> = {}) {
  const email = uniqueEmail('legacy');
  const res = await importBatch([{ email, password_hash: hash, ...extra }]);
  expect(await res.json()).toEqual({ created: 1, skipped: [] });
  const row = await env.DB.prepare('SELECT id FROM users WHERE email = ?')
    .bind(email)
    .first<{ id: string }>();
  return { email, id: row!.id };
}

const signIn = (email: string, password: string) => call('/auth/login', json({ email, password }));

const failures = async (email: string) =>
  (
    await env.DB.prepare('SELECT failures FROM login_failures WHERE email = ?')
      .bind(email)
      .first<{ failures: number }>()
  )?.failures ?? 0;

// Every kind vitest.config.ts had Python make (test/import/python-hashes.mjs).
const KINDS = Object.keys(fixtures().hashes);

describe('the first sign-in with an imported hash', () => {
  it('has every kind of hash to test', () => {
    expect(KINDS).toHaveLength(10);
  });

  it.each(KINDS)(
    "%s: verifies, is replaced by the worker's own hash in the same request, and signs in again",
    async (kind) => {
      const { password, hashes } = fixtures();
      const { email, id } = await imported(hashes[kind]!);
      const first = await signIn(email, password);
      expect(first.status, await first.clone().text()).toBe(200);
      const replaced = await storedHash(email);
      expect(replaced).toMatch(OWN);
      expect(await auditOf('password.rehashed', id)).toEqual([
        {
          user_id: id,
          detail: expect.stringMatching(/^\{"from":"(bcrypt|argon2id|scrypt|pbkdf2)"\}$/),
        },
      ]);
      expect((await signIn(email, password)).status).toBe(200);
      expect(await storedHash(email)).toBe(replaced);
    },
  );

  it('answers a wrong password with invalid_credentials, counts it, and keeps the hash', async () => {
    const { hashes } = fixtures();
    for (const kind of ['bcrypt-2b', 'argon2id', 'scrypt', 'django-pbkdf2', 'bcrypt-prehash']) {
      const { email, id } = await imported(hashes[kind]!);
      await expectProblem(await signIn(email, 'not the password'), 401, 'invalid_credentials');
      expect(await failures(email)).toBe(1);
      expect(await storedHash(email)).toBe(hashes[kind]);
      expect(await auditOf('login.failed', id)).toHaveLength(1);
    }
  });

  it('locks an imported account after five wrong passwords, like any other', async () => {
    const { password, hashes } = fixtures();
    const { email } = await imported(hashes['bcrypt-2b']!);
    for (let i = 0; i < 5; i++) {
      await expectProblem(await signIn(email, `wrong ${i}`), 401, 'invalid_credentials');
    }
    await expectProblem(await signIn(email, password), 423, 'account_locked');
    expect(await storedHash(email)).toBe(hashes['bcrypt-2b']);
  });

  it('does not take the hex SHA-256 itself as the password of a pre-hashed bcrypt', async () => {
    const { password, hashes } = fixtures();
    const { email } = await imported(hashes['bcrypt-prehash']!);
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(password)),
    );
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
    await expectProblem(await signIn(email, hex), 401, 'invalid_credentials');
    // And the same bcrypt without the declaration does not accept the password.
    const bare = await imported(hashes['bcrypt-prehash']!.replace('prehash-sha256-hex:', ''));
    await expectProblem(await signIn(bare.email, password), 401, 'invalid_credentials');
  });

  it('refuses the right password against a tampered hash', async () => {
    const { password, hashes } = fixtures();
    for (const kind of ['bcrypt-2b', 'argon2id', 'scrypt', 'pbkdf2-sha256', 'django-pbkdf2']) {
      const hash = hashes[kind]!;
      // One character of the digest changed (the last one, whose low bits may be padding, kept).
      const at = hash.length - 3;
      const swapped = hash[at] === 'A' ? 'B' : 'A';
      const tampered = hash.slice(0, at) + swapped + hash.slice(at + 1);
      const { email } = await imported(tampered);
      await expectProblem(await signIn(email, password), 401, 'invalid_credentials');
      expect(await storedHash(email)).toBe(tampered);
    }
  });

  it('refuses the right password when the bcrypt salt has bits set that bcrypt leaves zero', async () => {
    // The salt's 22nd character carries 2 bits; setting one of its 4 others decodes to the same
    // salt, but it is not a hash bcrypt wrote (bcryptjs, OpenBSD and PHP refuse it too).
    const { password, hashes } = fixtures();
    const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const hash = hashes['bcrypt-2b']!;
    const padded = hash.slice(0, 28) + alphabet[alphabet.indexOf(hash[28]!) | 1] + hash.slice(29);
    const { email } = await imported(padded);
    await expectProblem(await signIn(email, password), 401, 'invalid_credentials');
    expect(await storedHash(email)).toBe(padded);
  });

  it('lets parallel first sign-ins all succeed and replaces the hash exactly once', async () => {
    const { password, hashes } = fixtures();
    const { email, id } = await imported(hashes['scrypt']!);
    const answers = await Promise.all(Array.from({ length: 5 }, () => signIn(email, password)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await auditOf('password.rehashed', id)).toHaveLength(1);
    expect(await storedHash(email)).toMatch(OWN);
    expect((await signIn(email, password)).status).toBe(200);
  });

  it('never overwrites a hash that changed after it was verified (a reset meanwhile)', async () => {
    const { password, hashes } = fixtures();
    const { email, id } = await imported(hashes['bcrypt-2b']!);
    const db = database(env.DB);
    const verified = (await userById(db, id))!;
    // A password reset lands between the check of the imported hash and its replacement.
    await env.DB.prepare("UPDATE users SET password_hash = 'reset-meanwhile' WHERE id = ?")
      .bind(id)
      .run();
    const ctx = { requestId: 'test', ip: null, userAgent: null };
    await rehashPassword(db, loadConfig(env), ctx, verified, password);
    expect(await storedHash(email)).toBe('reset-meanwhile');
    expect(await auditOf('password.rehashed', id)).toHaveLength(0);
  });

  it('is handled on every path that checks a password: change, two-factor setup', async () => {
    const { password, hashes } = fixtures();
    const { email, id } = await imported(hashes['argon2id']!);
    const tokens = await login(email, password);
    // The session exists; the imported hash is put back to check the other paths with it.
    const putBack = () =>
      env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?')
        .bind(hashes['argon2id'], id)
        .run();
    await putBack();
    const setup = await call(
      '/users/me/mfa/totp/setup',
      withBearer(tokens.access_token, json({ password })),
    );
    expect(setup.status, await setup.clone().text()).toBe(200);
    expect(await storedHash(email)).toMatch(OWN);
    await putBack();
    const change = await call(
      '/users/me/password',
      withBearer(
        tokens.access_token,
        json({ current_password: password, new_password: 'a brand new passphrase 42' }),
      ),
    );
    expect(change.status, await change.clone().text()).toBe(204);
    expect(await storedHash(email)).toMatch(OWN);
    expect((await signIn(email, 'a brand new passphrase 42')).status).toBe(200);
    await expectProblem(await signIn(email, password), 401, 'invalid_credentials');
  });

  it("also upgrades the worker's own hash with outdated parameters, through the same path", async () => {
    const { email, id } = await imported(fixtures().hashes['bcrypt-2b']!);
    // Our own earlier form: peppered PBKDF2-SHA-256 at 50,000 iterations.
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const peppered = await hmac(
      loadConfig(env).PASSWORD_PEPPER,
      'password-pepper',
      'an older passphrase',
    );
    const key = await crypto.subtle.importKey('raw', peppered, 'PBKDF2', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits(
      { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 50_000 },
      key,
      256,
    );
    const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/=+$/, '');
    const old = `$pbkdf2-sha256$i=50000,l=32$${b64(salt)}$${b64(new Uint8Array(bits))}`;
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(old, id).run();
    expect((await signIn(email, 'an older passphrase')).status).toBe(200);
    expect(await storedHash(email)).toMatch(OWN);
    expect(await auditOf('password.rehashed', id)).toEqual([
      { user_id: id, detail: '{"from":"outdated"}' },
    ]);
  });
});
