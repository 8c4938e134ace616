// The profile cache of GET /users/me (src/profile): no D1 call on a warm cache, and the cache
// never outlives a write, a deletion or a disabling of the account it holds.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger';
import { cachedProfile, fillProfile, profileKeys } from '../../src/profile/cache';
import type { UserRow } from '../../src/db/schema';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  me,
  signedIn,
  signedInAdmin,
  withBearer,
} from '../helpers';
import { faultyBindings } from '../resilience/faulty-bindings';
import { cacheOf, forgetRevocations, meCounted } from './helpers';

const log = createLogger('silent', {});
const rowOf = (id: string) =>
  env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(id).first<Record<string, unknown>>();
/** A users row as drizzle returns it (camelCase), from D1 as it is now. */
async function userRow(id: string): Promise<UserRow> {
  const r = (await rowOf(id))!;
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    passwordHash: r.password_hash,
    role: r.role,
    emailVerifiedAt: r.email_verified_at,
    totpSecret: r.totp_secret,
    totpKeyVersion: r.totp_key_version,
    totpEnabledAt: r.totp_enabled_at,
    totpLastStep: r.totp_last_step,
    disabledAt: r.disabled_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  } as UserRow;
}
const patchName = (token: string, name: string) =>
  call('/users/me', withBearer(token, { ...json({ name }), method: 'PATCH' }));

describe('GET /users/me, profile cache', () => {
  it('reads D1 once on a miss, then answers from the one KV bulk get with no D1 call', async () => {
    const { user, tokens } = await signedIn();
    const miss = await meCounted(tokens.access_token);
    expect([miss.status, miss.d1]).toEqual([200, 1]);
    const hit = await meCounted(tokens.access_token);
    expect([hit.status, hit.d1]).toEqual([200, 0]);
    expect(hit.kv).toHaveLength(1);
    expect(hit.kv[0]).toMatch(/^get revoked:session:.*revoked:user:.*profile:/);
    expect(hit.body).toEqual(miss.body);
    expect(hit.body.id).toBe(user.id);
  });

  it('fills the cache on a miss with the user object only: no hash, no secret', async () => {
    const { user, tokens } = await signedIn();
    expect(await cacheOf(user.id)).toEqual({ written: null, fill: null });
    await me(tokens.access_token);
    const { fill } = await cacheOf(user.id);
    expect(Object.keys(fill as object).sort()).toEqual(['disabled', 'user', 'v']);
    expect(Object.keys((fill as { user: object }).user).sort()).toEqual(
      ['created_at', 'email', 'email_verified', 'id', 'mfa_enabled', 'name', 'role'].sort(),
    );
    expect(JSON.stringify(fill)).not.toMatch(/pbkdf2|password|totp/i);
  });

  it('a fill read from D1 before a write and put after it cannot hide the write', async () => {
    const { user, tokens } = await signedIn();
    await me(tokens.access_token);
    // A reader read the row, then this user's PATCH committed and cached, then the reader's put.
    const stale = await userRow(user.id);
    expect((await patchName(tokens.access_token, 'Fresh')).status).toBe(200);
    await fillProfile(env.KV, stale, log);
    const after = await meCounted(tokens.access_token);
    expect([after.status, after.body.name, after.d1]).toEqual([200, 'Fresh', 0]);
  });

  it('of a read that misses and a write in parallel, the write is what the user reads next', async () => {
    const { user, tokens } = await signedIn();
    for (let i = 0; i < 5; i++) {
      await env.KV.delete(`profile:fill:${user.id}`);
      await env.KV.delete(`profile:${user.id}`);
      const [, written] = await Promise.all([
        me(tokens.access_token),
        patchName(tokens.access_token, `Name ${i}`),
      ]);
      expect(written.status).toBe(200);
      expect(((await (await me(tokens.access_token)).json()) as { name: string }).name).toBe(
        `Name ${i}`,
      );
    }
  });

  it('a deleted account stays gone, even where its cut-off has not arrived and a stale fill has', async () => {
    const { user, tokens } = await signedIn();
    await me(tokens.access_token);
    const before = await userRow(user.id);
    const res = await call(
      '/users/me/delete',
      withBearer(tokens.access_token, json({ password: PASSWORD })),
    );
    expect(res.status).toBe(204);
    expect((await cacheOf(user.id)).written).toEqual({ gone: true });
    await fillProfile(env.KV, before, log);
    await forgetRevocations(user.id, tokens.session_id);
    const after = await meCounted(tokens.access_token);
    expect([after.status, after.d1]).toEqual([401, 0]);
  });

  it('a disabled user gets 401, from the cache too where the cut-off has not arrived', async () => {
    const admin = await signedInAdmin();
    const { user, tokens } = await signedIn();
    await me(tokens.access_token);
    const res = await call(
      `/admin/users/${user.id}`,
      withBearer(admin.tokens.access_token, { ...json({ disabled: true }), method: 'PATCH' }),
    );
    expect(res.status).toBe(200);
    await expectProblem(await me(tokens.access_token), 401, 'unauthorized');
    await forgetRevocations(user.id, tokens.session_id);
    const after = await meCounted(tokens.access_token);
    expect([after.status, after.body.code, after.d1]).toEqual([401, 'unauthorized', 0]);
  });

  it('with REQUIRE_ADMIN_MFA, an admin without TOTP is refused even when the cache is warm', async () => {
    const admin = await signedInAdmin();
    expect((await me(admin.tokens.access_token)).status).toBe(200);
    const res = await call('/users/me', withBearer(admin.tokens.access_token), {
      REQUIRE_ADMIN_MFA: 'true',
    });
    await expectProblem(res, 403, 'forbidden');
  });

  it('is 503 when the one KV read fails, as the bearer check is', async () => {
    const { tokens } = await signedIn();
    await me(tokens.access_token);
    const res = await meCounted(tokens.access_token, { at: 1, mode: 'fail' });
    expect([res.status, res.body.code, res.d1]).toEqual([503, 'service_unavailable', 0]);
  });

  it('answers from D1 when the fill cannot be written', async () => {
    const { user, tokens } = await signedIn();
    const res = await meCounted(tokens.access_token, { at: 3, mode: 'fail' });
    expect([res.status, res.body.id]).toEqual([200, user.id]);
    expect(res.kv[1]).toMatch(/^put profile:fill:/);
    expect((await cacheOf(user.id)).fill).toBeNull();
  });

  it('keeps a PATCH that committed when its cache write fails', async () => {
    const { user, tokens } = await signedIn();
    await call('/.well-known/jwks.json');
    // 1 KV get (bearer), 2 D1 read (signedInUser), 3 D1 update, 4 KV put of the written profile.
    const { bindings, calls } = faultyBindings(env, { at: 4, mode: 'fail' });
    const res = await call(
      '/users/me',
      withBearer(tokens.access_token, { ...json({ name: 'Kept' }), method: 'PATCH' }),
      bindings,
    );
    expect(res.status).toBe(200);
    expect(calls[3]).toMatchObject({ store: 'KV', op: 'put', faulted: 'fail' });
    expect((await rowOf(user.id))!.name).toBe('Kept');
  });

  it('takes an unreadable cache entry for a miss', async () => {
    const { user, tokens } = await signedIn();
    await env.KV.put(`profile:fill:${user.id}`, '{not json', { expirationTtl: 60 });
    await env.KV.put(`profile:${user.id}`, '{"v":"x"}', { expirationTtl: 60 });
    const res = await meCounted(tokens.access_token);
    expect([res.status, res.body.id, res.d1]).toEqual([200, user.id, 1]);
  });

  it('serves a signed-out session no profile from the cache', async () => {
    const { tokens } = await signedIn();
    await me(tokens.access_token);
    const out = await call(
      '/auth/logout',
      withBearer(tokens.access_token, json({ refresh_token: tokens.refresh_token })),
    );
    expect(out.status).toBe(204);
    const after = await meCounted(tokens.access_token);
    expect([after.status, after.d1]).toEqual([401, 0]);
  });
});

describe('cachedProfile', () => {
  const id = 'u1';
  const entry = (v: number, name: string) =>
    JSON.stringify({ v, user: { id, name }, disabled: false });
  const read = (written: string | null, fill: string | null) => {
    const [w, f] = profileKeys(id);
    return cachedProfile(
      new Map([
        [w!, written],
        [f!, fill],
      ]),
      id,
    );
  };
  const nameOf = (p: ReturnType<typeof read>) =>
    p && 'user' in p ? p.user.name : p && 'gone' in p ? 'gone' : null;

  it('takes the newer of the written and the filled entry, the written one on a tie', () => {
    expect(nameOf(read(entry(2, 'written'), entry(1, 'fill')))).toBe('written');
    expect(nameOf(read(entry(2, 'written'), entry(2, 'fill')))).toBe('written');
    expect(nameOf(read(entry(1, 'written'), entry(2, 'fill')))).toBe('fill');
    expect(nameOf(read(null, entry(1, 'fill')))).toBe('fill');
    expect(nameOf(read(entry(1, 'written'), null))).toBe('written');
    expect(read(null, null)).toBeNull();
  });

  it('lets a deletion win over any fill', () => {
    expect(nameOf(read(JSON.stringify({ gone: true }), entry(9e15, 'fill')))).toBe('gone');
    expect(read(null, JSON.stringify({ gone: true }))).toBeNull();
  });
});
