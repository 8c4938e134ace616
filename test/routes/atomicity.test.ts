import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import {
  call,
  expectProblem,
  json,
  PASSWORD,
  refresh,
  register,
  login,
  onMainDatabase,
} from '../helpers';

/**
 * A D1 binding whose every batch carries one more, failing statement at the end: D1 runs a batch
 * as one transaction, so nothing of the request's batch may remain.
 */
function failingBatches(db: D1Database): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'batch') {
        return (statements: D1PreparedStatement[]) =>
          target.batch([...statements, target.prepare('INSERT INTO no_such_table VALUES (1)')]);
      }
      // The worker's primary calls go through sessions (src/replicas): their batches fail too.
      if (prop === 'withSession') {
        return (constraint?: string) =>
          failingBatches(target.withSession(constraint) as unknown as D1Database);
      }
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const count = async (sql: string, ...params: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>())!.n;

describe('a request that fails half-way', () => {
  it('login leaves no session and no refresh token behind', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { email, user } = await register();
    // The main database's batch fails: a user of that shard (a shard's own failures are
    // test/shards/'s).
    await onMainDatabase(user.id);
    const tokensBefore = await count('SELECT COUNT(*) AS n FROM refresh_tokens');
    const res = await call('/auth/login', json({ email, password: PASSWORD }), {
      DB: failingBatches(env.DB),
    });
    await expectProblem(res, 500, 'internal_error');
    expect(await count('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', user.id)).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM refresh_tokens')).toBe(tokensBefore);
    vi.restoreAllMocks();
  });

  it('rotation leaves the presented token usable and no successor', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { email, user } = await register();
    await onMainDatabase(user.id);
    const tokens = await login(email);
    const failed = await refresh(tokens.refresh_token, { DB: failingBatches(env.DB) });
    await expectProblem(failed, 500, 'internal_error');
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ?',
        tokens.session_id,
      ),
    ).toBe(1);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    expect(
      await count(
        'SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ?',
        tokens.session_id,
      ),
    ).toBe(2);
    vi.restoreAllMocks();
  });
});
