import type { Context } from 'hono';
import { database, type Database } from '../db/client';
import type { AppEnv } from '../env';
import { currentState, newer, type ReplicaState } from './request-state';

/** Statements a replica may run: reads only. Anything else is a bug in the caller. */
const READ_ONLY = /^\s*(select|with)\b/i;
const WRITE_KEYWORD = /\b(insert|update|delete|replace|create|drop|alter)\b/i;

export class WriteOnReplica extends Error {}

function assertReadOnly(sql: string) {
  // A CTE may still end in a write; refuse any statement that names one.
  if (!READ_ONLY.test(sql) || (/^\s*with\b/i.test(sql) && WRITE_KEYWORD.test(sql))) {
    throw new WriteOnReplica(`a write went to the read helper: ${sql.slice(0, 60)}`);
  }
}

/**
 * The request's read session: from the client's bookmark, else anywhere; made on first use. A
 * write this request made on the primary moves it on to that write's bookmark, so the request
 * reads its own writes too (the export lists the audit event it just wrote).
 */
function readSession(db: D1Database, state: ReplicaState): D1DatabaseSession {
  let written: string | null = null;
  for (const session of state.primary) written = newer(written, session.getBookmark());
  if (written !== null) {
    // The primary is never behind a client's bookmark, so its bookmark subsumes that one.
    const at = state.read?.getBookmark() ?? null;
    if (at === null || newer(at, written) !== at) state.read = db.withSession(written);
  }
  state.read ??= db.withSession(state.start);
  return state.read;
}

/**
 * D1 refuses a bookmark it cannot use (malformed, or of another database) with an error. The
 * client's bookmark is only a hint: the request then reads from the primary, which is never
 * behind any bookmark, instead of failing.
 */
async function withFallback<T>(
  db: D1Database,
  state: ReplicaState | undefined,
  run: (session: D1DatabaseSession | D1Database) => Promise<T>,
): Promise<T> {
  if (!state) return run(db);
  try {
    return await run(readSession(db, state));
  } catch (err) {
    if (!state.fromClient || err instanceof WriteOnReplica) throw err;
    state.fromClient = false;
    state.start = 'first-primary';
    state.read = db.withSession('first-primary');
    return run(state.read);
  }
}

/** A statement that is prepared on the request's read session when it runs (so it can retry). */
class ReplicaStatement {
  constructor(
    private readonly db: D1Database,
    readonly sql: string,
    readonly params: unknown[] = [],
  ) {}
  bind(...values: unknown[]) {
    return new ReplicaStatement(this.db, this.sql, values);
  }
  on(session: D1DatabaseSession | D1Database): D1PreparedStatement {
    return session.prepare(this.sql).bind(...this.params);
  }
  private exec<T>(run: (s: D1PreparedStatement) => Promise<T>) {
    return withFallback(this.db, currentState(), (session) => run(this.on(session)));
  }
  first<T>(column?: string) {
    return this.exec((s) => (column === undefined ? s.first<T>() : s.first<T>(column)));
  }
  all<T>() {
    return this.exec((s) => s.all<T>());
  }
  run<T>() {
    return this.exec((s) => s.run<T>());
  }
  raw<T>(options?: { columnNames?: boolean }) {
    return this.exec((s) => s.raw<T>(options as { columnNames: true }));
  }
}

function replicaBinding(db: D1Database): D1Database {
  return {
    prepare(sql: string) {
      assertReadOnly(sql);
      return new ReplicaStatement(db, sql);
    },
    batch(statements: ReplicaStatement[]) {
      return withFallback(db, currentState(), (session) =>
        session.batch(statements.map((s) => s.on(session))),
      );
    },
    exec() {
      throw new WriteOnReplica('exec is not a read');
    },
  } as unknown as D1Database;
}

const replicas = new WeakMap<D1Database, Database>();

/** Whether the request may read from a replica: only the safe methods (RFC 9110 §9.2.1). */
export const readsReplica = (c: Context<AppEnv>) =>
  c.req.method === 'GET' || c.req.method === 'HEAD';

/**
 * The database for a route's reads. GET and HEAD read through the request's D1 session (a
 * replica near the client, at least as fresh as the client's bookmark); every other method gets
 * the primary, so a read that decides a write never sees a stale replica. Writes never come
 * here: the replica binding refuses any statement that is not a read.
 */
export function readDb(c: Context<AppEnv>): Database {
  if (!readsReplica(c)) return database(c.env.DB);
  let db = replicas.get(c.env.DB);
  if (!db) {
    db = database(replicaBinding(c.env.DB));
    replicas.set(c.env.DB, db);
  }
  return db;
}

/**
 * A read whose empty answer would refuse the client (a 401, a redirect to sign-in): a replica may
 * not have the row yet when the client sent no bookmark, so "none" is confirmed on the primary.
 */
export async function readOrConfirm<T>(
  c: Context<AppEnv>,
  read: (db: Database) => Promise<T | null | undefined>,
): Promise<T | null> {
  const found = await read(readDb(c));
  if (found || !readsReplica(c)) return found ?? null;
  return (await read(database(c.env.DB))) ?? null;
}
