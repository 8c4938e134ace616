// The latency model's counts (bench/geo/model.ts, `npm run bench -- --geo`) pinned per route, so
// `npm test` guards the geo targets too: the sequential D1 primary round trips a client far from
// the primary waits for, the replica round trips and the KV operations. The bench adds the
// modelled time; the targets (bench/lib/targets.mjs, geoTargets) are these counts.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { emptyUsage, geoBindings, type GeoUsage } from '../../bench/geo/model';
import {
  bearer,
  call,
  json,
  login,
  PASSWORD,
  register,
  signedIn,
  signedInAdmin,
  onMainDatabase,
} from '../helpers';
import { Browser } from '../pages/browser';

async function counts(path: string, init: RequestInit = {}): Promise<GeoUsage> {
  await call('/.well-known/jwks.json'); // the isolate's key ring: once per TTL, not per request
  const usage = emptyUsage();
  const res = await call(path, init, geoBindings(env, usage));
  await res.arrayBuffer();
  expect(res.status).toBeLessThan(400);
  return usage;
}

/**
 * A user whose sessions live on the main database: the model wraps DB and KV, and a session on
 * another shard (docs/sharding.md) goes to that shard's binding, which it does not see.
 */
async function signedInOnMainDb() {
  const account = await register();
  await onMainDatabase(account.user.id);
  return { ...account, tokens: await login(account.email) };
}

const pick = ({ primarySequential, replicaSequential, d1WriteStatements }: GeoUsage) => ({
  primarySequential,
  replicaSequential,
  d1WriteStatements,
});

describe('geo counts per route (the targets of `npm run bench -- --geo`)', () => {
  it('JWKS and /health/live: no storage call at all', async () => {
    for (const path of ['/.well-known/jwks.json', '/health/live']) {
      const usage = await counts(path);
      expect([
        path,
        usage.primaryCalls + usage.replicaCalls + usage.kvReads + usage.kvWrites,
      ]).toEqual([path, 0]);
    }
  });

  it('GET /users/me: no primary round trip', async () => {
    const { tokens } = await signedIn();
    const usage = await counts('/users/me', bearer(tokens.access_token));
    expect(usage.primarySequential).toBe(0);
    expect(usage.replicaSequential).toBeLessThanOrEqual(1);
  });

  it('refresh: one primary round trip (the rotation batch)', async () => {
    const { tokens } = await signedInOnMainDb();
    const usage = await counts('/auth/refresh', json({ refresh_token: tokens.refresh_token }));
    expect(pick(usage)).toEqual({
      primarySequential: 1,
      replicaSequential: 0,
      d1WriteStatements: 4,
    });
  });

  it('login: two primary round trips', async () => {
    const { email } = await signedInOnMainDb();
    const usage = await counts('/auth/login', json({ email, password: PASSWORD }));
    expect(pick(usage)).toEqual({
      primarySequential: 2,
      replicaSequential: 0,
      // The session and its refresh token, the user's shard and latest session (src/shards),
      // the rehash-if-needed, the failure reset and the audit row.
      d1WriteStatements: 6,
    });
  });

  it('pages: GET /sign-in none, GET /account (signed in) one replica round trip', async () => {
    expect(pick(await counts('/sign-in'))).toEqual({
      primarySequential: 0,
      replicaSequential: 0,
      d1WriteStatements: 0,
    });
    const { email } = await signedIn();
    const b = new Browser();
    await b.get('/sign-in');
    await b.post('/sign-in', { email, password: PASSWORD });
    const usage = emptyUsage();
    expect((await b.get('/account', geoBindings(env, usage))).status).toBe(200);
    expect(pick(usage)).toEqual({
      primarySequential: 0,
      replicaSequential: 1,
      d1WriteStatements: 0,
    });
  });

  it('sessions list: one replica round trip; an admin read: the role on the primary, data on a replica', async () => {
    const { tokens } = await signedIn();
    expect(pick(await counts('/users/me/sessions', bearer(tokens.access_token)))).toEqual({
      primarySequential: 0,
      replicaSequential: 1,
      d1WriteStatements: 0,
    });
    const admin = await signedInAdmin();
    expect(pick(await counts('/admin/users', bearer(admin.tokens.access_token)))).toEqual({
      primarySequential: 1,
      replicaSequential: 1,
      d1WriteStatements: 0,
    });
  });
});
