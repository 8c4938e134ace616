// D1 read replication (src/replicas): which calls of which routes go to the primary, to a
// replica, or to KV, counted by the bench's own latency model (bench/geo/model.ts) around the
// real bindings; the bookmark's round trip; and read-your-writes through the API and the pages.
// Local D1 has no replicas, so what is checked is where the worker SENDS each call: the session
// it starts, from which bookmark, and that no write ever goes through a read session.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { emptyUsage, geoBindings, type GeoUsage } from '../../bench/geo/model';
import { users } from '../../src/db/schema';
import type { AppEnv } from '../../src/env';
import { replication } from '../../src/replicas/bookmark';
import { readDb, WriteOnReplica } from '../../src/replicas/read-db';
import { requestContext } from '../../src/middleware/context';
import { guardBindings } from '../../src/storage-guard';
import {
  bearer,
  call,
  json,
  PASSWORD,
  register,
  signedIn,
  signedInAdmin,
  withBearer,
} from '../helpers';
import { Browser } from '../pages/browser';

/** One request through the real worker with the model's bindings: its status, usage, response. */
async function through(
  path: string,
  init: RequestInit = {},
  real: { DB: D1Database; KV: KVNamespace } = env,
) {
  await call('/.well-known/jwks.json'); // the isolate's key ring, read once per TTL, not counted
  const usage = emptyUsage();
  const res = await call(path, init, geoBindings(real, usage));
  const body = await res.text();
  return { res, body, usage };
}

const patchName = (token: string, name: string) =>
  withBearer(token, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });

/**
 * `env` whose sessions started from `constraint` answer every statement with `answer` (a
 * production D1's refusal of a bookmark, a replica that is behind): a local D1 has no replicas.
 */
function sessionsAnswering(constraint: string, answer: (method: string) => Promise<unknown>) {
  const DB = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === 'withSession') {
        return (c?: string) => {
          if (c !== constraint) return target.withSession(c);
          const statement = {
            bind: () => statement,
            first: () => answer('first'),
            all: () => answer('all'),
            raw: () => answer('raw'),
            run: () => answer('run'),
          };
          return {
            prepare: () => statement,
            batch: () => answer('batch'),
            getBookmark: () => null,
          };
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { DB, KV: env.KV };
}

/** No read session anywhere: every session this request made was a one-call primary one. */
const primaryOnly = (usage: GeoUsage) => {
  expect(usage.sessions.every((s) => s === 'first-primary')).toBe(true);
  expect(usage.replicaCalls).toBe(0);
};

describe('read-only routes read a replica', () => {
  it('GET /users/me: no primary round trip', async () => {
    const { tokens } = await signedIn();
    const { res, usage } = await through('/users/me', bearer(tokens.access_token));
    expect(res.status).toBe(200);
    expect(usage.primaryCalls).toBe(0);
    expect(usage.sessions).toEqual(['first-unconstrained']);
  });

  it('GET /users/me/sessions and the export: no primary read', async () => {
    const { tokens } = await signedIn();
    const list = await through('/users/me/sessions', bearer(tokens.access_token));
    expect(list.res.status).toBe(200);
    expect(list.usage.primaryCalls).toBe(0);
    expect(list.usage.replicaCalls).toBeGreaterThan(0);
    // The export writes its audit event on the primary, then reads everything from a replica at
    // that write's bookmark (so the event it just wrote is in it).
    const exported = await through('/users/me/export', bearer(tokens.access_token));
    expect(exported.res.status).toBe(200);
    expect(exported.usage.primaryCalls).toBe(1);
    expect(exported.usage.d1Writes).toBe(1);
    expect(exported.body).toContain('account.exported');
    expect(exported.usage.sessions.at(-1)).toMatch(/^[0-9a-f]+-/);
  });

  it('admin reads: the role check on the primary (THREATS K14), the data from a replica', async () => {
    const { tokens, user } = await signedInAdmin();
    for (const path of [
      '/admin/users',
      `/admin/users/${user.id}`,
      '/admin/audit',
      '/admin/stats',
    ]) {
      const { res, usage } = await through(path, bearer(tokens.access_token));
      expect([path, res.status]).toEqual([path, 200]);
      expect([path, usage.primaryCalls]).toEqual([path, 1]);
      expect([path, usage.replicaCalls > 0]).toEqual([path, true]);
    }
  });

  it('GET /account (signed in): one replica batch, no primary round trip', async () => {
    const { b } = await signedInBrowser();
    const usage = emptyUsage();
    const res = await b.get('/account', geoBindings(env, usage));
    expect(res.status).toBe(200);
    expect(usage.primaryCalls).toBe(0);
    expect(usage.replicaCalls).toBe(1);
  });
});

describe('writes and security decisions stay on the primary', () => {
  it('login, refresh, PATCH /users/me and a page form post make no read session', async () => {
    const { email, tokens } = await signedIn();
    const login = await through('/auth/login', json({ email, password: PASSWORD }));
    expect(login.res.status).toBe(200);
    primaryOnly(login.usage);
    const rotated = await through('/auth/refresh', json({ refresh_token: tokens.refresh_token }));
    expect(rotated.res.status).toBe(200);
    primaryOnly(rotated.usage);
    const patched = await through('/users/me', patchName(tokens.access_token, 'Primary'));
    expect(patched.res.status).toBe(200);
    primaryOnly(patched.usage);

    const { b } = await signedInBrowser();
    const usage = emptyUsage();
    const posted = await b.post(
      '/account/name',
      { name: 'Form' },
      {
        overrides: geoBindings(env, usage),
      },
    );
    expect(posted.status).toBe(303);
    primaryOnly(usage);
  });

  it('the read helper refuses a write, and on a POST it is the primary', async () => {
    const app = new Hono<AppEnv>()
      .use(requestContext, replication)
      .onError((err, c) => c.text(err instanceof WriteOnReplica ? 'refused' : String(err), 500))
      .all('/probe', async (c) => {
        await readDb(c).update(users).set({ name: 'x' }).where(eq0());
        return c.text('wrote');
      });
    const usage = emptyUsage();
    const bindings = guardBindings({ ...env, ...geoBindings(env, usage) } as Env);
    const get = await app.request('/probe', {}, bindings);
    expect([get.status, await get.text()]).toEqual([500, 'refused']);
    expect(usage.d1Writes).toBe(0);
    const post = await app.request('/probe', { method: 'POST' }, bindings);
    expect([post.status, await post.text()]).toEqual([200, 'wrote']);
    expect(usage.sessions).toEqual(['first-primary']);
  });
});

// A WHERE that matches no row (the probe must not change anyone's name).
const eq0 = () => sql`0`;

describe('the bookmark', () => {
  it('round-trips: a write hands it back, and the next read starts its session from it', async () => {
    const { tokens } = await signedIn();
    const patched = await call('/users/me', patchName(tokens.access_token, 'Read Your Writes'));
    expect(patched.status).toBe(200);
    const bookmark = patched.headers.get('X-D1-Bookmark');
    expect(bookmark).toMatch(/^[0-9a-f]+(-[0-9a-f]+)+$/);
    // API responses keep exactly the contract's cookies.
    expect(patched.headers.get('Set-Cookie')).toBeNull();

    // GET /users/me answers this user from the profile cache the PATCH wrote (src/profile); the
    // export reads D1, so it shows where the read starts.
    const read = await through(
      '/users/me/export',
      withBearer(tokens.access_token, { headers: { 'X-D1-Bookmark': bookmark! } }),
    );
    // Its reads start from the bookmark; the export then audits itself on the primary.
    expect(read.usage.sessions[0]).toBe(bookmark);
    expect(JSON.parse(read.body).profile).toMatchObject({ name: 'Read Your Writes' });
    // The response carries a bookmark at least as new as the one presented.
    expect(read.res.headers.get('X-D1-Bookmark')! >= bookmark!).toBe(true);
  });

  it('no bookmark: the read starts anywhere', async () => {
    const { tokens } = await signedIn();
    const { usage } = await through('/users/me/sessions', bearer(tokens.access_token));
    expect(usage.sessions).toEqual(['first-unconstrained']);
  });

  it.each([
    'not-a-bookmark',
    'first-primary',
    "0000'; DROP TABLE users; --",
    `${'0'.repeat(8)}-${'f'.repeat(200)}`,
    '',
  ])('a malformed bookmark %j is ignored: first-unconstrained, no error', async (bad) => {
    const { tokens } = await signedIn();
    const { res, usage } = await through(
      '/users/me/sessions',
      withBearer(tokens.access_token, { headers: { 'X-D1-Bookmark': bad } }),
    );
    expect(res.status).toBe(200);
    expect(usage.sessions).toEqual(['first-unconstrained']);
  });

  it('a well-formed bookmark D1 refuses: the request reads the primary instead of failing', async () => {
    const { tokens } = await signedIn();
    const forged = 'ffffffff-ffffffff-ffffffff-00000000000000000000000000000000';
    // D1 answers a bookmark it cannot serve with an error (a local D1 does not check them).
    const refusing = sessionsAnswering(forged, () =>
      Promise.reject(new Error('D1_ERROR: invalid bookmark')),
    );
    const { res, usage } = await through(
      '/users/me/sessions',
      withBearer(tokens.access_token, { headers: { 'X-D1-Bookmark': forged } }),
      refusing,
    );
    expect(res.status).toBe(200);
    expect(usage.sessions).toEqual([forged, 'first-primary']);
  });

  it('a user the replica does not know yet (no bookmark sent) is confirmed on the primary', async () => {
    // A replica behind the primary: it answers "no such user" for a brand-new account.
    const { email } = await register();
    const tokens = await (await call('/auth/login', json({ email, password: PASSWORD }))).json();
    const nothing: Record<string, unknown> = {
      first: null,
      raw: [],
      all: { success: true, results: [], meta: {} },
      batch: [],
    };
    const behind = sessionsAnswering('first-unconstrained', async (method) => nothing[method]);
    const { res } = await through(
      '/users/me',
      bearer((tokens as { access_token: string }).access_token),
      behind,
    );
    expect(res.status).toBe(200);
  });
});

async function signedInBrowser() {
  const account = await register();
  const b = new Browser();
  await b.get('/sign-in');
  const signIn = await b.post('/sign-in', { email: account.email, password: PASSWORD });
  return { b, account, signIn };
}

describe('read-your-writes through the pages', () => {
  it('sign-in and a form post set the bookmark cookie; the next page reads from it', async () => {
    const { b, signIn } = await signedInBrowser();
    expect(signIn.status).toBe(303);
    expect(signIn.headers.get('Set-Cookie')).toMatch(
      /__Host-d1_bookmark=[0-9a-f-]+; Path=\/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax/,
    );
    const posted = await b.post('/account/name', { name: 'Seen At Once' });
    expect(posted.status).toBe(303);
    const cookie = b.cookies.get('__Host-d1_bookmark');
    expect(cookie).toMatch(/^[0-9a-f]+(-[0-9a-f]+)+$/);

    const usage = emptyUsage();
    const page = await b.get('/account', geoBindings(env, usage));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Seen At Once');
    expect(usage.sessions).toEqual([cookie]);
    expect(usage.primaryCalls).toBe(0);
    // A page view that only read sets no cookie.
    expect(page.headers.get('Set-Cookie')).toBeNull();
  });
});
