import { createMiddleware } from 'hono/factory';
import type { Role } from '../crypto/jwt';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { requireAuth } from './bearer';

/**
 * No or bad token: 401 (from requireAuth). Another role: 403 `forbidden`. The role comes from the
 * access token, so a demotion shows at the next refresh (at most ACCESS_TOKEN_TTL later); a
 * disable is immediate because it revokes every session.
 */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) =>
    requireAuth(c, async () => {
      if (c.var.auth.role !== role) throw new ApiError('forbidden', 'This needs the admin role.');
      await next();
    }),
  );
