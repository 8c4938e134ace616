import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  me,
  register,
  uniqueEmail,
  type Tokens,
} from '../helpers';

afterEach(() => vi.restoreAllMocks());

const attempt = (email: string, password: string, requestId = 'fixed-id') =>
  call('/auth/login', json({ email, password }, { 'X-Request-Id': requestId }));

describe('POST /auth/login', () => {
  it('returns the token response with a session and a working access token', async () => {
    const { email } = await register();
    const res = await attempt(email, PASSWORD);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const tokens = (await res.json()) as Tokens;
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      refresh_expires_in: 2592000,
    });
    // 256 random bits; a session on another shard adds its marker (docs/sharding.md).
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}(?:[B-P][A-Za-z0-9_-]+)?$/);
    expect((await me(tokens.access_token)).status).toBe(200);
  });

  it('accepts the email in any case and with surrounding spaces', async () => {
    const { email } = await register(uniqueEmail('Case'));
    expect((await attempt(`  ${email.toUpperCase()} `, PASSWORD)).status).toBe(200);
  });

  it('gives byte-identical 401 bodies for an unknown email and a wrong password', async () => {
    const { email } = await register();
    const wrong = await attempt(email, 'not the password at all');
    const unknown = await attempt(uniqueEmail('ghost'), 'not the password at all');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.text()).toBe(await unknown.text());
    const headersOf = (r: Response) =>
      // The request id and the rate-limit counters differ from one request to the next.
      [...r.headers].filter(([k]) => k !== 'x-request-id' && !k.startsWith('ratelimit-')).sort();
    expect(headersOf(wrong)).toEqual(headersOf(unknown));
  });

  it('spends one PBKDF2 derivation for an unknown email, as for a wrong password', async () => {
    const { email } = await register();
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    await attempt(email, 'not the password at all');
    const forWrong = derive.mock.calls.length;
    await attempt(uniqueEmail('ghost'), 'not the password at all');
    expect(forWrong).toBe(1);
    expect(derive.mock.calls.length - forWrong).toBe(1);
    const params = derive.mock.calls.map(([algorithm]) => algorithm as { iterations: number });
    expect(params[1]!.iterations).toBe(params[0]!.iterations);
  });

  it('refuses a disabled account only once the password is right', async () => {
    const { email, user } = await register();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE id = ?')
      .bind(Date.now(), user.id)
      .run();
    await expectProblem(await attempt(email, 'wrong password here'), 401, 'invalid_credentials');
    await expectProblem(await attempt(email, PASSWORD), 403, 'account_disabled');
  });

  it('re-hashes a password stored with older parameters after a successful login', async () => {
    const { email, user } = await register();
    // A legacy SHA-256 hash at 50,000 iterations, made with the same pepper construction.
    const old = await legacyHash(PASSWORD);
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?')
      .bind(old, user.id)
      .run();
    expect((await attempt(email, PASSWORD)).status).toBe(200);
    const row = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?')
      .bind(user.id)
      .first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$pbkdf2-sha512\$i=100000,l=64\$/);
    expect((await attempt(email, PASSWORD)).status).toBe(200);
  });

  it('answers 500, not 401, when the stored hash exceeds the iteration cap', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { email, user } = await register();
    const tampered = '$pbkdf2-sha512$i=1000000000,l=64$' + 'A'.repeat(22) + '$' + 'A'.repeat(86);
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?')
      .bind(tampered, user.id)
      .run();
    const derive = vi.spyOn(crypto.subtle, 'deriveBits');
    await expectProblem(await attempt(email, PASSWORD), 500, 'internal_error');
    expect(derive).not.toHaveBeenCalled();
  });

  it.each([
    ['a missing password', { email: 'a@example.com' }],
    ['a numeric password', { email: 'a@example.com', password: 123456789012 }],
    ['an operator object', { email: 'a@example.com', password: { $ne: null } }],
    ['an email array', { email: ['a@example.com'], password: PASSWORD }],
    ['a 129-code-point password', { email: 'a@example.com', password: '😀'.repeat(129) }],
  ])('answers %s with 422 and field errors', async (_name, body) => {
    const res = await call('/auth/login', json(body));
    const problem = (await expectProblem(res, 422, 'validation_failed')) as unknown as {
      errors: { path: string; message: string }[];
    };
    expect(problem.errors.length).toBeGreaterThan(0);
  });

  it('ignores a NUL or emoji in the password (it is just a character)', async () => {
    const password = 'emoji 😀 and \u0000 nul and spaces';
    const { email } = await register(uniqueEmail(), password);
    expect((await attempt(email, password)).status).toBe(200);
  });

  it('verifies composed and decomposed forms of the same password alike (NFKC)', async () => {
    const composed = 'ma\u00f1ana por la ma\u00f1ana';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    const { email } = await register(uniqueEmail(), composed);
    expect((await attempt(email, decomposed)).status).toBe(200);
  });
});

async function legacyHash(password: string): Promise<string> {
  const enc = new TextEncoder();
  const master = await crypto.subtle.importKey(
    'raw',
    enc.encode(env.PASSWORD_PEPPER),
    'HKDF',
    false,
    ['deriveKey'],
  );
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: enc.encode('password-pepper') },
    master,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
  const peppered = await crypto.subtle.sign('HMAC', key, enc.encode(password));
  const material = await crypto.subtle.importKey('raw', peppered, 'PBKDF2', false, ['deriveBits']);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 50_000 },
    material,
    256,
  );
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b)).replace(/=+$/, '');
  return `$pbkdf2-sha256$i=50000,l=32$${b64(salt)}$${b64(new Uint8Array(bits))}`;
}
