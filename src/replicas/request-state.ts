import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one request knows about D1 read replication (docs/capacity.md, "Read replicas"): where its
 * reads start (the client's bookmark, else anywhere), the read session once made, and the primary
 * sessions its writes went through, whose bookmarks the client gets back.
 *
 * It lives in AsyncLocalStorage (the `nodejs_als` compatibility flag) rather than on the env or
 * the context: the guarded D1 binding and its drizzle instance stay one per isolate (building a
 * drizzle instance costs about 0.15 ms), while each request still gets its own sessions.
 */
export type ReplicaState = {
  /** The client's bookmark (checked for shape), or `first-unconstrained`. */
  start: string;
  /** True when `start` came from the client: a D1 refusal of it falls back to the primary. */
  fromClient: boolean;
  read: D1DatabaseSession | undefined;
  primary: D1DatabaseSession[];
};

export const storage = new AsyncLocalStorage<ReplicaState>();

export const currentState = (): ReplicaState | undefined => storage.getStore();

/**
 * A D1 bookmark as D1 hands it out: hex fields separated by dashes (for example
 * `0000001f-00000004-00004f3d-8e6f…`), at most 128 characters. Anything else is ignored rather
 * than sent: D1 rejects a malformed bookmark with an error, which must not become a 500.
 */
export const BOOKMARK_FORMAT = /^[0-9a-f]{1,32}(?:-[0-9a-f]{1,64}){1,7}$/;
export const MAX_BOOKMARK_LENGTH = 128;

export function validBookmark(value: string | undefined | null): string | null {
  if (!value || value.length > MAX_BOOKMARK_LENGTH) return null;
  const trimmed = value.trim();
  return BOOKMARK_FORMAT.test(trimmed) ? trimmed : null;
}

/** The later of two bookmarks: D1 orders them as strings (its own session does the same). */
export function newer(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a.localeCompare(b) < 0 ? b : a;
}

/**
 * A session whose first call goes to the primary, as the binding's own calls do, for one call:
 * the binding itself never reports a bookmark, a session does. Outside a request (the scheduled
 * handler, a test calling a function directly) it is the binding.
 */
export function primaryFor(db: D1Database): D1Database | D1DatabaseSession {
  const state = storage.getStore();
  if (!state) return db;
  const session = db.withSession('first-primary');
  state.primary.push(session);
  return session;
}
