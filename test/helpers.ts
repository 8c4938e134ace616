import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import worker from '../src/index';

export const ORIGIN = 'https://app.example.com';

/**
 * Sends a request through the worker's real `fetch` with the real D1 and KV bindings. `overrides`
 * replaces env entries (a var, a broken binding) for this request only.
 */
export async function call(
  path: string,
  init: RequestInit = {},
  overrides?: Record<string, unknown>,
): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`https://auth.test${path}`, init);
  const bindings = overrides ? ({ ...env, ...overrides } as Env) : env;
  const response = await worker.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function json(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export async function expectProblem(res: Response, status: number, code: string) {
  const { expect } = await import('vitest');
  expect(res.headers.get('Content-Type')).toBe('application/problem+json');
  const body = (await res.json()) as {
    status: number;
    code: string;
    title: string;
    detail: string;
    [member: string]: unknown;
  };
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(body.status).toBe(status);
  return body;
}

export const PASSWORD = 'correct horse battery staple';

export type Tokens = {
  access_token: string;
  refresh_token: string;
  session_id: string;
  expires_in: number;
  refresh_expires_in: number;
  token_type: string;
};

let counter = 0;
/** A unique, valid address for this test file's isolated storage. */
export const uniqueEmail = (tag = 'user') => `${tag}.${Date.now()}.${++counter}@example.com`;

export async function register(email = uniqueEmail(), password = PASSWORD, name?: string) {
  const res = await call('/auth/register', json({ email, password, name }));
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return { email, password, user: (await res.json()) as { id: string; email: string } };
}

export async function login(
  email: string,
  password = PASSWORD,
  headers: Record<string, string> = {},
) {
  const res = await call('/auth/login', json({ email, password }, headers));
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Tokens;
}

/** A registered user with one signed-in session. */
export async function signedIn() {
  const account = await register();
  return { ...account, tokens: await login(account.email) };
}

/** What the development mailbox holds for `email`, newest first. */
export async function mailTo(email: string) {
  const res = await call('/dev/mailbox.json');
  const { messages } = (await res.json()) as {
    messages: { to: string; subject: string; text: string }[];
  };
  return messages.filter((m) => m.to === email);
}

/** The token of the newest mailed link to `page` (`reset-password`, `verify-email`) for `email`. */
export async function mailedToken(email: string, page: string) {
  const link = new RegExp(`${page}\\?token=([\\w-]+)`);
  for (const m of await mailTo(email)) {
    const token = link.exec(m.text)?.[1];
    if (token) return token;
  }
  throw new Error(`no ${page} link was mailed to ${email}`);
}

/** A fresh admin, promoted in D1 as `npm run admin:grant` does, signed in with the role. */
export async function signedInAdmin() {
  const account = await register(uniqueEmail('admin'));
  await env.DB.prepare("UPDATE users SET role = 'admin' WHERE id = ?").bind(account.user.id).run();
  return { ...account, tokens: await login(account.email) };
}

/** `init` with `Authorization: Bearer <token>` added to its headers. */
export const withBearer = (token: string, init: RequestInit = {}): RequestInit => ({
  ...init,
  headers: { ...(init.headers as Record<string, string>), Authorization: `Bearer ${token}` },
});
export const bearer = (token: string) => withBearer(token);

export function refresh(refreshToken: string, overrides?: Record<string, unknown>) {
  return call('/auth/refresh', json({ refresh_token: refreshToken }), overrides);
}

export async function me(accessToken: string) {
  return call('/users/me', bearer(accessToken));
}

const KV_READS = new Set(['get', 'getWithMetadata', 'list']);
const KV_WRITES = new Set(['put', 'delete']);

/**
 * The real KV binding, counting its operations into `counts`: reads are `get` (a bulk get of
 * several keys is one), `getWithMetadata` and `list`; writes are `put` and `delete`.
 */
export function countingKv(counts = { kvReads: 0, kvWrites: 0 }) {
  const kv = new Proxy(env.KV, {
    get(target, prop) {
      if (typeof prop === 'string' && (KV_READS.has(prop) || KV_WRITES.has(prop))) {
        return (...args: unknown[]) => {
          if (KV_READS.has(prop)) counts.kvReads++;
          else counts.kvWrites++;
          return (target[prop as 'get'] as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { kv, counts };
}

/** The database holding a session (docs/sharding.md): ids "1.<uuid>" live in SESSIONS_1. */
export const sessionDb = (sessionId: string): D1Database =>
  sessionId.startsWith('1.') ? env.SESSIONS_1 : env.DB;

/** The database holding a refresh token: one longer than 43 characters names shard 1. */
export const tokenDb = (token: string): D1Database => (token.length > 43 ? env.SESSIONS_1 : env.DB);

/**
 * Pins a user's sessions to the main database (docs/sharding.md), for tests about DB itself: its
 * triggers, its faults, or a model that wraps DB alone. Takes effect from their next sign-in.
 */
export const onMainDatabase = (userId: string) => onShard(userId, 0);

/** Pins a user's sessions to shard `shard` (0 is DB, 1 is SESSIONS_1), from their next sign-in. */
export const onShard = (userId: string, shard: 0 | 1) =>
  env.DB.prepare('UPDATE users SET session_shard = ? WHERE id = ?').bind(shard, userId).run();

/** A registered user signed in once, with their sessions on shard `shard`. */
export async function signedInOn(shard: 0 | 1) {
  const account = await register();
  await onShard(account.user.id, shard);
  return { ...account, tokens: await login(account.email) };
}

/** The database holding a user's sessions: their stored shard (0 until their first sign-in). */
export async function userSessionsDb(userId: string): Promise<D1Database> {
  const row = await env.DB.prepare('SELECT session_shard FROM users WHERE id = ?')
    .bind(userId)
    .first<{ session_shard: number | null }>();
  return row?.session_shard === 1 ? env.SESSIONS_1 : env.DB;
}
