import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Browsers name the page behind every POST in `Origin`. A state-changing request from a page
 * that is neither ours nor allowed is refused whatever it carries: this stops login CSRF
 * (THREATS E6) on top of the JSON-only rule. Clients that are not browsers send no Origin.
 */
export const guardOrigin = createMiddleware<AppEnv>(async (c, next) => {
  const origin = c.req.header('Origin');
  if (SAFE.has(c.req.method) || origin === undefined) return next();
  const { ISSUER, ALLOWED_ORIGINS } = c.var.config;
  if (origin === new URL(ISSUER).origin || ALLOWED_ORIGINS.includes(origin)) return next();
  throw new ApiError('csrf_rejected', 'Requests from this origin are not allowed.');
});
