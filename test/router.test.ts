import { TrieRouter } from 'hono/router/trie-router';
import { describe, expect, it } from 'vitest';
import { RememberingRouter } from '../src/router';
import { call, register, signedInAdmin, withBearer } from './helpers';

const ROUTES: [string, string][] = [
  ['ALL', '*'],
  ['GET', '/users/me'],
  ['GET', '/admin/users/:id'],
  ['POST', '/admin/users/:id/unlock'],
  ['POST', '/admin/users/import'],
  ['GET', '/docs-assets/*'],
  ['ALL', '/dev/*'],
];

function both() {
  const remembering = new RememberingRouter<string>();
  const trie = new TrieRouter<string>();
  for (const [method, path] of ROUTES) {
    remembering.add(method, path, `${method} ${path}`);
    trie.add(method, path, `${method} ${path}`);
  }
  return { remembering, trie };
}

describe('the router', () => {
  it('answers every method and path as TrieRouter does, the first time and again', () => {
    const { remembering, trie } = both();
    const requests = [
      ['GET', '/users/me'],
      ['GET', '/admin/users/u1'],
      ['GET', '/admin/users/u2'],
      ['POST', '/admin/users/u1/unlock'],
      ['POST', '/admin/users/import'],
      ['GET', '/docs-assets/a/b.css'],
      ['DELETE', '/dev/mailbox'],
      ['GET', '/nope'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [method, path] of requests) {
        expect(remembering.match(method!, path!), `${method} ${path}`).toEqual(
          trie.match(method!, path!),
        );
      }
    }
  });

  it('keeps a bounded number of answers however many distinct paths arrive', () => {
    const { remembering, trie } = both();
    for (let i = 0; i < 5_000; i++) remembering.match('GET', `/admin/users/u${i}`);
    expect(remembering.kept).toBeLessThanOrEqual(512);
    for (const path of ['/admin/users/u4999', '/admin/users/u1']) {
      expect(remembering.match('GET', path)).toEqual(trie.match('GET', path));
    }
  });

  it('gives each request its own path parameters through the app', async () => {
    const admin = await signedInAdmin();
    const users = [(await register()).user, (await register()).user];
    for (const user of [...users, ...users]) {
      const res = await call(`/admin/users/${user.id}`, withBearer(admin.tokens.access_token));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }).id).toBe(user.id);
    }
  });
});
