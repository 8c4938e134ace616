import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  me,
  refresh,
  register,
  signedIn,
  signedInAdmin,
  uniqueEmail,
  type Tokens,
  withBearer,
} from '../helpers';

const decode = (jwt: string) =>
  JSON.parse(atob(jwt.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/')));
const patch = (token: string, id: string, body: unknown) =>
  call(`/admin/users/${id}`, withBearer(token, { ...json(body), method: 'PATCH' }));

const newAdmin = signedInAdmin;
/** Demotes every admin except the given ones, so guard tests start from a known set. */
async function onlyAdmins(...ids: string[]) {
  await env.DB.prepare(
    `UPDATE users SET role = 'user' WHERE role = 'admin' AND id NOT IN (${ids.map(() => '?').join(',')})`,
  )
    .bind(...ids)
    .run();
}

describe('admin routes: 401 / 403 / 200', () => {
  it.each([
    ['GET', '/admin/stats', undefined],
    ['GET', '/admin/users', undefined],
    ['GET', '/admin/users/{id}', undefined],
    ['PATCH', '/admin/users/{id}', { role: 'user' }],
    ['DELETE', '/admin/users/{id}/sessions', undefined],
    ['GET', '/admin/audit', undefined],
  ])('%s %s', async (method, path, body) => {
    const admin = await newAdmin();
    const user = await signedIn();
    const url = path.replace('{id}', user.user.id);
    const init = (token?: string): RequestInit => ({
      method,
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    await expectProblem(await call(url, init()), 401, 'unauthorized');
    await expectProblem(await call(url, init('not-a-token')), 401, 'unauthorized');
    await expectProblem(await call(url, init(user.tokens.access_token)), 403, 'forbidden');
    expect((await call(url, init(admin.tokens.access_token))).status).toBeLessThan(300);
  });
});

describe('GET /admin/users', () => {
  it('walks every user exactly once while users are being added', async () => {
    const admin = await newAdmin();
    for (let i = 0; i < 7; i++) await register(uniqueEmail('walk'));
    const existing = (
      await env.DB.prepare('SELECT id FROM users').all<{ id: string }>()
    ).results.map((r) => r.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call(
        `/admin/users?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        withBearer(admin.tokens.access_token),
      );
      const page = (await res.json()) as { users: { id: string }[]; next_cursor: string | null };
      seen.push(...page.users.map((u) => u.id));
      cursor = page.next_cursor;
      await register(uniqueEmail('during-walk')); // inserted between pages
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
  });

  it('searches email and name, taking % and _ literally, and validates limit', async () => {
    const admin = await newAdmin();
    const tag = `needle${Date.now()}`;
    await register(uniqueEmail(tag));
    await register(uniqueEmail('other'), PASSWORD, `Ms ${tag.toUpperCase()}`);
    const search = async (q: string) =>
      (
        (await (
          await call(
            `/admin/users?q=${encodeURIComponent(q)}`,
            withBearer(admin.tokens.access_token),
          )
        ).json()) as { users: unknown[] }
      ).users.length;
    expect(await search(tag)).toBe(2);
    expect(await search('%')).toBe(0);
    expect(await search('_')).toBe(0);
    expect(await search("' OR 1=1 --")).toBe(0);
    for (const limit of ['0', '101', 'x']) {
      await expectProblem(
        await call(`/admin/users?limit=${limit}`, withBearer(admin.tokens.access_token)),
        422,
        'validation_failed',
      );
    }
  });
});

describe('PATCH /admin/users/{id}', () => {
  it('disabling cuts the user’s live access token and refresh token at once, and is audited', async () => {
    const admin = await newAdmin();
    const victim = await signedIn();
    const res = await patch(admin.tokens.access_token, victim.user.id, { disabled: true });
    expect(await res.json()).toMatchObject({ id: victim.user.id, disabled: true });
    await expectProblem(await me(victim.tokens.access_token), 401, 'unauthorized');
    await expectProblem(await refresh(victim.tokens.refresh_token), 401, 'invalid_refresh_token');
    await expectProblem(
      await call('/auth/login', json({ email: victim.email, password: PASSWORD })),
      403,
      'account_disabled',
    );
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'user.disabled' AND user_id = ?",
    )
      .bind(victim.user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toEqual({ by: admin.user.id });
    expect(
      await (await patch(admin.tokens.access_token, victim.user.id, { disabled: false })).json(),
    ).toMatchObject({ disabled: false });
    expect(
      (await call('/auth/login', json({ email: victim.email, password: PASSWORD }))).status,
    ).toBe(200);
  });

  it('a demotion shows in the role claim at the next refresh', async () => {
    const admin = await newAdmin();
    const other = await newAdmin();
    const res = await patch(admin.tokens.access_token, other.user.id, { role: 'user' });
    expect(await res.json()).toMatchObject({ role: 'user' });
    const next = (await (await refresh(other.tokens.refresh_token)).json()) as Tokens;
    expect(decode(next.access_token).role).toBe('user');
    await expectProblem(
      await call('/admin/stats', withBearer(next.access_token)),
      403,
      'forbidden',
    );
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'user.role_changed' AND user_id = ?",
    )
      .bind(other.user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toEqual({ by: admin.user.id, from: 'admin', to: 'user' });
  });

  it('refuses to demote or disable the last active admin with 409, changing nothing', async () => {
    const admin = await newAdmin();
    await onlyAdmins(admin.user.id);
    await expectProblem(
      await patch(admin.tokens.access_token, admin.user.id, { role: 'user' }),
      409,
      'last_admin',
    );
    await expectProblem(
      await patch(admin.tokens.access_token, admin.user.id, { disabled: true }),
      409,
      'last_admin',
    );
    expect((await me(admin.tokens.access_token)).status).toBe(200);
    const row = await env.DB.prepare('SELECT role, disabled_at FROM users WHERE id = ?')
      .bind(admin.user.id)
      .first();
    expect(row).toEqual({ role: 'admin', disabled_at: null });
  });

  it('keeps one admin when the last two demote each other concurrently', async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    await onlyAdmins(a.user.id, b.user.id);
    const [ra, rb] = await Promise.all([
      patch(a.tokens.access_token, b.user.id, { role: 'user' }),
      patch(b.tokens.access_token, a.user.id, { disabled: true }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const { n } = (await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL",
    ).first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('answers 404 for an unknown user and 422 for a bad role', async () => {
    const admin = await newAdmin();
    await expectProblem(
      await patch(admin.tokens.access_token, crypto.randomUUID(), { role: 'user' }),
      404,
      'not_found',
    );
    await expectProblem(
      await patch(admin.tokens.access_token, admin.user.id, { role: 'root' }),
      422,
      'validation_failed',
    );
  });
});

describe('the other admin routes', () => {
  it('DELETE /admin/users/{id}/sessions revokes every session and is audited', async () => {
    const admin = await newAdmin();
    const victim = await signedIn();
    const second = await login(victim.email);
    expect(
      (
        await call(
          `/admin/users/${victim.user.id}/sessions`,
          withBearer(admin.tokens.access_token, { method: 'DELETE' }),
        )
      ).status,
    ).toBe(204);
    for (const t of [victim.tokens, second]) {
      expect((await me(t.access_token)).status).toBe(401);
      expect((await refresh(t.refresh_token)).status).toBe(401);
    }
    const event = await env.DB.prepare(
      "SELECT detail FROM audit_events WHERE type = 'sessions.revoked_by_admin' AND user_id = ?",
    )
      .bind(victim.user.id)
      .first<{ detail: string }>();
    expect(JSON.parse(event!.detail)).toEqual({ by: admin.user.id });
  });

  it('GET /admin/users/{id} shows disabled and locked_until', async () => {
    const admin = await newAdmin();
    const { email, user } = await register();
    for (let i = 0; i < 5; i++)
      await call('/auth/login', json({ email, password: 'wrong password!!' }));
    const res = await call(`/admin/users/${user.id}`, withBearer(admin.tokens.access_token));
    const body = (await res.json()) as { disabled: boolean; locked_until: string | null };
    expect(body.disabled).toBe(false);
    expect(Date.parse(body.locked_until!)).toBeGreaterThan(Date.now());
  });

  it('GET /admin/audit filters by user and type and pages newest first', async () => {
    const admin = await newAdmin();
    const { email, user } = await register();
    for (let i = 0; i < 3; i++)
      await call('/auth/login', json({ email, password: 'wrong password!!' }));
    const first = (await (
      await call(
        `/admin/audit?user_id=${user.id}&type=login.failed&limit=2`,
        withBearer(admin.tokens.access_token),
      )
    ).json()) as {
      events: { id: string; type: string; user_id: string; detail: Record<string, unknown> }[];
      next_cursor: string;
    };
    expect(first.events.map((e) => e.type)).toEqual(['login.failed', 'login.failed']);
    expect(first.events[0]!.detail).toMatchObject({ email, attempt: 3 });
    const second = (await (
      await call(
        `/admin/audit?user_id=${user.id}&type=login.failed&limit=2&cursor=${first.next_cursor}`,
        withBearer(admin.tokens.access_token),
      )
    ).json()) as {
      events: { detail: { attempt: number } }[];
      next_cursor: string | null;
    };
    expect(second.events.map((e) => e.detail.attempt)).toEqual([1]);
    expect(second.next_cursor).toBeNull();
  });

  it('GET /admin/stats counts users, sessions and logins', async () => {
    const admin = await newAdmin();
    const res = await call('/admin/stats', withBearer(admin.tokens.access_token));
    const body = (await res.json()) as {
      users: Record<string, number>;
      sessions: { active: number };
      logins_24h: Record<string, number>;
    };
    const { n } = (await env.DB.prepare('SELECT COUNT(*) AS n FROM users').first<{ n: number }>())!;
    expect(body.users.total).toBe(n);
    expect(body.users.admins).toBeGreaterThanOrEqual(1);
    expect(body.sessions.active).toBeGreaterThanOrEqual(1);
    expect(body.logins_24h.succeeded).toBeGreaterThanOrEqual(1);
  });
});

/** Every admin route of the OpenAPI document, with a path that names `id`. */
async function adminRoutes(id: string) {
  const doc = (await (await call('/openapi.json')).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/admin/'))
    .flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => ({
        method: method.toUpperCase(),
        url: path.replace('{id}', id),
      })),
    );
}
const bodies: Record<string, unknown> = { PATCH: { role: 'admin' } };
const asAdmin = (token: string, method: string): RequestInit =>
  withBearer(token, bodies[method] ? { ...json(bodies[method]), method } : { method });

describe('admin routes authorise on the role stored now (THREATS K14)', () => {
  it('refuse a demoted admin’s old token with 403 on every admin route, at once', async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    // B demotes A; A's access token still says `role: admin` and has not expired.
    expect((await patch(b.tokens.access_token, a.user.id, { role: 'user' })).status).toBe(200);
    expect(decode(a.tokens.access_token).role).toBe('admin');
    const routes = await adminRoutes(b.user.id);
    expect(routes.length).toBeGreaterThanOrEqual(7);
    for (const { method, url } of routes) {
      const res = await call(url, asAdmin(a.tokens.access_token, method));
      await expectProblem(res, 403, 'forbidden');
    }
    // So A could not re-promote itself or demote B: both are as B left them.
    const roles = await env.DB.prepare('SELECT id, role FROM users WHERE id IN (?, ?)')
      .bind(a.user.id, b.user.id)
      .all<{ id: string; role: string }>();
    expect(Object.fromEntries(roles.results.map((r) => [r.id, r.role]))).toEqual({
      [a.user.id]: 'user',
      [b.user.id]: 'admin',
    });
    // Each refusal is audited.
    const denied = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE type = 'access.denied' AND user_id = ?",
    )
      .bind(a.user.id)
      .first<{ n: number }>();
    expect(denied!.n).toBe(routes.length);
  });

  it('cuts the demoted admin’s access tokens at the worker; the next refresh carries the new role', async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    await patch(b.tokens.access_token, a.user.id, { role: 'user' });
    await expectProblem(await me(a.tokens.access_token), 401, 'unauthorized');
    const next = (await (await refresh(a.tokens.refresh_token)).json()) as Tokens;
    expect(decode(next.access_token).role).toBe('user');
    expect((await me(next.access_token)).status).toBe(200);
  });

  it('lets a promoted user’s old token refresh into the admin role (401, not 403, first)', async () => {
    const admin = await newAdmin();
    const user = await signedIn();
    await patch(admin.tokens.access_token, user.user.id, { role: 'admin' });
    await expectProblem(
      await call('/admin/stats', withBearer(user.tokens.access_token)),
      401,
      'unauthorized',
    );
    const next = (await (await refresh(user.tokens.refresh_token)).json()) as Tokens;
    expect(decode(next.access_token).role).toBe('admin');
    expect((await call('/admin/stats', withBearer(next.access_token))).status).toBe(200);
  });

  it('keeps an earlier cut when a later one keeps a session (a password change after a demotion)', async () => {
    const a = await newAdmin();
    const b = await newAdmin();
    const other = await login(a.email);
    await patch(b.tokens.access_token, a.user.id, { role: 'user' });
    // A changes the password from a session refreshed after the demotion: that session is kept,
    // but the tokens the demotion cut stay cut, the kept session's old one included.
    const fresh = (await (await refresh(other.refresh_token)).json()) as Tokens;
    const change = await call(
      '/users/me/password',
      withBearer(
        fresh.access_token,
        json({ current_password: PASSWORD, new_password: 'a brand new passphrase' }),
      ),
    );
    expect(change.status).toBe(204);
    expect((await me(fresh.access_token)).status).toBe(200);
    await expectProblem(await me(other.access_token), 401, 'unauthorized');
    await expectProblem(await me(a.tokens.access_token), 401, 'unauthorized');
  });
});

describe('admin cursors', () => {
  it.each(['/admin/users', '/admin/audit'])(
    '%s answers 422 for a malformed cursor, never page 1',
    async (path) => {
      const admin = await newAdmin();
      for (const cursor of ['garbage', 'null', 'AAAA', btoa('not-a-uuid'), '%FF', 'x'.repeat(50)]) {
        const res = await call(`${path}?cursor=${cursor}`, withBearer(admin.tokens.access_token));
        const body = await expectProblem(res, 422, 'validation_failed');
        expect(body.errors).toEqual([expect.objectContaining({ path: 'cursor' })]);
      }
      // An empty cursor is the first page, and a cursor the API returned works.
      const first = await call(`${path}?limit=1&cursor=`, withBearer(admin.tokens.access_token));
      const page = (await first.json()) as { next_cursor: string };
      expect(page.next_cursor).toEqual(expect.any(String));
      const next = await call(
        `${path}?limit=1&cursor=${page.next_cursor}`,
        withBearer(admin.tokens.access_token),
      );
      expect(next.status).toBe(200);
    },
  );
});
