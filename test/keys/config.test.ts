import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { publicationLeadSeconds } from '../../src/keys/timing';
import { call } from '../helpers';

const problemsOf = (overrides: Record<string, unknown>): string[] => {
  try {
    loadConfig({ ...env, ...overrides } as Env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('key configuration', () => {
  it('refuses a rotation interval no longer than the publication lead', () => {
    const lead = publicationLeadSeconds(300);
    expect(lead).toBe(360);
    expect(problemsOf({ KEY_ROTATION_INTERVAL: String(lead) })).toEqual([
      'KEY_ROTATION_INTERVAL must be longer than JWKS_MAX_AGE plus 30 s of ring cache and 30 s of clock skew',
    ]);
    expect(problemsOf({ KEY_ROTATION_INTERVAL: String(lead + 1) })).toEqual([]);
    // A short JWKS lifetime allows a short interval (the e2e phase runs 2 s and 40 s).
    expect(problemsOf({ JWKS_MAX_AGE: '2', KEY_ROTATION_INTERVAL: '40' })).toEqual([]);
  });

  it.each([
    ['a bare key', 'abc'],
    ['a short key', '1:abc'],
    ['a version 0', `0:${'A'.repeat(43)}`],
  ])('refuses KEY_ENCRYPTION_KEY that is %s, naming the variable only', (_name, value) => {
    const problems = problemsOf({ KEY_ENCRYPTION_KEY: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^KEY_ENCRYPTION_KEY /);
    expect(problems[0]).not.toContain(value);
  });

  it.each([['0'], ['86401'], ['soon']])('refuses JWKS_MAX_AGE %s', (value) => {
    expect(problemsOf({ JWKS_MAX_AGE: value })[0]).toMatch(/^JWKS_MAX_AGE /);
  });

  it('sends JWKS_MAX_AGE as the JWKS and discovery max-age', async () => {
    const overrides = { JWKS_MAX_AGE: '42', KEY_ROTATION_INTERVAL: '3600' };
    for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      const res = await call(path, {}, overrides);
      expect(res.headers.get('Cache-Control')).toBe('public, max-age=42');
    }
  });
});
