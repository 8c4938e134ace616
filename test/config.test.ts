import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { call, expectProblem } from './helpers';

const withEnv = (overrides: Record<string, unknown>) => ({ ...env, ...overrides }) as Env;
const problemsOf = (overrides: Record<string, unknown>): string[] => {
  try {
    loadConfig(withEnv(overrides));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('configuration', () => {
  it('parses the test environment', () => {
    const config = loadConfig(env);
    expect(config.ACCESS_TOKEN_TTL).toBe(900);
    expect(config.ALLOWED_ORIGINS).toEqual(['https://app.example.com']);
    expect(config.JWT_SIGNING_KEYS!.keys.length).toBe(1);
  });

  it('needs JWT_SIGNING_KEYS unless KEY_ENCRYPTION_KEY lets the worker make its own', () => {
    expect(problemsOf({ JWT_SIGNING_KEYS: '', KEY_ENCRYPTION_KEY: '' })).toEqual([
      'JWT_SIGNING_KEYS is missing (or set KEY_ENCRYPTION_KEY and the worker makes its own keys)',
    ]);
    expect(problemsOf({ JWT_SIGNING_KEYS: '' })).toEqual([]);
  });

  it.each([
    ['not JSON', '{"keys": ['],
    ['not a set', JSON.stringify([{ kty: 'RSA' }])],
    ['an empty set', JSON.stringify({ keys: [] })],
    [
      'a public key only',
      JSON.stringify({ keys: [{ kty: 'RSA', kid: 'a', n: 'A'.repeat(342), e: 'AQAB' }] }),
    ],
    [
      'an EC key',
      JSON.stringify({ keys: [{ kty: 'EC', kid: 'a', crv: 'P-256', x: 'a', y: 'b', d: 'c' }] }),
    ],
    [
      'a 1024-bit key',
      JSON.stringify({
        keys: [
          {
            kty: 'RSA',
            kid: 'a',
            n: 'A'.repeat(171),
            e: 'AQAB',
            d: 'a',
            p: 'a',
            q: 'a',
            dp: 'a',
            dq: 'a',
            qi: 'a',
          },
        ],
      }),
    ],
  ])('rejects JWT_SIGNING_KEYS that is %s', (_name, value) => {
    const problems = problemsOf({ JWT_SIGNING_KEYS: value });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith('JWT_SIGNING_KEYS'))).toBe(true);
  });

  it('rejects duplicate kids', () => {
    const keys = JSON.parse(env.JWT_SIGNING_KEYS).keys;
    expect(problemsOf({ JWT_SIGNING_KEYS: JSON.stringify({ keys: [...keys, ...keys] }) })).toEqual([
      'JWT_SIGNING_KEYS.keys kids must be unique',
    ]);
  });

  it('rejects a short pepper, a bad issuer and out-of-range numbers', () => {
    const problems = problemsOf({
      PASSWORD_PEPPER: 'short',
      ISSUER: 'not a url',
      ACCESS_TOKEN_TTL: '5',
      MIN_PASSWORD_LENGTH: '4',
      ALLOWED_ORIGINS: 'https://ok.example,https://bad.example/path',
    });
    expect(problems.map((p) => p.split(' ')[0])).toEqual(
      expect.arrayContaining([
        'PASSWORD_PEPPER',
        'ISSUER',
        'ACCESS_TOKEN_TTL',
        'MIN_PASSWORD_LENGTH',
        'ALLOWED_ORIGINS.1',
      ]),
    );
  });

  it("takes ISSUER's host or a parent domain as the passkeys' RP id, nothing else", () => {
    const issuer = { ISSUER: 'https://auth.example.com' };
    expect(problemsOf({ ...issuer, WEBAUTHN_RP_ID: 'example.com' })).toEqual([]);
    expect(problemsOf({ ...issuer, WEBAUTHN_RP_ID: 'auth.example.com' })).toEqual([]);
    for (const rpId of ['evil.com', 'ample.com', 'other.example.com', 'Example.com']) {
      const problems = problemsOf({ ...issuer, WEBAUTHN_RP_ID: rpId });
      expect(problems).toContain("WEBAUTHN_RP_ID must be ISSUER's host or a parent domain of it");
      expect(problems.every((p) => p.startsWith('WEBAUTHN_RP_ID '))).toBe(true);
    }
  });

  it('refuses insecure dev cookies in production', () => {
    const production = {
      ENVIRONMENT: 'production',
      MAIL_TRANSPORT: 'resend',
      MAIL_API_KEY: 'k',
      MAIL_FROM: 'a@b.co',
    };
    expect(problemsOf({ ...production, COOKIE_INSECURE_DEV: 'true' })).toEqual([
      'COOKIE_INSECURE_DEV is refused when ENVIRONMENT=production',
    ]);
    expect(problemsOf(production)).toEqual([]);
  });

  it('fails closed with 500 server_misconfigured and a log line that never holds the value', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const secret = 'pepper-too-short';
    const res = await call('/health/live', {}, { PASSWORD_PEPPER: secret });
    const body = await expectProblem(res, 500, 'server_misconfigured');
    expect(JSON.stringify(body)).not.toContain('PASSWORD_PEPPER');
    const logged = error.mock.calls.map((args) => String(args[0])).join('\n');
    expect(logged).toContain('PASSWORD_PEPPER must be at least 32 characters');
    expect(logged).not.toContain(secret);
    error.mockRestore();
  });
});
