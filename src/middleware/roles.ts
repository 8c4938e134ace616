import { createMiddleware } from 'hono/factory';
import { auditContext, auditEvent } from '../audit/audit';
import type { Role } from '../crypto/jwt';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { userById } from '../users/users';
import { assertAdminMfa, isLive, unauthorized, verifiedBearer } from './bearer';

/**
 * No or bad token: 401. Another role: 403 `forbidden`, audited (THREATS I1). The role is the one
 * stored now, not the token's claim: a demoted admin's token, still within its lifetime and
 * perhaps not yet cut where KV has not converged, is refused on the next request (THREATS K14).
 * The stored role is read before revocation, so a demoted admin hears 403 (final) rather than
 * 401 (which tells a client to refresh and try again), and a promoted user's old token, cut by
 * the promotion, hears 401 and refreshes into the new role.
 */
export const requireRole = (role: Role) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const claims = await verifiedBearer(c);
    if (!claims) throw unauthorized();
    const db = database(c.env.DB);
    const user = await userById(db, claims.sub);
    if (!user || user.disabledAt !== null) throw unauthorized();
    if (user.role !== role) {
      await db.batch([
        auditEvent(db, auditContext(c), 'access.denied', user.id, {
          method: c.req.method,
          path: c.req.path.slice(0, 200),
          needs: role,
        }),
      ]);
      throw new ApiError('forbidden', `This needs the ${role} role.`);
    }
    if (!(await isLive(c, claims))) throw unauthorized();
    c.set('auth', claims);
    assertAdminMfa(c, user);
    await next();
  });
