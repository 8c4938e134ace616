import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { call, expectProblem, json, login, signedIn, uniqueEmail, withBearer } from '../helpers';
import { adminToken, auditOf, fixtures, importBatch, storedHash } from './helpers';

type Result = { created: number; skipped: { email: string; reason: string }[] };

describe('POST /admin/users/import', () => {
  it('creates accounts with their name, role, verification and hash, canonicalised', async () => {
    const { hashes } = fixtures();
    const email = uniqueEmail('imported');
    const res = await importBatch([
      {
        email: `  ${email.toUpperCase()} `,
        name: ' Ana ',
        email_verified: true,
        role: 'admin',
        password_hash: hashes['bcrypt-2b'],
      },
    ]);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(await res.json()).toEqual({ created: 1, skipped: [] });
    const row = await env.DB.prepare(
      'SELECT name, role, email_verified_at, password_hash FROM users WHERE email = ?',
    )
      .bind(email)
      .first();
    expect(row).toMatchObject({ name: 'Ana', role: 'admin', password_hash: hashes['bcrypt-2b'] });
    expect(row!.email_verified_at).toEqual(expect.any(Number));
    const event = (await auditOf('users.imported')).at(-1)!;
    expect(JSON.parse(event.detail)).toMatchObject({ created: 1, admins: 1 });
  });

  it('skips invalid emails, duplicates in the batch, and emails that already have an account', async () => {
    const existing = (await signedIn()).email;
    const fresh = uniqueEmail('fresh');
    const res = await importBatch([
      { email: 'not an email' },
      { email: fresh },
      { email: fresh.toUpperCase() },
      { email: existing },
      { email: 'ｆｕｌｌwidth@example.com' },
    ]);
    const body = (await res.json()) as Result;
    expect(body.created).toBe(1);
    expect(body.skipped).toEqual(
      expect.arrayContaining([
        { email: 'not an email', reason: 'invalid_email' },
        { email: fresh, reason: 'duplicate' },
        { email: existing, reason: 'exists' },
        { email: 'ｆｕｌｌwidth@example.com', reason: 'invalid_email' },
      ]),
    );
    expect(body.skipped).toHaveLength(4);
    const row = await env.DB.prepare(
      'SELECT role, email_verified_at, password_hash, name FROM users WHERE email = ?',
    )
      .bind(fresh)
      .first();
    // Without a hash the account is passwordless: a reset (or another method) gives it one.
    expect(row).toEqual({ role: 'user', email_verified_at: null, password_hash: '', name: null });
  });

  it('is idempotent: the same batch again creates nothing and skips every user as exists', async () => {
    const users = [{ email: uniqueEmail('again') }, { email: uniqueEmail('again') }];
    expect(((await (await importBatch(users)).json()) as Result).created).toBe(2);
    const second = (await (await importBatch(users)).json()) as Result;
    expect(second).toEqual({
      created: 0,
      skipped: users.map((u) => ({ email: u.email, reason: 'exists' })),
    });
  });

  it.each([
    ['an unknown format', '$1$abcdefgh$0123456789abcdefghijkl', 'unsupported_hash'],
    ['plain text', 'hunter2', 'unsupported_hash'],
    [
      'argon2i (not argon2id)',
      '$argon2i$v=19$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'unsupported_hash',
    ],
    [
      "the worker's own (peppered) form",
      '$pbkdf2-sha512$i=100000,l=64$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(86),
      'malformed_hash',
    ],
    [
      'a pre-hash declared on a non-bcrypt hash',
      'prehash-sha256-hex:$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'unsupported_hash',
    ],
    ['a truncated bcrypt', '$2b$10$abcdefghijklmnopqrstuv', 'malformed_hash'],
    // crypt_blowfish's $2x$ reproduces an old sign-extension bug on 8-bit passwords.
    ["crypt_blowfish's buggy $2x$", '$2x$05$' + 'a'.repeat(53), 'unsupported_hash'],
    ['bcrypt cost 03', '$2b$03$' + 'a'.repeat(53), 'malformed_hash'],
    [
      'bcrypt with a character outside its base64',
      '$2b$05$' + 'a'.repeat(52) + '+',
      'malformed_hash',
    ],
    ['bcrypt cost 15', '$2b$15$' + 'a'.repeat(53), 'hash_cost_too_high'],
    ['bcrypt cost 31', '$2b$31$' + 'a'.repeat(53), 'hash_cost_too_high'],
    [
      'argon2id with 128 MiB',
      '$argon2id$v=19$m=131072,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'hash_cost_too_high',
    ],
    [
      'argon2id with t=100',
      '$argon2id$v=19$m=1024,t=100,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'hash_cost_too_high',
    ],
    [
      'argon2id version 16',
      '$argon2id$v=16$m=1024,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'malformed_hash',
    ],
    [
      'scrypt needing 128 MiB',
      '$scrypt$ln=17,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'hash_cost_too_high',
    ],
    [
      'pbkdf2 with 10,000,000 iterations',
      'pbkdf2_sha256$10000000$salt$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=',
      'hash_cost_too_high',
    ],
    [
      'pbkdf2 with 10 iterations',
      '$pbkdf2-sha256$10$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      'malformed_hash',
    ],
    [
      'bad base64 in a PHC hash',
      '$scrypt$ln=10,r=8,p=1$c2Fsd!!!$aGFzaGhhc2hoYXNoaGFzaA',
      'malformed_hash',
    ],
  ])('refuses %s at import time, with a reason', async (_name, hash, reason) => {
    const email = uniqueEmail('refused');
    const body = (await (await importBatch([{ email, password_hash: hash }])).json()) as Result;
    expect(body).toEqual({ created: 0, skipped: [{ email, reason }] });
    expect(await storedHash(email)).toBeUndefined();
  });

  it('writes one audit event with counts and never a hash', async () => {
    const { hashes } = fixtures();
    const before = (await auditOf('users.imported')).length;
    await importBatch([
      { email: uniqueEmail('audited'), password_hash: hashes['argon2id'] },
      { email: 'bad' },
    ]);
    const events = await auditOf('users.imported');
    expect(events).toHaveLength(before + 1);
    const detail = JSON.parse(events.at(-1)!.detail);
    expect(detail).toEqual({
      received: 2,
      created: 1,
      admins: 0,
      skipped: 1,
      skipped_invalid_email: 1,
    });
    const all = await env.DB.prepare('SELECT detail FROM audit_events').all<{ detail: string }>();
    expect(all.results.some((r) => r.detail.includes('$argon2id$'))).toBe(false);
  });

  it('refuses a user who is not an admin (403), audited, and creates nothing', async () => {
    const { tokens, user } = await signedIn();
    const email = uniqueEmail('by-user');
    const res = await importBatch([{ email }], tokens.access_token);
    await expectProblem(res, 403, 'forbidden');
    expect(await storedHash(email)).toBeUndefined();
    expect(await auditOf('access.denied', user.id)).toHaveLength(1);
  });

  it('refuses a request without a token (401)', async () => {
    const res = await call('/admin/users/import', json({ users: [{ email: uniqueEmail() }] }));
    await expectProblem(res, 401, 'unauthorized');
  });

  it("reads the stored role: a demoted admin's token is refused", async () => {
    const admin = await (await import('../helpers')).signedInAdmin();
    await env.DB.prepare("UPDATE users SET role = 'user' WHERE id = ?").bind(admin.user.id).run();
    const res = await importBatch([{ email: uniqueEmail() }], admin.tokens.access_token);
    await expectProblem(res, 403, 'forbidden');
  });

  it('answers a bodiless POST with 422 naming the missing users', async () => {
    const token = await adminToken();
    for (const init of [{}, { headers: { 'Content-Length': '0' } }]) {
      const res = await call('/admin/users/import', withBearer(token, { method: 'POST', ...init }));
      const problem = await expectProblem(res, 422, 'validation_failed');
      expect(JSON.stringify(problem)).toContain('users');
    }
  });

  it('refuses more than 1,000 users with 422 and creates none of them', async () => {
    const users = Array.from({ length: 1001 }, (_, i) => ({
      email: `many.${i}.${Date.now()}@example.com`,
    }));
    const res = await importBatch(users);
    const problem = await expectProblem(res, 422, 'validation_failed');
    expect(JSON.stringify(problem)).toContain('at most 1000 users');
    expect(await storedHash(users[0]!.email)).toBeUndefined();
  });

  it('takes 1,000 users in one request, and refuses a body over 1 MiB with 413', async () => {
    const { hashes } = fixtures();
    const stamp = Date.now();
    const users = Array.from({ length: 1000 }, (_, i) => ({
      email: `thousand.${i}.${stamp}@example.com`,
      name: `User ${i}`,
      password_hash: hashes['scrypt'],
    }));
    const res = await importBatch(users);
    expect(((await res.json()) as Result).created).toBe(1000);
    const huge = { users: [{ email: uniqueEmail(), name: 'x'.repeat(1024 * 1024) }] };
    const tooBig = await call('/admin/users/import', withBearer(await adminToken(), json(huge)));
    await expectProblem(tooBig, 413, 'payload_too_large');
  });

  it('keeps the 16 KiB limit for an import without a token, before any parsing', async () => {
    const huge = { users: [{ email: uniqueEmail(), name: 'x'.repeat(20_000) }] };
    await expectProblem(await call('/admin/users/import', json(huge)), 413, 'payload_too_large');
  });

  it('keeps the 16 KiB limit on every other route', async () => {
    const res = await call(
      '/auth/login',
      json({ email: 'a@example.com', password: 'x'.repeat(20_000) }),
    );
    await expectProblem(res, 413, 'payload_too_large');
  });

  it('refuses a wrongly typed field for the whole batch (422), writing nothing', async () => {
    const email = uniqueEmail('typed');
    const res = await importBatch([{ email }, { email: uniqueEmail(), role: 'owner' }]);
    await expectProblem(res, 422, 'validation_failed');
    expect(await storedHash(email)).toBeUndefined();
  });

  it('creates a passwordless account that no password signs in to', async () => {
    const email = uniqueEmail('passwordless');
    await importBatch([{ email }]);
    const res = await call('/auth/login', json({ email, password: 'anything at all' }));
    await expectProblem(res, 401, 'invalid_credentials');
    await expect(login(email)).rejects.toThrow('401');
  });
});
