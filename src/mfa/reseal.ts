import { open, seal, type SealingKey } from '../crypto/secret-box';

/** Users re-sealed per scheduled run: bounded work, like the housekeeping sweeps. */
export const RESEAL_BATCH = 200;

export type ResealResult = { resealed: number; remaining: number; unreadable: number };

/**
 * Rotating TOTP_ENCRYPTION_KEY (docs/deploy.md): the new key goes first in the ring, the old
 * ones stay behind it, and each scheduled run re-seals a batch of TOTP secrets still sealed
 * under an older version with the current one. When `remaining` is 0 the old keys can leave the
 * ring. Each write is conditional on the row still holding what was read, so a user who
 * re-enrols meanwhile keeps the new secret. A secret whose key has already left the ring cannot
 * be opened: it is counted in `unreadable` and left alone (that user needs their TOTP reset).
 * `updated_at` is not touched: the user changed nothing.
 */
export async function resealTotpSecrets(
  db: D1Database,
  ring: SealingKey[],
): Promise<ResealResult | null> {
  // One key: no rotation under way, nothing to read (the hourly run costs no query).
  if (ring.length === 1) return null;
  const current = ring[0]!.version;
  const known = ring.map((k) => k.version);
  const { results } = await db
    .prepare(
      `SELECT id, totp_secret, totp_key_version FROM users
       WHERE totp_secret IS NOT NULL AND totp_key_version != ?1
         AND totp_key_version IN (SELECT value FROM json_each(?2))
       LIMIT ${RESEAL_BATCH}`,
    )
    .bind(current, JSON.stringify(known))
    .all<{ id: string; totp_secret: string; totp_key_version: number }>();

  const updates: D1PreparedStatement[] = [];
  for (const row of results) {
    const sealed = { ciphertext: row.totp_secret, version: row.totp_key_version };
    const fresh = await seal(ring, await open(ring, sealed, row.id), row.id);
    updates.push(
      db
        .prepare(
          `UPDATE users SET totp_secret = ?1, totp_key_version = ?2
           WHERE id = ?3 AND totp_secret = ?4 AND totp_key_version = ?5`,
        )
        .bind(fresh.ciphertext, fresh.version, row.id, row.totp_secret, row.totp_key_version),
    );
  }
  const done = updates.length ? await db.batch(updates) : [];
  const resealed = done.reduce((n, r) => n + r.meta.changes, 0);

  const counts = await db
    .prepare(
      `SELECT
         SUM(totp_key_version IN (SELECT value FROM json_each(?2))) AS remaining,
         SUM(totp_key_version NOT IN (SELECT value FROM json_each(?2))) AS unreadable
       FROM users WHERE totp_secret IS NOT NULL AND totp_key_version != ?1`,
    )
    .bind(current, JSON.stringify(known))
    .first<{ remaining: number | null; unreadable: number | null }>();
  return { resealed, remaining: counts?.remaining ?? 0, unreadable: counts?.unreadable ?? 0 };
}
