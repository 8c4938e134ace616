// API.md "Administration, added": GET /admin/keys, POST /admin/keys/rotate, DELETE /admin/keys/{kid}.
import { env } from 'cloudflare:workers';
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { forgetStoredKeys } from '../../src/keys/ring';
import { publicationLeadSeconds } from '../../src/keys/timing';
import { call, expectProblem, login, me, signedIn, signedInAdmin, withBearer } from '../helpers';
import { SECOND, config, inState, publishedKids, storedKeys } from './helpers';

type KeyList = {
  keys: {
    kid: string;
    state: string;
    created_at: string;
    activates_at: string;
    retires_at: string;
  }[];
};

const BODILESS: [string, RequestInit][] = [
  ['no body, no Content-Type', {}],
  ['Content-Length: 0', { headers: { 'Content-Length': '0' } }],
  ['zero bytes as application/json', { headers: { 'Content-Type': 'application/json' }, body: '' }],
];

async function listKeys(token: string) {
  const res = await call('/admin/keys', withBearer(token));
  expect(res.status).toBe(200);
  expect(res.headers.get('Cache-Control')).toBe('no-store');
  return (await res.json()) as KeyList;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid as string;

describe('admin key routes: who may call them', () => {
  it.each([
    ['GET', '/admin/keys'],
    ['POST', '/admin/keys/rotate'],
    ['DELETE', '/admin/keys/some-kid'],
  ])('%s %s: 401 without a token, 403 for a user, nothing changed', async (method, path) => {
    await expectProblem(await call(path, { method }), 401, 'unauthorized');
    const { tokens } = await signedIn();
    await expectProblem(
      await call(path, withBearer(tokens.access_token, { method })),
      403,
      'forbidden',
    );
    expect(await storedKeys()).toEqual([]);
  });
});

describe('GET /admin/keys', () => {
  it('lists next and current keys with their times, importing JWT_SIGNING_KEYS first', async () => {
    const { tokens } = await signedInAdmin();
    const before = Date.now();
    const { keys } = await listKeys(tokens.access_token);
    const envKid = config().JWT_SIGNING_KEYS!.keys[0]!.kid;
    expect(keys.map((k) => k.state)).toEqual(['next', 'current']);
    const [next, current] = keys;
    expect(current!.kid).toBe(envKid);
    expect(Object.keys(next!).sort()).toEqual([
      'activates_at',
      'created_at',
      'kid',
      'retires_at',
      'state',
    ]);
    // The current key retires when the next one takes over.
    expect(current!.retires_at).toBe(next!.activates_at);
    expect(Date.parse(next!.activates_at) - before).toBeGreaterThanOrEqual(
      config().KEY_ROTATION_INTERVAL * SECOND - 2 * SECOND,
    );
    const audit = await env.DB.prepare(
      "SELECT user_id FROM audit_events WHERE type = 'key.imported'",
    ).all<{ user_id: string }>();
    expect(audit.results).toHaveLength(1);
  });
});

describe.each(BODILESS)('bodiless admin key calls: %s', (_name, form) => {
  it('POST /admin/keys/rotate answers 202 and schedules the next key at its earliest safe time', async () => {
    const { tokens } = await signedInAdmin();
    const res = await call(
      '/admin/keys/rotate',
      withBearer(tokens.access_token, { ...form, method: 'POST' }),
    );
    expect(res.status, await res.clone().text()).toBe(202);
    const [next] = await inState('next');
    // Never before one cache lifetime plus skew after it was stored.
    expect(next!.activatesAt - next!.createdAt).toBe(
      publicationLeadSeconds(config().JWKS_MAX_AGE) * SECOND,
    );
    // Until then the current key signs: a login now is not signed by an unpublished key.
    const { tokens: fresh } = await signedIn();
    expect(kidOf(fresh.access_token)).toBe((await inState('current'))[0]!.kid);
    expect(await publishedKids()).toContain(next!.kid);
  });

  it('DELETE /admin/keys/{kid} answers 204, and 404 for an unknown kid', async () => {
    const { tokens } = await signedInAdmin();
    await listKeys(tokens.access_token);
    const [next] = await inState('next');
    await expectProblem(
      await call(
        '/admin/keys/no-such-kid',
        withBearer(tokens.access_token, { ...form, method: 'DELETE' }),
      ),
      404,
      'not_found',
    );
    const res = await call(
      `/admin/keys/${next!.kid}`,
      withBearer(tokens.access_token, { ...form, method: 'DELETE' }),
    );
    expect(res.status, await res.clone().text()).toBe(204);
    expect(await publishedKids()).not.toContain(next!.kid);
    // A new next key takes its place; removing it again is a 404.
    expect((await inState('next'))[0]!.kid).not.toBe(next!.kid);
    await expectProblem(
      await call(`/admin/keys/${next!.kid}`, withBearer(tokens.access_token, { method: 'DELETE' })),
      404,
      'not_found',
    );
  });
});

describe('POST /admin/keys/rotate', () => {
  it('promotes a next key that has been published long enough at once, and makes a new next', async () => {
    const { tokens } = await signedInAdmin();
    await listKeys(tokens.access_token);
    const [old] = await inState('current');
    const [next] = await inState('next');
    // Pretend the next key was stored long ago: every cache has had it.
    await env.DB.prepare('UPDATE signing_keys SET created_at = created_at - ?1 WHERE kid = ?2')
      .bind(3600 * SECOND, next!.kid)
      .run();
    expect(
      (await call('/admin/keys/rotate', withBearer(tokens.access_token, { method: 'POST' })))
        .status,
    ).toBe(202);
    expect((await inState('current'))[0]!.kid).toBe(next!.kid);
    expect((await inState('retiring'))[0]!.kid).toBe(old!.kid);
    const [newNext] = await inState('next');
    expect(newNext!.kid).not.toBe(next!.kid);
    // The request's own isolate signs with the new key at once; the old key's token still works.
    const { tokens: fresh } = await signedIn();
    expect(kidOf(fresh.access_token)).toBe(next!.kid);
    expect((await me(tokens.access_token)).status).toBe(200);
    const events = await env.DB.prepare(
      "SELECT type FROM audit_events WHERE type IN ('key.rotation_scheduled', 'key.activated') AND detail LIKE ?1",
    )
      .bind(`%${next!.kid}%`)
      .all<{ type: string }>();
    expect(events.results.map((r) => r.type).sort()).toEqual([
      'key.activated',
      'key.rotation_scheduled',
    ]);
  });
});

describe('DELETE /admin/keys/{kid}: emergency removal', () => {
  it("refuses the removed key's tokens at once, drops it from the JWKS, and keeps signing", async () => {
    const { tokens } = await signedInAdmin();
    const user = await signedIn();
    await listKeys(tokens.access_token);
    const [current] = await inState('current');
    const [next] = await inState('next');
    expect(kidOf(user.tokens.access_token)).toBe(current!.kid);
    expect((await me(user.tokens.access_token)).status).toBe(200);

    // The admin's own token is signed by the key being removed: they sign in again afterwards.
    const res = await call(
      `/admin/keys/${current!.kid}`,
      withBearer(tokens.access_token, { method: 'DELETE' }),
    );
    expect(res.status).toBe(204);

    await expectProblem(await me(user.tokens.access_token), 401, 'unauthorized');
    expect(await publishedKids()).not.toContain(current!.kid);
    // The next key, published all along, signs at once; a new next key is made.
    expect((await inState('current'))[0]!.kid).toBe(next!.kid);
    expect(await inState('next')).toHaveLength(1);
    const again = await login(user.email);
    expect(kidOf(again.access_token)).toBe(next!.kid);
    expect((await me(again.access_token)).status).toBe(200);
    const [gone] = (await storedKeys()).filter((k) => k.kid === current!.kid);
    expect(gone).toMatchObject({ state: 'gone', removed: true, privateSealed: null });
    const audit = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'key.removed' AND detail LIKE ?1",
    )
      .bind(`%${current!.kid}%`)
      .all<{ detail: string }>();
    expect(audit.results.map((r) => JSON.parse(r.detail))).toEqual([
      { kid: current!.kid, state: 'current' },
    ]);
  });

  it('refuses the tokens in an isolate whose cached ring still holds the key (the KV marker)', async () => {
    const { tokens } = await signedInAdmin();
    const user = await signedIn();
    await listKeys(tokens.access_token);
    const [current] = await inState('current');
    const row = await env.DB.prepare('SELECT * FROM signing_keys WHERE kid = ?1')
      .bind(current!.kid)
      .first<Record<string, unknown>>();
    expect(
      (
        await call(
          `/admin/keys/${current!.kid}`,
          withBearer(tokens.access_token, { method: 'DELETE' }),
        )
      ).status,
    ).toBe(204);
    // Another isolate read D1 before the removal: its ring still has the key as retiring.
    await env.DB.prepare(
      "UPDATE signing_keys SET state = 'retiring', public_jwk = ?1, private_sealed = ?2, sealing_version = ?3, retired_at = ?4 WHERE kid = ?5",
    )
      .bind(row!.public_jwk, row!.private_sealed, row!.sealing_version, Date.now(), current!.kid)
      .run();
    forgetStoredKeys();
    expect(await publishedKids()).toContain(current!.kid);
    await expectProblem(await me(user.tokens.access_token), 401, 'unauthorized');
    expect(await env.KV.get(`revoked:key:${current!.kid}`)).toBe('1');
  });

  it('makes a new current key at once when the removed current key had no next to take over', async () => {
    const { tokens } = await signedInAdmin();
    await listKeys(tokens.access_token);
    const [current] = await inState('current');
    const [next] = await inState('next');
    await call(`/admin/keys/${next!.kid}`, withBearer(tokens.access_token, { method: 'DELETE' }));
    // Remove the replacement next key too, in D1 directly, so none is left to promote.
    const [replacement] = await inState('next');
    await env.DB.prepare('DELETE FROM signing_keys WHERE kid = ?1').bind(replacement!.kid).run();
    const admin2 = await signedInAdmin();
    expect(
      (
        await call(
          `/admin/keys/${current!.kid}`,
          withBearer(admin2.tokens.access_token, { method: 'DELETE' }),
        )
      ).status,
    ).toBe(204);
    const [made] = await inState('current');
    expect([current!.kid, next!.kid, replacement!.kid]).not.toContain(made!.kid);
    const user = await signedIn();
    expect(kidOf(user.tokens.access_token)).toBe(made!.kid);
    expect((await me(user.tokens.access_token)).status).toBe(200);
  });
});
