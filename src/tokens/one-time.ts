import { and, eq, isNull, sql, type SQL } from 'drizzle-orm';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import type { Database } from '../db/client';
import { oneTimeTokens } from '../db/schema';

export type Purpose = 'verify_email' | 'reset_password' | 'email_change' | 'invite';

/**
 * A fresh 256-bit token for `userId` and `purpose`, as statements for the caller's batch: the
 * user's older unused tokens of that purpose are spent in the same transaction. With `onlyIf`,
 * nothing is written unless that condition holds in the batch (the user row was just created).
 */
export async function issueToken(
  db: Database,
  userId: string,
  purpose: Purpose,
  ttlSeconds: number,
  now: number,
  onlyIf?: SQL,
) {
  const token = randomToken(32);
  const tokenHash = await sha256(token);
  const statements = [
    spendTokens(db, userId, purpose, now, onlyIf),
    db.insert(oneTimeTokens).select(
      sql`SELECT ${uuidv7(now)}, ${userId}, ${purpose}, ${tokenHash}, ${now}, ${now + ttlSeconds * 1000}, NULL, NULL, NULL, NULL
          WHERE ${onlyIf ?? sql`1`}`,
    ),
  ] as const;
  return { token, statements };
}

/** Spends every unused token of the user for `purpose` (a new one was issued, or used). */
export function spendTokens(
  db: Database,
  userId: string,
  purpose: Purpose,
  now: number,
  onlyIf?: SQL,
) {
  return db
    .update(oneTimeTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(oneTimeTokens.userId, userId),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        onlyIf,
      ),
    );
}

/** The live token's owner, read before consuming (to check a new password against the policy). */
export async function peekToken(db: Database, token: string, purpose: Purpose, now: number) {
  const [row] = await db
    .select({ userId: oneTimeTokens.userId })
    .from(oneTimeTokens)
    .where(
      and(
        eq(oneTimeTokens.tokenHash, await sha256(token)),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        sql`${oneTimeTokens.expiresAt} > ${now}`,
      ),
    );
  return row?.userId;
}

/**
 * Consumes a token with one conditional UPDATE (unused, unexpired, right purpose), marking it
 * with a per-request id. `consumed` is the SQL condition "this request consumed it", and
 * `userOf` the SQL subquery for its user: the caller's other statements in the same batch use
 * them, so of two concurrent submissions exactly one has any effect.
 */
export async function consumeToken(db: Database, token: string, purpose: Purpose, now: number) {
  const tokenHash = await sha256(token);
  const marker = crypto.randomUUID();
  const consumed = sql`EXISTS (SELECT 1 FROM one_time_tokens WHERE token_hash = ${tokenHash} AND consumed_by = ${marker})`;
  const userOf = sql`(SELECT user_id FROM one_time_tokens WHERE token_hash = ${tokenHash} AND consumed_by = ${marker})`;
  const consume = db
    .update(oneTimeTokens)
    .set({ usedAt: now, consumedBy: marker })
    .where(
      and(
        eq(oneTimeTokens.tokenHash, tokenHash),
        eq(oneTimeTokens.purpose, purpose),
        isNull(oneTimeTokens.usedAt),
        sql`${oneTimeTokens.expiresAt} > ${now}`,
      ),
    )
    .returning({ userId: oneTimeTokens.userId });
  return { consume, consumed, userOf };
}
