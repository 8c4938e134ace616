import type { Rate } from '../config';

export type RateDecision = {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetSeconds: number;
};

/**
 * The one seam for rate limiting: a Durable Object or the Workers rate-limit binding can
 * implement it and replace the KV version without touching the routes.
 */
export interface RateLimiter {
  hit(key: string, rate: Rate, now: number): Promise<RateDecision>;
}

type Local = { count: number; writtenAt: number; readAt: number };
// How often one isolate reads one counter from KV (and writes it: KV takes one write per second
// per key). A read is already up to a minute stale elsewhere (KV caches reads for 60 s).
const KV_INTERVAL_MS = 1000;
const MAX_LOCAL_ENTRIES = 10_000;
// Per isolate: exact for every request this isolate serves, whatever KV says.
const local = new Map<string, Local>();

/**
 * Fixed-window counters in KV, approximate by nature (see README, "Rate limits"):
 * - KV has no increment, so the count is max(this isolate's exact count, KV's count) + 1: a
 *   stale or lost KV value can only make this isolate count *more*, never fewer, than it saw.
 * - KV takes one write per second per key, so an isolate writes a key at most once a second (in
 *   the background); bursts in between are still counted in memory. It also reads a key at most
 *   once a second: in between, its own count, which took in the last value read, decides.
 * - What can be lost is increments made by *other* isolates in the same second, and other
 *   locations' counts for up to a minute: an attacker gains at most that, never a reset.
 * A KV failure fails open to the in-memory count: rate limiting protects capacity, it does
 * not decide access (the lockout in D1 does that for passwords).
 */
export function kvRateLimiter(
  kv: KVNamespace,
  defer: (work: Promise<unknown>) => void,
  onError: (err: unknown) => void,
): RateLimiter {
  return {
    async hit(key, rate, now) {
      const windowMs = rate.windowSeconds * 1000;
      const windowStart = Math.floor(now / windowMs) * windowMs;
      const storageKey = `ratelimit:${key}:${windowStart}`;
      const resetSeconds = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
      const mine = local.get(storageKey) ?? { count: 0, writtenAt: 0, readAt: 0 };

      let shared = 0;
      if (mine.count < rate.limit && now - mine.readAt >= KV_INTERVAL_MS) {
        try {
          shared = Number(await kv.get(storageKey)) || 0;
          mine.readAt = now;
        } catch (err) {
          onError(err);
        }
      }
      const count = Math.max(mine.count, shared);
      if (count >= rate.limit) {
        return { allowed: false, limit: rate.limit, remaining: 0, resetSeconds };
      }
      mine.count = count + 1;
      remember(storageKey, mine, now);
      if (now - mine.writtenAt >= KV_INTERVAL_MS) {
        mine.writtenAt = now;
        const ttl = Math.max(60, rate.windowSeconds + 60);
        defer(kv.put(storageKey, String(mine.count), { expirationTtl: ttl }).catch(onError));
      }
      return { allowed: true, limit: rate.limit, remaining: rate.limit - mine.count, resetSeconds };
    },
  };
}

function remember(key: string, entry: Local, now: number) {
  local.set(key, entry);
  if (local.size <= MAX_LOCAL_ENTRIES) return;
  // Windows are at most a day long: entries not written for that long are over.
  for (const [k, v] of local) if (now - v.writtenAt > 86_400_000) local.delete(k);
  if (local.size > MAX_LOCAL_ENTRIES) local.delete(local.keys().next().value!);
}

/**
 * The rate-limit identity of a client address: IPv4 as is, IPv6 by its /64 (one customer's
 * subnet; per-address limits would be free to evade there), anything unparsable by its text.
 */
export function ipBucket(ip: string | null): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return ip;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
