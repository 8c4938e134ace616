import { base64url } from 'jose';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Config } from '../config';
import { hmac, timingSafeEqual, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { emailCodes, type UserRow } from '../db/schema';

export const EMAIL_CODE_TTL_SECONDS = 600;
export const EMAIL_CODE_MAX_ATTEMPTS = 5;

const CODE_SPACE = 1_000_000;
// The largest multiple of 10^6 below 2^32: draws at or above it are thrown away, so that every
// code is equally likely (a plain `% 10^6` would favour the low ones).
const UNBIASED_LIMIT = Math.floor(2 ** 32 / CODE_SPACE) * CODE_SPACE;

/** Six uniformly random digits, as a string (leading zeros count). */
export function newCode(): string {
  const draw = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(draw);
    if (draw[0]! < UNBIASED_LIMIT) return String(draw[0]! % CODE_SPACE).padStart(6, '0');
  }
}

/**
 * HMAC-SHA-256 under the pepper (its own purpose), of the code bound to its row, the account and
 * the address: 10^6 codes are no secret from anyone holding the table, the key is. A code cannot
 * be moved to another row, another address, or a later account with the same address.
 */
async function codeDigest(config: Config, id: string, user: UserRow, code: string) {
  const bound = JSON.stringify([id, user.id, user.email, code]);
  return hmac(config.PASSWORD_PEPPER, 'email-code', bound);
}

/**
 * A new code for the user's address, as statements for one batch: the address's earlier live
 * codes are spent in the same transaction, so only the newest code works.
 */
export async function issueCode(db: Database, config: Config, user: UserRow, now: number) {
  const id = uuidv7(now);
  const code = newCode();
  const codeHash = base64url.encode(await codeDigest(config, id, user, code));
  const statements = [
    db
      .update(emailCodes)
      .set({ usedAt: now })
      .where(and(eq(emailCodes.email, user.email), isNull(emailCodes.usedAt))),
    db.insert(emailCodes).values({
      id,
      email: user.email,
      codeHash,
      createdAt: now,
      expiresAt: now + EMAIL_CODE_TTL_SECONDS * 1000,
    }),
  ] as const;
  return { code, statements };
}

/**
 * Claims one attempt on the address's live code before anything is compared: one conditional
 * UPDATE, so of any number of parallel guesses at most EMAIL_CODE_MAX_ATTEMPTS ever get a row
 * to compare with. A code whose attempts are all used is spent.
 */
export function claimCodeAttempt(db: Database, email: string, now: number) {
  return db
    .update(emailCodes)
    .set({ attempts: sql`${emailCodes.attempts} + 1` })
    .where(
      and(
        eq(emailCodes.email, email),
        isNull(emailCodes.usedAt),
        gt(emailCodes.expiresAt, now),
        lt(emailCodes.attempts, EMAIL_CODE_MAX_ATTEMPTS),
      ),
    )
    .returning({ id: emailCodes.id, codeHash: emailCodes.codeHash, attempts: emailCodes.attempts });
}

export type ClaimedCode = Awaited<ReturnType<typeof claimCodeAttempt>>[number];

/** Whether `code` is the one stored in `row` for this user (constant-time, fixed length). */
export async function codeMatches(config: Config, row: ClaimedCode, user: UserRow, code: string) {
  if (!/^\d{6}$/.test(code)) return false;
  const expected = base64url.decode(row.codeHash);
  return timingSafeEqual(expected, await codeDigest(config, row.id, user, code));
}

/**
 * Spends a code that was claimed live and matched: one conditional UPDATE, so of two parallel
 * right answers (or a right answer and a new code replacing it) one wins.
 */
export function spendCode(db: Database, id: string, now: number) {
  return db
    .update(emailCodes)
    .set({ usedAt: now })
    .where(and(eq(emailCodes.id, id), isNull(emailCodes.usedAt)))
    .returning({ id: emailCodes.id });
}
