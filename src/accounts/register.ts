import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { hashPassword } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { appLink, sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { validNewPassword } from '../policy/fields';
import { issueToken } from '../tokens/one-time';

/**
 * Creates an account and mails its verification link, or returns null when the email is taken
 * (the UNIQUE index decides races: of two concurrent registrations exactly one inserts). The
 * password is checked against the policy first (422 naming `field`).
 */
export async function registerAccount(
  c: Context<AppEnv>,
  input: { email: string; password: string; name?: string | undefined },
  field = 'password',
): Promise<UserRow | null> {
  const config = c.var.config;
  const db = database(c.env.DB);
  const checked = await validNewPassword(db, input.password, input.email, config, field, c.var.log);
  const now = Date.now();
  const id = uuidv7(now);
  const userCreated = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id})`;
  const verification = await issueToken(
    db,
    id,
    'verify_email',
    config.VERIFY_EMAIL_TTL,
    now,
    userCreated,
  );
  const [[created]] = await db.batch([
    db
      .insert(users)
      .values({
        id,
        email: input.email,
        name: input.name ?? null,
        passwordHash: await hashPassword(checked, config.PASSWORD_PEPPER),
        createdAt: now,
        updatedAt: now,
      })
      .onConflictDoNothing({ target: users.email })
      .returning(),
    auditEvent(db, auditContext(c), 'user.registered', id, { email: input.email }, userCreated),
    ...verification.statements,
  ]);
  if (!created) return null;
  const link = appLink(c, 'verify-email', verification.token);
  sendLater(c, templates.verifyEmail(created.email, config.PRODUCT_NAME, link));
  return created;
}
