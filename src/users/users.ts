import * as z from 'zod';
import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import type { Database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { users, type UserRow } from '../db/schema';
import { readOrConfirm } from '../replicas/read-db';

export const userObject = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.enum(['user', 'admin']),
    email_verified: z.boolean(),
    mfa_enabled: z.boolean(),
    created_at: z.string(),
  })
  .openapi('User');
export type UserObject = z.infer<typeof userObject>;

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export function toUserObject(user: UserRow): UserObject {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    email_verified: user.emailVerifiedAt !== null,
    mfa_enabled: user.totpEnabledAt !== null,
    created_at: iso(user.createdAt),
  };
}

export async function userById(db: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  return row;
}

export async function userByEmail(db: Database, email: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.email, email));
  return row;
}

/** A display name: trimmed, 1 to 100 characters, no control or format characters. */
export const nameField = z
  .string()
  .transform((s) => s.trim().normalize('NFC'))
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .max(100, 'must be at most 100 characters')
      .refine((s) => !/\p{C}/u.test(s), 'must not contain control characters'),
  );

/** The bearer's own row; a token whose user is gone or disabled is as good as none (401). */
export async function signedInUser(c: Context<AppEnv>): Promise<UserRow> {
  // GET reads a replica; a user it does not know yet is confirmed on the primary (readOrConfirm).
  const user = await readOrConfirm(c, (db) => userById(db, c.var.auth.sub));
  if (!user || user.disabledAt !== null) {
    throw new ApiError('unauthorized', 'A valid access token is required.');
  }
  return user;
}
