import { primaryFor } from './replicas/request-state';

/**
 * The failure policy's enforcement point (README, "Failure policy"): every D1 and KV call gets a
 * deadline, and a store that fails or does not answer becomes StorageUnavailable, which the app
 * answers with 503 and Retry-After. Never a 200 built on a missing write, never a 401 that
 * would make a client drop a session that may be fine. Errors that are our own bugs (SQL or
 * constraint errors) stay what they are: a 500 and a loud log line.
 */
export class StorageUnavailable extends Error {}

const DEFAULT_DEADLINE_MS = { d1: 10_000, kv: 5_000 };
const OUR_BUG =
  /constraint failed|SQLITE_CONSTRAINT|syntax error|no such (table|column)|D1_TYPE_ERROR/i;

async function guarded<T>(what: string, deadlineMs: number, work: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new StorageUnavailable(`${what} did not answer in ${deadlineMs} ms`)),
      deadlineMs,
    );
  });
  try {
    return await Promise.race([work(), deadline]);
  } catch (err) {
    if (err instanceof StorageUnavailable) throw err;
    if (err instanceof Error && OUR_BUG.test(`${err.message} ${String(err.cause ?? '')}`))
      throw err;
    throw new StorageUnavailable(
      `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** A prepared statement whose results go through the guard; batch() unwraps it again. */
class GuardedStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    private readonly deadlineMs: number,
  ) {}
  bind(...values: unknown[]) {
    return new GuardedStatement(this.inner.bind(...values), this.deadlineMs);
  }
  first<T>(column?: string) {
    return guarded('D1', this.deadlineMs, () =>
      column === undefined ? this.inner.first<T>() : this.inner.first<T>(column),
    );
  }
  all<T>() {
    return guarded('D1', this.deadlineMs, () => this.inner.all<T>());
  }
  run<T>() {
    return guarded('D1', this.deadlineMs, () => this.inner.run<T>());
  }
  raw<T>(options?: { columnNames?: boolean }) {
    return guarded('D1', this.deadlineMs, () =>
      this.inner.raw<T>(options as { columnNames: true }),
    );
  }
}

const unwrap = (s: unknown) =>
  s instanceof GuardedStatement ? s.inner : (s as D1PreparedStatement);

/** A D1 session (read replication, src/replicas) under the same deadlines. */
function guardSession(session: D1DatabaseSession, deadlineMs: number): D1DatabaseSession {
  return {
    prepare: (query: string) => new GuardedStatement(session.prepare(query), deadlineMs),
    batch: (statements: unknown[]) =>
      guarded('D1', deadlineMs, () => session.batch(statements.map(unwrap))),
    getBookmark: () => session.getBookmark(),
  } as unknown as D1DatabaseSession;
}

function guardD1(db: D1Database, deadlineMs: number): D1Database {
  // Calls on the binding go to the primary; within a request, through a session of their own
  // so the response can hand the client the bookmark of its writes (src/replicas).
  return {
    prepare: (query: string) => new GuardedStatement(primaryFor(db).prepare(query), deadlineMs),
    batch: (statements: unknown[]) =>
      guarded('D1', deadlineMs, () => primaryFor(db).batch(statements.map(unwrap))),
    exec: (query: string) => guarded('D1', deadlineMs, () => db.exec(query)),
    dump: () => guarded('D1', deadlineMs, () => db.dump()),
    withSession: (constraint?: string) => guardSession(db.withSession(constraint), deadlineMs),
  } as unknown as D1Database;
}

function guardKV(kv: KVNamespace, deadlineMs: number): KVNamespace {
  const call =
    <K extends 'get' | 'put' | 'delete' | 'list' | 'getWithMetadata'>(method: K) =>
    (...args: unknown[]) =>
      guarded('KV', deadlineMs, () =>
        (kv[method] as (...a: unknown[]) => Promise<unknown>).apply(kv, args),
      );
  return {
    get: call('get'),
    put: call('put'),
    delete: call('delete'),
    list: call('list'),
    getWithMetadata: call('getWithMetadata'),
  } as unknown as KVNamespace;
}

const guardedEnvs = new WeakMap<object, Env>();

/** The same env with guarded DB and KV, made once per env object (so config stays cached). */
export function guardBindings(env: Env): Env {
  let out = guardedEnvs.get(env);
  if (!out) {
    // STORAGE_DEADLINE_MS (optional) caps both; tests use it to make a hang quick.
    const cap = Number((env as { STORAGE_DEADLINE_MS?: string }).STORAGE_DEADLINE_MS) || Infinity;
    out = {
      ...env,
      DB: guardD1(env.DB, Math.min(DEFAULT_DEADLINE_MS.d1, cap)),
      KV: guardKV(env.KV, Math.min(DEFAULT_DEADLINE_MS.kv, cap)),
    };
    guardedEnvs.set(env, out);
  }
  return out;
}
