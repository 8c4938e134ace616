import type { Context } from 'hono';
import type { AppEnv } from './env';
import type { ClientMeta } from './sessions/store';

/**
 * The client as Cloudflare saw it. `CF-Connecting-IP` is set by the edge and cannot be forged
 * through it; `X-Forwarded-For` is whatever the client sent and is never read (API.md).
 */
export function clientMeta(c: Context<AppEnv>): ClientMeta {
  const ip = c.req.header('CF-Connecting-IP')?.slice(0, 64) ?? null;
  const userAgent = c.req.header('User-Agent')?.slice(0, 512) ?? null;
  return { ip, userAgent };
}
