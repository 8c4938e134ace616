import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { failureStatements } from '../abuse/lockout';
import { authenticate } from '../accounts/authenticate';
import { auditContext, auditEvent } from '../audit/audit';
import { seal } from '../crypto/secret-box';
import { base32Encode, matchTotp, newTotpSecret, otpauthUri, qrSvg } from '../crypto/totp';
import { database } from '../db/client';
import { recoveryCodes, users, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { assertSessionLive, revokeUserSessions } from '../sessions/store';
import {
  consumeFactor,
  newRecoveryCodes,
  readFactor,
  recoveryCodeHash,
  recoveryCodeRows,
  removeFactorStatements,
  totpSecretOf,
} from './factors';
import { profileStores, userWritten } from '../profile/cache';

// Turning TOTP on and off for a signed-in user, for the API and the account page alike.

const alreadyOn = () =>
  new ApiError('mfa_already_enabled', 'Two-factor authentication is already on.');

/**
 * A new pending secret, its otpauth:// URI and that URI as an SVG QR code, shown once. Needs the
 * password: a stolen access token alone must not be able to put a factor on the account and
 * lock its owner out. The password is checked under the lockout like every proof.
 */
export async function startTotpEnrolment(c: Context<AppEnv>, user: UserRow, password: string) {
  const config = c.var.config;
  const db = database(c.env.DB);
  if (user.totpEnabledAt !== null) throw alreadyOn();
  const auth = await authenticate(db, config, auditContext(c), user.email, password, 'mfa_setup');
  const secret = newTotpSecret();
  const sealed = await seal(config.TOTP_ENCRYPTION_KEY, secret, user.id);
  const [pending] = await db.batch([
    db
      .update(users)
      .set({
        totpSecret: sealed.ciphertext,
        totpKeyVersion: sealed.version,
        totpLastStep: null,
        updatedAt: Date.now(),
      })
      .where(and(eq(users.id, user.id), isNull(users.totpEnabledAt)))
      .returning({ id: users.id }),
    auth.clearFailures,
  ]);
  if (pending.length === 0) throw alreadyOn();
  await userWritten(profileStores(c), user.id);
  const uri = otpauthUri(secret, config.PRODUCT_NAME, user.email);
  return { secret: base32Encode(secret), otpauthUri: uri, qrSvg: qrSvg(uri) };
}

/**
 * Turns TOTP on with a code from the pending secret (the confirming code's step counts as used,
 * THREATS H6) and returns 10 recovery codes, shown once; the user is mailed a notice.
 */
export async function confirmTotpEnrolment(
  c: Context<AppEnv>,
  user: UserRow,
  code: string,
): Promise<string[]> {
  const config = c.var.config;
  const db = database(c.env.DB);
  if (user.totpEnabledAt !== null) throw alreadyOn();
  const secret = await totpSecretOf(config, user);
  const now = Date.now();
  const step = secret && (await matchTotp(secret, code, now));
  const wrong = new ApiError(
    'invalid_mfa_code',
    'The code is not valid; check the time on your device.',
    { status: 400 },
  );
  if (step === null || step === undefined) {
    await db.batch([auditEvent(db, auditContext(c), 'mfa.failed', user.id, { during: 'enable' })]);
    throw wrong;
  }
  const codes = newRecoveryCodes();
  const hashes = await Promise.all(codes.map((rc) => recoveryCodeHash(config, user.id, rc)));
  // Enabled only if the secret is still the one this code was checked against.
  const enabledNow = sql`EXISTS (SELECT 1 FROM users WHERE id = ${user.id} AND totp_enabled_at = ${now})`;
  const [enabled] = await db.batch([
    db
      .update(users)
      .set({ totpEnabledAt: now, totpLastStep: step, updatedAt: now })
      .where(
        and(
          eq(users.id, user.id),
          isNull(users.totpEnabledAt),
          eq(users.totpSecret, user.totpSecret!),
        ),
      )
      .returning({ id: users.id }),
    db.delete(recoveryCodes).where(and(eq(recoveryCodes.userId, user.id), sql`${enabledNow}`)),
    ...recoveryCodeRows(db, user.id, hashes, now, enabledNow),
    auditEvent(db, auditContext(c), 'mfa.enabled', user.id, {}, enabledNow),
  ]);
  if (enabled.length === 0) throw wrong;
  await userWritten(profileStores(c), user.id);
  sendLater(c, templates.mfaEnabled(user.email, config.PRODUCT_NAME));
  return codes;
}

/**
 * Turns TOTP off with the password and a current (or recovery) code; the other sessions are
 * revoked and the user is mailed. A wrong code is a failure like a wrong password, under the
 * same lockout (the attempt the password check claimed stays counted).
 */
export async function turnOffTotp(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  password: string,
  code: string,
) {
  const config = c.var.config;
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  await assertSessionLive(db, sessionId, Date.now());
  const auth = await authenticate(db, config, ctx, user.email, password, 'mfa_disable');
  const now = Date.now();
  const factor = user.totpEnabledAt !== null ? await readFactor(config, user, code, now) : null;
  const consumed = factor ? (await db.batch([consumeFactor(db, user.id, factor, now)]))[0] : [];
  if (consumed.length !== 1) {
    await db.batch([
      auditEvent(db, ctx, 'mfa.failed', user.id, { during: 'disable', attempt: auth.attempt }),
      ...failureStatements(db, config, ctx, user.email, user.id, auth.attempt, now),
    ]);
    throw new ApiError('invalid_mfa_code', 'The code is not valid.', { status: 403 });
  }
  await revokeUserSessions(db, c.env.KV, config, user.id, 'mfa_disabled', now, {
    keep: sessionId,
    alsoRun: [
      ...removeFactorStatements(db, user.id, now),
      auth.clearFailures,
      auditEvent(db, ctx, 'mfa.disabled', user.id, { session_id: sessionId }),
    ],
  });
  await userWritten(profileStores(c), user.id);
  sendLater(c, templates.mfaDisabled(user.email, config.PRODUCT_NAME));
}
