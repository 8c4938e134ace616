import { sql, type SQL } from 'drizzle-orm';
import { NO_PASSWORD } from '../crypto/password';
import { ApiError } from '../errors';

/**
 * The ways a user can sign in on their own: a password, a linked identity, a passkey. (An email
 * code is a recovery channel, like a reset link: it is always there, so it does not count.)
 * `anotherSignInMethod` is true when the user keeps at least one besides the one named, so a
 * conditional DELETE with it as its guard can never remove the last one, even when two removals
 * run in parallel (D1 serialises the writers; the second sees the first's result).
 */
export function anotherSignInMethod(
  userId: string,
  except: { identityId?: string; passkeyId?: string },
): SQL {
  const identityId = except.identityId ?? '';
  const passkeyId = except.passkeyId ?? '';
  return sql`(EXISTS (SELECT 1 FROM users WHERE id = ${userId} AND password_hash != ${NO_PASSWORD})
    OR EXISTS (SELECT 1 FROM identities WHERE user_id = ${userId} AND id != ${identityId})
    OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ${userId} AND id != ${passkeyId}))`;
}

export const lastSignInMethod = () =>
  new ApiError(
    'last_sign_in_method',
    'This is your only way to sign in: set a password, link an account or add a passkey first.',
  );
