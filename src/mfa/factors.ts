import { base64url } from 'jose';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Config } from '../config';
import { open } from '../crypto/secret-box';
import { hmac, uuidv7 } from '../crypto/tokens';
import { base32Encode, matchTotp } from '../crypto/totp';
import type { Database } from '../db/client';
import { recoveryCodes, users, type UserRow } from '../db/schema';

export const RECOVERY_CODE_COUNT = 10;

/** 80 random bits each, in base32 (no 0/O or 1/I to confuse), grouped: ABCD-EFGH-JKLM-NPQR. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    base32Encode(crypto.getRandomValues(new Uint8Array(10)))
      .match(/.{4}/g)!
      .join('-'),
  );
}

/**
 * Stored as HMAC-SHA-256 under the pepper, per user: 80 bits are out of reach of an online
 * guesser, and a stolen table is useless without the Worker secret (ASVS 6.5.2).
 */
export async function recoveryCodeHash(config: Config, userId: string, code: string) {
  const normalized = code.toUpperCase().replace(/[\s-]/g, '');
  return base64url.encode(
    await hmac(config.PASSWORD_PEPPER, 'recovery-code', `${userId}:${normalized}`),
  );
}

export function recoveryCodeRows(
  db: Database,
  userId: string,
  hashes: string[],
  now: number,
  onlyIf: ReturnType<typeof sql>,
) {
  return hashes.map((hash) =>
    db
      .insert(recoveryCodes)
      .select(sql`SELECT ${uuidv7(now)}, ${userId}, ${hash}, ${now}, NULL WHERE ${onlyIf}`),
  );
}

export async function totpSecretOf(config: Config, user: UserRow): Promise<Uint8Array | null> {
  if (!user.totpSecret || user.totpKeyVersion === null) return null;
  return open(
    config.TOTP_ENCRYPTION_KEY,
    { ciphertext: user.totpSecret, version: user.totpKeyVersion },
    user.id,
  );
}

export type Factor = { kind: 'totp'; step: number } | { kind: 'recovery'; codeHash: string };

/**
 * What `code` could be: a TOTP code matching a current step, or something shaped like a
 * recovery code. Either is only *accepted* by consumeFactor's conditional UPDATE.
 */
export async function readFactor(
  config: Config,
  user: UserRow,
  code: string,
  now: number,
): Promise<Factor | null> {
  if (/^\d{6}$/.test(code)) {
    const secret = await totpSecretOf(config, user);
    const step = secret && (await matchTotp(secret, code, now));
    return step === null || step === undefined ? null : { kind: 'totp', step };
  }
  if (/^[A-Za-z2-7]{4}(-?[A-Za-z2-7]{4}){3}$/.test(code.trim())) {
    return { kind: 'recovery', codeHash: await recoveryCodeHash(config, user.id, code.trim()) };
  }
  return null;
}

/**
 * Makes a factor single-use with one conditional UPDATE: a TOTP step must be later than the last
 * accepted one (so a replay in the same step, an older step, or a parallel twin fails: RFC 6238
 * §5.2), a recovery code must be unused. Exactly one row changes, or none.
 */
export function consumeFactor(db: Database, userId: string, factor: Factor, now: number) {
  if (factor.kind === 'totp') {
    return db
      .update(users)
      .set({ totpLastStep: factor.step })
      .where(
        and(
          eq(users.id, userId),
          sql`${users.totpEnabledAt} IS NOT NULL`,
          sql`(${users.totpLastStep} IS NULL OR ${users.totpLastStep} < ${factor.step})`,
        ),
      )
      .returning({ id: users.id });
  }
  return db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(
      and(
        eq(recoveryCodes.userId, userId),
        eq(recoveryCodes.codeHash, factor.codeHash),
        isNull(recoveryCodes.usedAt),
      ),
    )
    .returning({ id: recoveryCodes.id });
}

/** Turns TOTP off: the secret, its state and every recovery code go (disable, admin removal). */
export function removeFactorStatements(db: Database, userId: string, now: number) {
  return [
    db
      .update(users)
      .set({
        totpSecret: null,
        totpKeyVersion: null,
        totpEnabledAt: null,
        totpLastStep: null,
        updatedAt: now,
      })
      .where(eq(users.id, userId)),
    db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)),
  ] as const;
}
