import { describe, expect, it } from 'vitest';
import { call } from './helpers';

describe('GET /.well-known/jwks.json', () => {
  it('publishes public members only', async () => {
    const res = await call('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: Record<string, unknown>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    }
  });

  it('answers 304 to its own ETag', async () => {
    const first = await call('/.well-known/jwks.json');
    const etag = first.headers.get('ETag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers.get('Cache-Control')).toMatch(/^public, max-age=\d+$/);
    const again = await call('/.well-known/jwks.json', { headers: { 'If-None-Match': etag! } });
    expect(again.status).toBe(304);
    const other = await call('/.well-known/jwks.json', { headers: { 'If-None-Match': '"x"' } });
    expect(other.status).toBe(200);
  });
});

describe('GET /.well-known/openid-configuration', () => {
  it('lists only what the worker implements, and every URL it lists answers', async () => {
    const res = await call('/.well-known/openid-configuration');
    const doc = (await res.json()) as Record<string, string>;
    expect(Object.keys(doc).sort()).toEqual(['issuer', 'jwks_uri', 'service_documentation']);
    // No token or authorization endpoint: the worker is not an OAuth server, and a generic OIDC
    // client must not discover /auth/login as one.
    expect(JSON.stringify(doc)).not.toContain('/auth/login');
    for (const member of ['jwks_uri', 'service_documentation']) {
      const path = new URL(doc[member]!).pathname;
      expect((await call(path)).status, member).toBe(200);
    }
  });
});
