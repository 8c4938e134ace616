import type { Context } from 'hono';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { unavailable } from '../errors';
import { assertAdminMfa, unauthorized, verifiedBearer } from '../middleware/bearer';
import { readRevocation } from '../sessions/revocation';
import { readOrConfirm } from '../replicas/read-db';
import { toUserObject, userById, type UserObject } from '../users/users';
import { cachedProfile, fillProfile, profileKeys } from './cache';

/**
 * GET /users/me: the bearer check and the profile in one KV bulk get, and no D1 call when the
 * profile is cached. The cache never decides access: the token's signature and claims and the
 * `revoked:` keys do, as for every bearer route; a cached disabled or deleted account is a 401 on
 * top of the cut-off its disabling or deletion already wrote there.
 */
export async function bearerProfile(c: Context<AppEnv>): Promise<UserObject> {
  const claims = await verifiedBearer(c);
  if (!claims) throw unauthorized();
  let read;
  try {
    read = await readRevocation(c.env.KV, claims, profileKeys(claims.sub));
  } catch (err) {
    // Fail closed, as the bearer check does: 503, not 401 (src/middleware/bearer.ts).
    c.var.log.error('revocation check failed', { error: String(err) });
    throw unavailable();
  }
  if (read.revoked) throw unauthorized();
  c.set('auth', claims);
  // REQUIRE_ADMIN_MFA makes an admin's access turn on their TOTP state: that is read from D1.
  const adminCheck = c.var.config.REQUIRE_ADMIN_MFA && claims.role === 'admin';
  const cached = adminCheck ? null : cachedProfile(read.found, claims.sub);
  if (cached) {
    if ('gone' in cached || cached.disabled) throw unauthorized();
    return cached.user;
  }
  // A miss reads a replica (src/replicas), confirming "no such user" on the primary; the admin
  // two-factor rule is an access decision, so that read is the primary's.
  const row = adminCheck
    ? await userById(database(c.env.DB), claims.sub)
    : await readOrConfirm(c, (db) => userById(db, claims.sub));
  if (!row || row.disabledAt !== null) throw unauthorized();
  if (adminCheck) assertAdminMfa(c, row);
  c.executionCtx.waitUntil(fillProfile(c.env.KV, row, c.var.log));
  return toUserObject(row);
}
