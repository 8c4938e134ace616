import { and, eq, ne, sql } from 'drizzle-orm';
import { auditEvent, type AuditContext } from '../audit/audit';
import type { Config, RsaPrivateJwk } from '../config';
import { database, type Database } from '../db/client';
import { signingKeys, type SigningKeyRow } from '../db/schema';
import { denyKey } from '../sessions/revocation';
import { generateRsaKey, sealKey } from './material';
import { liveKeys, storeWasUsed } from './queries';
import { forgetStoredKeys } from './ring';
import { publicationLeadSeconds, retentionSeconds } from './timing';

/** Who moved a key: an admin (their id, their request) or the schedule. */
export type Actor = { ctx: AuditContext; userId: string | null };
export const SCHEDULE: Actor = {
  ctx: { requestId: 'scheduled', ip: null, userAgent: null },
  userId: null,
};

// Every change is one conditional statement, and its audit row is written in the same batch
// only if that statement changed a row: racing isolates change a key once and record it once.
const changed = sql`changes() > 0`;

/**
 * Brings the stored keys to `now`: imports JWT_SIGNING_KEYS on first use, promotes a `next` key
 * whose time has come, makes a `next` key when there is none, and drops `retiring` keys whose
 * last token has expired. Idempotent; run hourly by the cron and before every admin action.
 */
export async function advanceKeys(d1: D1Database, config: Config, now: number, actor: Actor) {
  if (!config.KEY_ENCRYPTION_KEY) return;
  const db = database(d1);
  if (!(await storeWasUsed(d1))) await bootstrap(db, config, now, actor);
  let rows = await liveKeys(d1);
  let next = rows.find((r) => r.state === 'next');
  const current = rows.find((r) => r.state === 'current');
  if (next && (next.activatesAt <= now || !current)) {
    await promote(db, next, Math.min(next.activatesAt, now), actor);
    rows = await liveKeys(d1);
    next = rows.find((r) => r.state === 'next');
  }
  const signer = rows.find((r) => r.state === 'current');
  if (!signer) {
    await insertKey(db, config, await generateRsaKey(), 'current', now, now, actor);
  } else if (!next) {
    const activatesAt = Math.max(
      signer.activatesAt + config.KEY_ROTATION_INTERVAL * 1000,
      now + publicationLeadSeconds(config.JWKS_MAX_AGE) * 1000,
    );
    await insertKey(db, config, await generateRsaKey(), 'next', now, activatesAt, actor);
  }
  const horizon = now - retentionSeconds(config) * 1000;
  for (const row of rows) {
    if (row.state === 'retiring' && row.retiredAt !== null && row.retiredAt <= horizon) {
      await retire(db, row.kid, horizon, now, actor);
    }
  }
}

/**
 * POST /admin/keys/rotate: the next key takes over at the earliest moment every cache can have
 * it (its publication lead after it was stored), now if that has passed. Returns that moment.
 */
export async function rotateSoon(d1: D1Database, config: Config, now: number, actor: Actor) {
  await advanceKeys(d1, config, now, actor);
  const next = (await liveKeys(d1)).find((r) => r.state === 'next');
  if (!next) throw new Error('advanceKeys left no next key');
  const earliest = Math.max(
    now,
    next.createdAt + publicationLeadSeconds(config.JWKS_MAX_AGE) * 1000,
  );
  const db = database(d1);
  await db.batch([
    db
      .update(signingKeys)
      .set({ activatesAt: earliest })
      .where(
        and(
          eq(signingKeys.kid, next.kid),
          eq(signingKeys.state, 'next'),
          sql`${signingKeys.activatesAt} > ${earliest}`,
        ),
      ),
    auditEvent(db, actor.ctx, 'key.rotation_scheduled', actor.userId, {
      kid: next.kid,
      activates_at: earliest,
    }),
  ]);
  if (earliest <= now) await advanceKeys(d1, config, now, actor);
  forgetStoredKeys();
  return { kid: next.kid, activatesAt: earliest };
}

/**
 * DELETE /admin/keys/{kid}: the key leaves the JWKS and its tokens are refused (KV first, see
 * revocation.ts). A removed current key is replaced at once by the next key, or by a new one:
 * the worker never stops signing. False when no key in service has that kid.
 */
export async function removeKey(
  d1: D1Database,
  kv: KVNamespace,
  config: Config,
  kid: string,
  now: number,
  actor: Actor,
): Promise<boolean> {
  await advanceKeys(d1, config, now, actor);
  const row = (await liveKeys(d1)).find((r) => r.kid === kid);
  if (!row) return false;
  await denyKey(kv, config, kid);
  const db = database(d1);
  const [gone] = await db.batch([
    db
      .update(signingKeys)
      .set({ ...EMPTIED, state: 'gone', goneAt: now, removed: true })
      .where(and(eq(signingKeys.kid, kid), ne(signingKeys.state, 'gone')))
      .returning({ kid: signingKeys.kid }),
    auditEvent(db, actor.ctx, 'key.removed', actor.userId, { kid, state: row.state }, changed),
  ]);
  // advanceKeys promotes the next key (or makes a current one) when none is current, and then
  // makes a new next key.
  await advanceKeys(d1, config, now, actor);
  forgetStoredKeys();
  return gone.length > 0;
}

/** A key's material goes with it: a gone row keeps only its kid and its dates. */
const EMPTIED = { publicJwk: null, privateSealed: null, sealingVersion: null };

async function promote(db: Database, next: SigningKeyRow, at: number, actor: Actor) {
  await db.batch([
    db
      .update(signingKeys)
      .set({ state: 'retiring', retiredAt: at })
      .where(
        and(
          eq(signingKeys.state, 'current'),
          sql`EXISTS (SELECT 1 FROM signing_keys WHERE kid = ${next.kid} AND state = 'next')`,
        ),
      ),
    db
      .update(signingKeys)
      .set({ state: 'current', activatesAt: at })
      .where(and(eq(signingKeys.kid, next.kid), eq(signingKeys.state, 'next'))),
    auditEvent(db, actor.ctx, 'key.activated', actor.userId, { kid: next.kid }, changed),
  ]);
}

async function retire(db: Database, kid: string, horizon: number, now: number, actor: Actor) {
  await db.batch([
    db
      .update(signingKeys)
      .set({ ...EMPTIED, state: 'gone', goneAt: now })
      .where(
        and(
          eq(signingKeys.kid, kid),
          eq(signingKeys.state, 'retiring'),
          sql`${signingKeys.retiredAt} <= ${horizon}`,
        ),
      ),
    auditEvent(db, actor.ctx, 'key.retired', actor.userId, { kid }, changed),
  ]);
}

/**
 * A key INSERT that does nothing when the partial unique index already has a key in that
 * state (or the kid exists): the loser of a race keeps the winner's key.
 */
async function insertKey(
  db: Database,
  config: Config,
  jwk: RsaPrivateJwk,
  state: 'next' | 'current' | 'retiring',
  now: number,
  activatesAt: number,
  actor: Actor,
  origin: 'generated' | 'imported' = 'generated',
) {
  await db.batch([
    db
      .insert(signingKeys)
      .values({
        kid: jwk.kid,
        state,
        ...(await sealKey(config.KEY_ENCRYPTION_KEY!, jwk)),
        origin,
        createdAt: now,
        activatesAt,
        retiredAt: state === 'retiring' ? now : null,
      })
      .onConflictDoNothing(),
    auditEvent(
      db,
      actor.ctx,
      origin === 'imported' ? 'key.imported' : 'key.created',
      actor.userId,
      { kid: jwk.kid, state, activates_at: activatesAt },
      changed,
    ),
  ]);
}

/**
 * First use of the store: the keys of JWT_SIGNING_KEYS come in as they were used, the first
 * `current` (it keeps signing), the others `retiring` (published until their tokens expire).
 */
async function bootstrap(db: Database, config: Config, now: number, actor: Actor) {
  const keys = config.JWT_SIGNING_KEYS?.keys ?? [];
  for (const [i, jwk] of keys.entries()) {
    await insertKey(db, config, jwk, i === 0 ? 'current' : 'retiring', now, now, actor, 'imported');
  }
}
