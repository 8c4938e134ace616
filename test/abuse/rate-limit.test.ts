import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ipBucket, kvRateLimiter } from '../../src/abuse/rate-limit';
import { call, countingKv, expectProblem, json, uniqueEmail } from '../helpers';

let n = 0;
/** A fresh documentation-range address per test, so limits never leak between tests. */
const freshIp = () => `198.51.100.${++n}`;
const tight = {
  RATE_LIMIT_LOGIN: '3/60',
  RATE_LIMIT_REGISTER: '2/3600',
  RATE_LIMIT_REFRESH: '2/60',
};

const login = (ip: string, extra: Record<string, string> = {}) =>
  call(
    '/auth/login',
    json(
      { email: uniqueEmail(), password: 'whatever password' },
      { 'CF-Connecting-IP': ip, ...extra },
    ),
    tight,
  );

describe('per-IP rate limits', () => {
  it('answer 429 rate_limited with Retry-After once over the limit, with RateLimit headers', async () => {
    const ip = freshIp();
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await login(ip);
      statuses.push(res.status);
      expect(res.headers.get('RateLimit-Limit')).toBe('3');
      expect(res.headers.get('RateLimit-Remaining')).toBe(String(2 - i));
      expect(res.headers.get('RateLimit-Policy')).toBe('3;w=60');
    }
    expect(statuses).toEqual([401, 401, 401]);
    const limited = await login(ip);
    await expectProblem(limited, 429, 'rate_limited');
    const retryAfter = Number(limited.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('RateLimit-Remaining')).toBe('0');
  });

  it('are not reset by rotating X-Forwarded-For and friends', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await login(ip);
    for (let i = 0; i < 5; i++) {
      const spoofed = `203.0.113.${i}`;
      const res = await login(ip, {
        'X-Forwarded-For': spoofed,
        'X-Real-IP': spoofed,
        'True-Client-IP': spoofed,
        Forwarded: `for=${spoofed}`,
      });
      await expectProblem(res, 429, 'rate_limited');
    }
  });

  it('do not limit a second IP', async () => {
    const ip = freshIp();
    for (let i = 0; i < 4; i++) await login(ip);
    expect((await login(freshIp())).status).toBe(401);
  });

  it('bucket IPv6 clients by /64', async () => {
    const prefix = `2001:db8:${++n}:1`;
    for (let i = 0; i < 3; i++) await login(`${prefix}::${i + 1}`);
    await expectProblem(await login(`${prefix}:ffff:ffff:ffff:ffff`), 429, 'rate_limited');
    expect((await login(`2001:db8:${n}:2::1`)).status).toBe(401);
  });

  it('apply per route: register and refresh have their own budgets', async () => {
    const ip = freshIp();
    for (let i = 0; i < 3; i++) await login(ip);
    const headers = { 'CF-Connecting-IP': ip };
    const register = () =>
      call(
        '/auth/register',
        json({ email: uniqueEmail(), password: 'a long enough passphrase' }, headers),
        tight,
      );
    expect((await register()).status).toBe(201);
    expect((await register()).status).toBe(201);
    await expectProblem(await register(), 429, 'rate_limited');
    const refresh = () => call('/auth/refresh', json({ refresh_token: 'x' }, headers), tight);
    expect((await refresh()).status).toBe(401);
    expect((await refresh()).status).toBe(401);
    await expectProblem(await refresh(), 429, 'rate_limited');
  });
});

describe('the KV counter behind the limits', () => {
  /** A limiter on the real KV that counts its calls and keeps its deferred writes to await. */
  function counted() {
    const { kv, counts: calls } = countingKv();
    const pending: Promise<unknown>[] = [];
    const limiter = kvRateLimiter(
      kv,
      (work) => pending.push(work),
      (err) => {
        throw err;
      },
    );
    return { limiter, calls, settle: () => Promise.all(pending) };
  }
  const rate = { limit: 100, windowSeconds: 3600 };
  // Inside one window of `rate`, whatever the clock says when the test runs.
  const t0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 + 1000;
  let k = 0;
  const freshKey = () => `counter-test-${++k}-${crypto.randomUUID()}`;

  it('reads a counter from KV at most once a second per isolate, and counts every hit', async () => {
    const { limiter, calls } = counted();
    const key = freshKey();
    const remaining = [];
    for (const at of [0, 1, 500, 999])
      remaining.push((await limiter.hit(key, rate, t0 + at)).remaining);
    expect(calls.kvReads).toBe(1);
    expect(remaining).toEqual([99, 98, 97, 96]);
    await limiter.hit(key, rate, t0 + 1000);
    expect(calls.kvReads).toBe(2);
  });

  it('takes in what other isolates wrote at its next read: the larger count wins', async () => {
    const { limiter, settle } = counted();
    const key = freshKey();
    await limiter.hit(key, rate, t0);
    await settle();
    const storageKey = `ratelimit:${key}:${t0 - 1000}`;
    expect(await env.KV.get(storageKey)).toBe('1');
    // Another isolate has counted 40 hits meanwhile.
    await env.KV.put(storageKey, '40');
    expect((await limiter.hit(key, rate, t0 + 200)).remaining).toBe(98);
    expect((await limiter.hit(key, rate, t0 + 1200)).remaining).toBe(59);
    // And a stale, smaller KV value never lowers this isolate's count.
    await env.KV.put(storageKey, '3');
    expect((await limiter.hit(key, rate, t0 + 2400)).remaining).toBe(58);
  });

  it('refuses once the count reaches the limit without reading KV again', async () => {
    const { limiter, calls } = counted();
    const key = freshKey();
    const small = { limit: 3, windowSeconds: 3600 };
    const allowed = [];
    for (let i = 0; i < 5; i++)
      allowed.push((await limiter.hit(key, small, t0 + 2000 * i)).allowed);
    expect(allowed).toEqual([true, true, true, false, false]);
    expect(calls.kvReads).toBe(3);
  });
});

describe('ipBucket', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [null, 'unknown'],
  ])('maps %s to %s', (ip, bucket) => {
    expect(ipBucket(ip)).toBe(bucket);
  });
});
