import { eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { hashPassword } from '../crypto/password';
import { database } from '../db/client';
import { users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { validNewPassword } from '../policy/fields';
import { assertSessionLive, revokeUserSessions } from '../sessions/store';
import { spendTokens } from '../tokens/one-time';
import { authenticate } from './authenticate';

/**
 * A signed-in user's new password. The current one is checked under the same lockout as a
 * sign-in (a stolen session must not buy unlimited guesses); every other session is revoked,
 * outstanding reset links are spent, and the user is mailed.
 */
export async function changePassword(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  current: string,
  next: string,
  field = 'new_password',
) {
  const config = c.var.config;
  const db = database(c.env.DB);
  await assertSessionLive(db, sessionId, Date.now());
  const password = await validNewPassword(db, next, user.email, config, field, c.var.log);
  const ctx = auditContext(c);
  const auth = await authenticate(db, config, ctx, user.email, current, 'password_change');
  const now = Date.now();
  const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
  await revokeUserSessions(db, c.env.KV, config, user.id, 'password_changed', now, {
    keep: sessionId,
    alsoRun: [
      db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, user.id)),
      auth.clearFailures,
      // A reset link mailed before the change must not undo it (THREATS G6).
      spendTokens(db, user.id, 'reset_password', now),
      auditEvent(db, ctx, 'password.changed', user.id, { session_id: sessionId }),
    ],
  });
  sendLater(c, templates.passwordChanged(user.email, config.PRODUCT_NAME));
}
