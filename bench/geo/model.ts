// The latency model of `npm run bench -- --geo` (bench/README.md, "Geo"): the real D1 and KV
// bindings, wrapped so that each call is classed as the platform would route it for a client far
// from the primary, counted, and (in the bench) delayed by that class's modelled round trip.
// test/replicas/geo-counts.test.ts runs the same wrapper without delays to pin the counts.
//
// Routing, as D1's Sessions API defines it (developers.cloudflare.com/d1/best-practices/
// read-replication/): a call on the binding itself goes to the primary; in a session started
// `first-primary` the first call goes to the primary and later ones to a replica; a session
// started `first-unconstrained` or from a bookmark reads a replica. A write goes to the primary
// whatever the session.

export type Costs = {
  /** One sequential round trip to the D1 primary from the far client's location. */
  primaryMs: number;
  /** One round trip to a D1 replica in the client's region. */
  replicaMs: number;
  /** A KV read of a key this location read recently (its cache is hot). */
  kvHotMs: number;
  /** A KV read of a key this location has not read recently (central store). */
  kvColdMs: number;
  /** A KV write (to the central store). */
  kvWriteMs: number;
};

export const FAR_CLIENT: Costs = {
  primaryMs: 150,
  replicaMs: 5,
  kvHotMs: 1,
  kvColdMs: 60,
  kvWriteMs: 150,
};

export type GeoUsage = {
  /** Primary round trips the request waited for one after another (parallel ones count once). */
  primarySequential: number;
  primaryCalls: number;
  replicaSequential: number;
  replicaCalls: number;
  kvSequential: number;
  kvReads: number;
  kvWrites: number;
  kvColdReads: number;
  /** D1 calls carrying at least one write statement (INSERT, UPDATE, DELETE...). */
  d1Writes: number;
  /** Write statements in those calls (a batch of four counts four). */
  d1WriteStatements: number;
  /** The constraint or bookmark of every `withSession` call, in order. */
  sessions: string[];
};

const READ_ONLY = /^\s*select\b/i;
const RUNS = new Set(['first', 'all', 'run', 'raw']);
const KV_READS = new Set(['get', 'getWithMetadata', 'list']);
const KV_WRITES = new Set(['put', 'delete']);
/** A key read within this long is served from the location's cache (KV's default cacheTtl). */
const HOT_FOR_MS = 60_000;

export const emptyUsage = (): GeoUsage => ({
  primarySequential: 0,
  primaryCalls: 0,
  replicaSequential: 0,
  replicaCalls: 0,
  kvSequential: 0,
  kvReads: 0,
  kvWrites: 0,
  kvColdReads: 0,
  d1Writes: 0,
  d1WriteStatements: 0,
  sessions: [],
});

type Kind = 'primary' | 'replica' | 'kv';

/**
 * Bindings over `real` that count into `usage` and wait `costs` (none when omitted) before each
 * call. `kvSeen` remembers when each KV key was last read: share it across requests to model a
 * location's warm cache.
 */
export function geoBindings(
  real: { DB: D1Database; KV: KVNamespace },
  usage: GeoUsage,
  costs?: Costs,
  kvSeen: Map<string, number> = new Map(),
) {
  const inFlight: Record<Kind, number> = { primary: 0, replica: 0, kv: 0 };
  const sequential: Record<Kind, keyof GeoUsage> = {
    primary: 'primarySequential',
    replica: 'replicaSequential',
    kv: 'kvSequential',
  };

  async function timed<T>(kind: Kind, ms: number, work: () => Promise<T>): Promise<T> {
    // A call that starts while another of its kind is in flight overlaps it: not sequential.
    if (inFlight[kind] === 0) (usage[sequential[kind]] as number)++;
    inFlight[kind]++;
    try {
      if (costs && ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      return await work();
    } finally {
      inFlight[kind]--;
    }
  }

  function d1Call<T>(sql: string[], route: 'primary' | 'session', work: () => Promise<T>) {
    const writes = sql.filter((s) => !READ_ONLY.test(s)).length;
    if (writes > 0) {
      usage.d1Writes++;
      usage.d1WriteStatements += writes;
    }
    const kind: Kind = writes > 0 || route === 'primary' ? 'primary' : 'replica';
    if (kind === 'primary') usage.primaryCalls++;
    else usage.replicaCalls++;
    return timed(
      kind,
      kind === 'primary' ? (costs?.primaryMs ?? 0) : (costs?.replicaMs ?? 0),
      work,
    );
  }

  const sqlOf = new WeakMap<object, string>();
  const inner = new WeakMap<object, D1PreparedStatement>();

  /** `route()` says where the statement's call goes when it runs. */
  function statement(
    real: D1PreparedStatement,
    sql: string,
    route: () => 'primary' | 'session',
  ): D1PreparedStatement {
    const proxy = new Proxy(real, {
      get(target, prop) {
        if (prop === 'bind') {
          return (...values: unknown[]) => statement(target.bind(...values), sql, route);
        }
        if (typeof prop === 'string' && RUNS.has(prop)) {
          return (...args: unknown[]) =>
            d1Call([sql], route(), () =>
              (target[prop as 'all'] as (...a: unknown[]) => Promise<unknown>)(...args),
            );
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    sqlOf.set(proxy, sql);
    inner.set(proxy, real);
    return proxy;
  }
  const unwrap = (s: D1PreparedStatement) => inner.get(s) ?? s;
  const sqlList = (statements: D1PreparedStatement[]) => statements.map((s) => sqlOf.get(s) ?? '?');

  function session(constraint: string | undefined): D1DatabaseSession {
    usage.sessions.push(constraint ?? '');
    const real_ = real.DB.withSession(constraint);
    // `first-primary`: the first call goes to the primary, the rest to a replica at its bookmark.
    let first = constraint === 'first-primary';
    const route = () => {
      const r = first ? 'primary' : 'session';
      first = false;
      return r;
    };
    return {
      prepare: (sql: string) => statement(real_.prepare(sql), sql, route),
      batch: (statements: D1PreparedStatement[]) =>
        d1Call(sqlList(statements), route(), () => real_.batch(statements.map(unwrap))),
      getBookmark: () => real_.getBookmark(),
    } as unknown as D1DatabaseSession;
  }

  const DB = {
    prepare: (sql: string) => statement(real.DB.prepare(sql), sql, () => 'primary'),
    batch: (statements: D1PreparedStatement[]) =>
      d1Call(sqlList(statements), 'primary', () => real.DB.batch(statements.map(unwrap))),
    exec: (sql: string) => d1Call([sql], 'primary', () => real.DB.exec(sql)),
    withSession: session,
  } as unknown as D1Database;

  const kvKeys = (key: unknown) => (Array.isArray(key) ? key.map(String) : [String(key)]);
  const KV = new Proxy(real.KV, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      if (KV_READS.has(prop)) {
        return (key: unknown, ...rest: unknown[]) => {
          usage.kvReads++;
          const now = Date.now();
          // A bulk get is one operation, cold if any of its keys is.
          const cold = kvKeys(key).some((k) => now - (kvSeen.get(k) ?? -Infinity) > HOT_FOR_MS);
          for (const k of kvKeys(key)) kvSeen.set(k, now);
          if (cold) usage.kvColdReads++;
          return timed('kv', cold ? (costs?.kvColdMs ?? 0) : (costs?.kvHotMs ?? 0), () =>
            value.call(target, key, ...rest),
          );
        };
      }
      if (KV_WRITES.has(prop)) {
        return (...args: unknown[]) => {
          usage.kvWrites++;
          return timed('kv', costs?.kvWriteMs ?? 0, () => value.apply(target, args));
        };
      }
      return value.bind(target);
    },
  });

  return { DB, KV };
}
