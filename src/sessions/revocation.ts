import type { Config } from '../config';
import { CLOCK_TOLERANCE_SECONDS, type AccessClaims } from '../crypto/jwt';
import { unavailable } from '../errors';

// KV keys (documented in docs/storage.md). Both live exactly as long as the longest-lived
// access token they could cover: one lifetime plus the verifier's clock tolerance.
const sessionKey = (sid: string) => `revoked:session:${sid}`;
const userKey = (userId: string) => `revoked:user:${userId}`;
// A signing key an admin removed (src/keys/rotation.ts): every token it signed is dead, in every
// isolate, before that isolate's cached key ring expires.
const signingKeyKey = (kid: string) => `revoked:key:${kid}`;

/**
 * A per-user cut-off: tokens issued before `before` (ms) are dead, except those of `keep`. A
 * user's KV value holds every cut still within a token's lifetime, so a later cut that keeps a
 * session (a password change) never revives that session's tokens an earlier cut killed (a role
 * change, logout-all).
 */
type UserCutoff = { before: number; keep: string | null };

const ttl = (config: Config) => Math.max(60, config.ACCESS_TOKEN_TTL + CLOCK_TOLERANCE_SECONDS);

/**
 * Revocation writes go to KV before D1 (see store.ts), and a failed write is a 503: the client
 * retries, and every step is idempotent, so a retry can never skip the KV half.
 */
async function put(kv: KVNamespace, key: string, value: string, config: Config) {
  try {
    await kv.put(key, value, { expirationTtl: ttl(config) });
  } catch {
    throw unavailable();
  }
}

export async function denyKey(kv: KVNamespace, config: Config, kid: string) {
  await put(kv, signingKeyKey(kid), '1', config);
}

export async function denySession(kv: KVNamespace, config: Config, sessionId: string) {
  await put(kv, sessionKey(sessionId), '1', config);
}

/**
 * Logout-all, password change and reset: every access token of the user issued before `now`
 * dies, except the current session's when `keep` names it (a password change keeps it).
 * Millisecond precision comes from the token's UUIDv7 `jti`, so a token minted in the same
 * second right after the cut-off still works (iat alone has 1 s resolution).
 */
export async function cutOffUser(
  kv: KVNamespace,
  config: Config,
  userId: string,
  now: number,
  keep: string | null = null,
) {
  const key = userKey(userId);
  let earlier: UserCutoff[];
  try {
    earlier = parseCutoffs(await kv.get(key));
  } catch {
    throw unavailable();
  }
  // Cuts older than a token's lifetime cover no live token; a newer cut that keeps nothing
  // covers every older one.
  const horizon = now - ttl(config) * 1000;
  const cuts = [
    ...(keep === null ? [] : earlier.filter((c) => c.before > horizon)),
    { before: now, keep },
  ];
  await put(kv, key, JSON.stringify(cuts), config);
}

function parseCutoffs(raw: string | null): UserCutoff[] {
  if (!raw) return [];
  const value = JSON.parse(raw) as UserCutoff | UserCutoff[];
  // A single object is the form written before cuts were kept as a list.
  return Array.isArray(value) ? value : [value];
}

/** One KV read (a bulk get of all keys) decides whether a verified token is still alive. */
export async function isRevoked(kv: KVNamespace, claims: AccessClaims): Promise<boolean> {
  return (await readRevocation(kv, claims)).revoked;
}

/**
 * The same one read, with `also` in the same bulk get: their values come back in `found` (the
 * profile cache of GET /users/me, src/profile).
 */
export async function readRevocation(kv: KVNamespace, claims: AccessClaims, also: string[] = []) {
  const keys = [sessionKey(claims.sid), userKey(claims.sub)];
  if (claims.kid) keys.push(signingKeyKey(claims.kid));
  const found = await kv.get([...keys, ...also]);
  return { revoked: revokedBy(found, keys, claims), found };
}

function revokedBy(found: Map<string, string | null>, keys: string[], claims: AccessClaims) {
  if (found.get(keys[0]!)) return true;
  if (keys[2] && found.get(keys[2])) return true;
  const issuedAt = issuedAtMs(claims);
  return parseCutoffs(found.get(keys[1]!) ?? null).some(
    (cut) => claims.sid !== cut.keep && issuedAt < cut.before,
  );
}

/** Our `jti` is a UUIDv7 whose first 48 bits are the issue time in ms; `iat` is the fallback. */
function issuedAtMs(claims: AccessClaims): number {
  const hex = claims.jti.replaceAll('-', '');
  if (/^[0-9a-f]{12}7/.test(hex)) return parseInt(hex.slice(0, 12), 16);
  return claims.iat * 1000;
}
