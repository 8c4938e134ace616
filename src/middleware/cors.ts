import { cors as honoCors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';

const allowedCors = honoCors({
  origin: (origin) => origin,
  credentials: true,
  allowMethods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
  allowHeaders: ['Content-Type', 'Authorization', 'X-Request-Id', 'X-D1-Bookmark'],
  exposeHeaders: [
    'X-Request-Id',
    // src/replicas: a browser app reads it and sends it back for read-your-writes.
    'X-D1-Bookmark',
    'Retry-After',
    'RateLimit-Limit',
    'RateLimit-Remaining',
    'RateLimit-Reset',
  ],
  maxAge: 600,
});

/**
 * Credentialed CORS for the configured origins only. An exact match is echoed; any other origin
 * (or none) gets no CORS header at all, so never `*` and never a reflected origin (THREATS E4).
 */
export const cors = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header('Origin');
  if (origin && c.var.config.ALLOWED_ORIGINS.includes(origin)) return allowedCors(c, next);
  await next();
  c.res.headers.append('Vary', 'Origin');
});
