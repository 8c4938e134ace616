import { createMiddleware } from 'hono/factory';
import { ipBucket, kvRateLimiter, type RateDecision, type RateLimiter } from '../abuse/rate-limit';
import type { Config } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import type { Context } from 'hono';

type Limited =
  | 'REGISTER'
  | 'LOGIN'
  | 'REFRESH'
  | 'FORGOT_PASSWORD'
  | 'EMAIL_RESEND'
  | 'MFA_VERIFY'
  | 'INTROSPECT';

export function rateLimiter(c: Context<AppEnv>): RateLimiter {
  return kvRateLimiter(
    c.env.KV,
    (work) => c.executionCtx.waitUntil(work),
    (err) => c.var.log.warn('rate limit store failed', { error: String(err) }),
  );
}

/** draft-ietf-httpapi-ratelimit-headers fields, on every response of a limited route. */
function headers(decision: RateDecision, windowSeconds: number): Record<string, string> {
  return {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(decision.resetSeconds),
    'RateLimit-Policy': `${decision.limit};w=${windowSeconds}`,
  };
}

/** Throws 429 `rate_limited` with Retry-After when `key` is over `rate`. */
async function enforce(
  c: Context<AppEnv>,
  name: string,
  key: string,
  rate: Config['RATE_LIMIT_LOGIN'],
) {
  const decision = await rateLimiter(c).hit(`${name}:${key}`, rate, Date.now());
  const fields = headers(decision, rate.windowSeconds);
  if (!decision.allowed) {
    throw new ApiError('rate_limited', 'Too many requests; try again later.', {
      headers: { ...fields, 'Retry-After': String(decision.resetSeconds) },
    });
  }
  for (const [k, v] of Object.entries(fields)) c.header(k, v);
}

/**
 * Per client IP (`CF-Connecting-IP`, IPv6 by /64; `X-Forwarded-For` is never read), with the
 * budget `RATE_LIMIT_<name>`. `bucket` gives a route that shares a budget its own count.
 */
export const rateLimit = (name: Limited, bucket = name.toLowerCase()) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const ip = c.req.header('CF-Connecting-IP')?.slice(0, 64) ?? null;
    await enforce(c, bucket, `ip:${ipBucket(ip)}`, c.var.config[`RATE_LIMIT_${name}`]);
    await next();
  });
