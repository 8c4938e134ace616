import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { anotherSignInMethod, lastSignInMethod } from '../accounts/sign-in-methods';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import { passkeys, type PasskeyRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { iso } from '../users/users';

export function passkeysOf(c: Context<AppEnv>, userId: string) {
  return database(c.env.DB)
    .select()
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(passkeys.createdAt);
}

/** The API's view of a passkey: no key material, no credential id. */
export const toPasskeyObject = (row: PasskeyRow) => ({
  id: row.id,
  name: row.name,
  created_at: iso(row.createdAt),
  last_used_at: row.lastUsedAt === null ? null : iso(row.lastUsedAt),
});

const notFound = () => new ApiError('not_found', 'No such passkey.');

export async function renamePasskey(
  c: Context<AppEnv>,
  userId: string,
  passkeyId: string,
  name: string,
): Promise<PasskeyRow> {
  const db = database(c.env.DB);
  const [[row]] = await db.batch([
    db
      .update(passkeys)
      .set({ name })
      .where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, userId)))
      .returning(),
    auditEvent(
      db,
      auditContext(c),
      'passkey.renamed',
      userId,
      { passkey_id: passkeyId },
      sql`changes() = 1`,
    ),
  ]);
  if (!row) throw notFound();
  return row;
}

/**
 * Deletes one of the user's passkeys, unless it is their last way to sign in: one conditional
 * DELETE decides, so two parallel deletions of a user's last two methods cannot both succeed.
 */
export async function deletePasskey(c: Context<AppEnv>, userId: string, passkeyId: string) {
  const db = database(c.env.DB);
  const mine = and(eq(passkeys.id, passkeyId), eq(passkeys.userId, userId));
  const [exists] = await db.select({ id: passkeys.id }).from(passkeys).where(mine);
  if (!exists) throw notFound();
  const [[removed]] = await db.batch([
    db
      .delete(passkeys)
      .where(and(mine, anotherSignInMethod(userId, { passkeyId })))
      .returning({ id: passkeys.id }),
    auditEvent(
      db,
      auditContext(c),
      'passkey.deleted',
      userId,
      { passkey_id: passkeyId },
      sql`changes() = 1`,
    ),
  ]);
  if (!removed) throw lastSignInMethod();
}
