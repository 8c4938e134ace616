import { and, eq, sql } from 'drizzle-orm';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config } from '../config';
import { parseLegacyHash } from '../crypto/legacy/formats';
import { hashPassword } from '../crypto/password';
import type { Database } from '../db/client';
import { users, type UserRow } from '../db/schema';

/**
 * Replaces a verified password's stored hash with one in the worker's current form: an imported
 * hash at its first sign-in, or our own with outdated parameters. The UPDATE holds only while the
 * hash is still the one that was verified, so a password changed or reset meanwhile is never
 * overwritten with the old password, and of two parallel first sign-ins one writes and the other
 * changes nothing (both still sign in: each proved the password). The audit event names the old
 * hash's kind, never a hash.
 */
export async function rehashPassword(
  db: Database,
  config: Config,
  ctx: AuditContext,
  user: UserRow,
  password: string,
): Promise<void> {
  const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
  const legacy = parseLegacyHash(user.passwordHash);
  const from = legacy.ok ? legacy.hash.kind : 'outdated';
  const written = sql`EXISTS (SELECT 1 FROM users WHERE id = ${user.id} AND password_hash = ${passwordHash})`;
  await db.batch([
    db
      .update(users)
      .set({ passwordHash, updatedAt: Date.now() })
      .where(and(eq(users.id, user.id), eq(users.passwordHash, user.passwordHash))),
    auditEvent(db, ctx, 'password.rehashed', user.id, { from }, written),
  ]);
}
