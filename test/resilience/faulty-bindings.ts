// Fault injection for the storage bindings (issue 9): wraps the real D1 and KV bindings, counts
// every storage call in the order the worker makes it, and makes one chosen call fail or hang.
//
// What one "call" is (the same unit as test/storage-calls.test.ts):
// - D1: each prepared statement's first/all/run/raw, each batch() as ONE call, each exec().
// - KV: each get (a bulk get of several keys is one call), getWithMetadata, put, delete, list.
//
// src/storage-guard.ts wraps whatever binding it is given and unwraps its own statement wrappers
// before it calls our batch(); we in turn unwrap ours before calling the real batch (real D1
// refuses statements it did not prepare).

/**
 * 'fail': the call rejects with a plain Error (a store error, not one of our SQL bugs) and never
 * reaches the store. 'hang': it never answers and never reaches the store. 'lost': the store
 * does the work, but its answer never arrives (a reply lost in transit).
 */
export type FaultMode = 'fail' | 'hang' | 'lost';

export type Fault = { at: number; mode: FaultMode };

export type StorageCall = {
  /** 1-based position among all storage calls of the request (D1 and KV share one count). */
  n: number;
  store: 'D1' | 'KV';
  op: string;
  /** D1: the SQL of the statement (one per statement of a batch). KV: the key(s) or prefix. */
  detail: string[];
  /** Set on the call that was made to fail or hang. */
  faulted?: FaultMode;
};

/** A hang: a promise that never settles (the guard's deadline has to end the wait). */
const never = <T>() => new Promise<T>(() => {});

class FaultyStatement {
  constructor(
    readonly inner: D1PreparedStatement,
    readonly sql: string,
    private readonly through: Through,
  ) {}
  bind(...values: unknown[]) {
    return new FaultyStatement(this.inner.bind(...values), this.sql, this.through);
  }
  first(...args: unknown[]) {
    return this.through('D1', 'first', [this.sql], () =>
      (this.inner.first as (...a: unknown[]) => Promise<unknown>).apply(this.inner, args),
    );
  }
  all() {
    return this.through('D1', 'all', [this.sql], () => this.inner.all());
  }
  run() {
    return this.through('D1', 'run', [this.sql], () => this.inner.run());
  }
  raw(...args: unknown[]) {
    return this.through('D1', 'raw', [this.sql], () =>
      (this.inner.raw as (...a: unknown[]) => Promise<unknown>).apply(this.inner, args),
    );
  }
}

type Through = <T>(
  store: 'D1' | 'KV',
  op: string,
  detail: string[],
  work: () => Promise<T>,
) => Promise<T>;

/**
 * D1 and KV bindings over `real` that log every call and apply `fault` (if any) to call number
 * `fault.at` (see FaultMode).
 */
export function faultyBindings(real: { DB: D1Database; KV: KVNamespace }, fault?: Fault) {
  const calls: StorageCall[] = [];

  const through: Through = (store, op, detail, work) => {
    const call: StorageCall = { n: calls.length + 1, store, op, detail };
    calls.push(call);
    if (fault && fault.at === call.n) {
      call.faulted = fault.mode;
      if (fault.mode === 'hang') return never();
      if (fault.mode === 'lost') return work().then(() => never());
      return Promise.reject(new Error(`injected ${store} ${op} failure (call ${call.n})`));
    }
    try {
      return work();
    } catch (err) {
      return Promise.reject(err);
    }
  };

  const unwrap = (s: unknown) =>
    s instanceof FaultyStatement ? s.inner : (s as D1PreparedStatement);
  const sqlOf = (s: unknown) => (s instanceof FaultyStatement ? s.sql : '(foreign statement)');

  const DB = {
    prepare: (query: string) => new FaultyStatement(real.DB.prepare(query), query, through),
    batch: (statements: unknown[]) =>
      through('D1', 'batch', statements.map(sqlOf), () => real.DB.batch(statements.map(unwrap))),
    exec: (query: string) => through('D1', 'exec', [query], () => real.DB.exec(query)),
    dump: () => {
      throw new Error('faulty-bindings: D1 dump() is not counted; teach this wrapper');
    },
    // Read replication (src/replicas): a session's calls are logged and faulted like the binding's.
    withSession: (constraint?: string) => {
      const session = real.DB.withSession(constraint);
      return {
        prepare: (query: string) => new FaultyStatement(session.prepare(query), query, through),
        batch: (statements: unknown[]) =>
          through('D1', 'batch', statements.map(sqlOf), () =>
            session.batch(statements.map(unwrap)),
          ),
        getBookmark: () => session.getBookmark(),
      };
    },
  } as unknown as D1Database;

  const keysOf = (key: unknown) => (Array.isArray(key) ? key.map(String) : [String(key)]);
  const kv =
    (op: 'get' | 'getWithMetadata' | 'put' | 'delete') =>
    (key: unknown, ...rest: unknown[]) =>
      through('KV', op, keysOf(key), () =>
        (real.KV[op] as (...a: unknown[]) => Promise<unknown>).call(real.KV, key, ...rest),
      );
  const KV = {
    get: kv('get'),
    getWithMetadata: kv('getWithMetadata'),
    put: kv('put'),
    delete: kv('delete'),
    list: (options?: KVNamespaceListOptions) =>
      through('KV', 'list', [`prefix=${options?.prefix ?? ''}`], () => real.KV.list(options)),
  } as unknown as KVNamespace;

  return { bindings: { DB, KV }, calls };
}

/** "insert sessions", "update users.totp_last_step", "select login_failures": a statement's gist. */
function gist(sql: string): string {
  const text = sql.replace(/\s+/g, ' ').trim();
  const update = /^update "?(\w+)"? set "?(\w+)"?/i.exec(text);
  if (update) return `update ${update[1]}.${update[2]}`;
  const write = /^(insert into|delete from) "?(\w+)"?/i.exec(text);
  if (write) return `${write[1]!.split(' ')[0]!.toLowerCase()} ${write[2]}`;
  const read = /^select .*? from "?(\w+)"?/i.exec(text);
  if (read) return `select ${read[1]}`;
  return text.slice(0, 40);
}

/** "#3 D1 batch [insert sessions; insert refresh_tokens]", "#1 KV get [revoked:session:<id>]". */
export function describeCall(call: StorageCall): string {
  const detail = (call.store === 'D1' ? call.detail.map(gist) : call.detail)
    .join('; ')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>');
  return `#${call.n} ${call.store} ${call.op} [${detail}]`;
}
