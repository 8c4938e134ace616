import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';
import { introspectionEnv } from './oauth';

const problemsOf = (value: string): string[] => {
  try {
    loadConfig({ ...env, INTROSPECTION_CLIENTS: value } as Env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

const HASH = `sha256:${'ab'.repeat(32)}`;

describe('INTROSPECTION_CLIENTS', () => {
  it('unset means no client', () => {
    expect(loadConfig(env).INTROSPECTION_CLIENTS).toEqual({});
  });

  it('holds client ids and the hex SHA-256 of their secrets', async () => {
    const config = loadConfig({ ...env, ...(await introspectionEnv()) } as Env);
    expect(Object.keys(config.INTROSPECTION_CLIENTS).sort()).toEqual(['billing-api', 'orders-api']);
    expect(config.INTROSPECTION_CLIENTS['orders-api']).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['not JSON', '{"a":'],
    ['a list', JSON.stringify([HASH])],
    ['a plain secret instead of its hash', JSON.stringify({ svc: 'my-plain-secret' })],
    ['upper-case hex', JSON.stringify({ svc: HASH.toUpperCase().replace('SHA256', 'sha256') })],
    ['a short hash', JSON.stringify({ svc: 'sha256:abcd' })],
    ['a colon in the client id (HTTP Basic)', JSON.stringify({ 'a:b': HASH })],
    ['an empty client id', JSON.stringify({ '': HASH })],
  ])('refuses %s, naming the variable but never the value', (_name, value) => {
    const problems = problemsOf(value);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join(' ')).toMatch(/INTROSPECTION_CLIENTS/);
    expect(problems.join(' ')).not.toContain('my-plain-secret');
  });
});
