// Session shards (docs/sharding.md): sessions, refresh tokens and the audit events of session
// events live in one of several D1 databases, chosen per user. Shard 0 is the main database (DB),
// shard n (n ≥ 1) is the binding SESSIONS_n. The shard travels with what a client holds: a
// session id of shard n starts with "n.", a refresh token ends with a shard letter and the user
// id, so a refresh, a logout or a check of the bearer's session finds its database without a
// lookup in the main one. Ids and tokens without a marker are shard 0's: everything issued
// before sharding, and every shard-0 sign-in.
import { env } from 'cloudflare:workers';
import { base64url } from 'jose';
import type { Config } from '../config';
import { database, type Database } from '../db/client';
import { unavailable } from '../errors';

export type Shard = { index: number; d1: D1Database; db: Database };

/** At most this many shards (SESSION_SHARDS is validated against it in src/config.ts). */
export const MAX_SHARDS = 16;

const MARKED = /^([1-9][0-9]?)\.(.+)$/;

function binding(index: number): D1Database | undefined {
  const value = (env as unknown as Record<string, unknown>)[`SESSIONS_${index}`];
  return value && typeof (value as D1Database).prepare === 'function'
    ? (value as D1Database)
    : undefined;
}

/**
 * Shard `index`, with `main` (the request's DB binding) as shard 0; null when no such binding
 * exists (a marker pointing nowhere is an unknown token, not an error).
 */
export function shardAt(main: D1Database, index: number): Shard | null {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_SHARDS) return null;
  const d1 = index === 0 ? main : binding(index);
  return d1 ? { index, d1, db: database(d1) } : null;
}

/**
 * Every database that can hold sessions: the configured shards, and any further SESSIONS_n
 * binding still present (a shard being drained after SESSION_SHARDS was lowered keeps its
 * sessions revocable). A configured shard without its binding is a deploy error: 503.
 */
export function allShards(main: D1Database, config?: Config): Shard[] {
  const found: Shard[] = [];
  for (let i = 0; i < MAX_SHARDS; i++) {
    const shard = shardAt(main, i);
    if (shard) found.push(shard);
    else if (config && i < config.SESSION_SHARDS) throw unavailable();
  }
  return found;
}

/** The shards other than the main database (user-keyed work fans out over them). */
export const otherShards = (main: D1Database, config: Config) =>
  allShards(main, config).filter((s) => s.index !== 0);

/**
 * The shard a user's sessions go to, fixed at the first sign-in: FNV-1a of the id over the
 * configured count. Stored in users.session_shard, so a later count moves nobody.
 */
export function assignShard(userId: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    hash ^= userId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % Math.max(1, count);
}

/** The session id of a new session on `shard`: a UUIDv7, prefixed "n." off shard 0. */
export const markedId = (shard: number, id: string) => (shard === 0 ? id : `${shard}.${id}`);

/** The shard of a session id: its marker, 0 without one, null for a malformed marker. */
export function shardOfSession(sessionId: string): number | null {
  const match = MARKED.exec(sessionId);
  if (!match) return /^[0-9]+\./.test(sessionId) ? null : 0;
  return Number(match[1]);
}

/**
 * A refresh token is base64url throughout (API.md): the 43-character secret, then off shard 0
 * one letter for the shard (B = 1 … P = 15) and the user id in base64url. The user id lets the
 * refresh read the user from the main database in parallel with the rotation in the shard. The
 * whole string is what is hashed and stored, so a changed marker or user id is an unknown token.
 */
export type ParsedToken = { shard: number; userId: string | null };

const SECRET_LENGTH = 43;
const SHARD_LETTERS = 'ABCDEFGHIJKLMNOP';

export function parseRefreshToken(token: string): ParsedToken | null {
  if (token.length === SECRET_LENGTH) return { shard: 0, userId: null };
  const shard = SHARD_LETTERS.indexOf(token.charAt(SECRET_LENGTH));
  const encoded = token.slice(SECRET_LENGTH + 1);
  if (shard < 1 || encoded === '') return null;
  let userId: string;
  try {
    // A lossy decode (invalid UTF-8) fails the round trip below.
    userId = new TextDecoder().decode(base64url.decode(encoded));
  } catch {
    return null;
  }
  if (userId === '' || base64url.encode(userId) !== encoded) return null;
  return { shard, userId };
}

/** The refresh token carrying `secret` (43 characters) for a session of `userId` on `shard`. */
export function refreshTokenFor(shard: number, userId: string, secret: string): string {
  return shard === 0 ? secret : `${secret}${SHARD_LETTERS[shard]}${base64url.encode(userId)}`;
}
