import { importJWK } from 'jose';
import type { Config } from '../config';
import type { KeyRing, PublicJwk } from '../crypto/jwt';
import { sha256 } from '../crypto/tokens';
import type { SigningKeyRow } from '../db/schema';
import { liveKeys } from './queries';
import { privateKeyOf, publicPartsOf } from './material';
import { advanceKeys, SCHEDULE } from './rotation';
import { ringTtlSeconds } from './timing';

type Snapshot = { until: number; rows: SigningKeyRow[] };

// The stored keys as this isolate last read them: one D1 read per isolate per ring TTL, never
// one per request (the bearer check and the JWKS stay free of D1). Per isolate, not per env
// object: there is one database, and tests wrap its binding in a new object per request. Only
// results are shared between requests, never a pending D1 call: Workers cancel a request that
// waits on I/O another request started (it "hung"), so concurrent cold requests each read.
let snapshot: Snapshot | undefined;
const rings = new WeakMap<SigningKeyRow[], Map<string, Promise<KeyRing | null>>>();
const publicKeys = new Map<string, Promise<CryptoKey>>();

/** Drops this isolate's copy: the next request reads D1 (after an admin's change, and in tests). */
export function forgetStoredKeys() {
  snapshot = undefined;
}

async function rowsFor(d1: D1Database, config: Config): Promise<SigningKeyRow[]> {
  const clock = Date.now();
  if (snapshot && clock < snapshot.until) return snapshot.rows;
  try {
    const rows = await liveKeys(d1);
    snapshot = { until: clock + ringTtlSeconds(config.JWKS_MAX_AGE) * 1000, rows };
    return rows;
  } catch (err) {
    // D1 unreachable: keep the ring this isolate had (a removed key is still refused through
    // KV, see revocation.ts); with none, the request fails as a storage outage.
    if (snapshot) return snapshot.rows;
    throw err;
  }
}

/**
 * The ring of the keys in D1, or null while D1 holds none and JWT_SIGNING_KEYS can sign (the
 * bootstrap: see docs/keys.md). With neither, the worker makes its first key here, once.
 */
export async function storedKeyRing(
  d1: D1Database,
  config: Config,
  now: number,
): Promise<KeyRing | null> {
  const sealing = config.KEY_ENCRYPTION_KEY!;
  let rows = await rowsFor(d1, config);
  if (rows.length === 0 && !config.JWT_SIGNING_KEYS) {
    await advanceKeys(d1, config, now, SCHEDULE);
    forgetStoredKeys();
    rows = await rowsFor(d1, config);
  }
  const fingerprint = sealing.map((k) => `${k.version}:${k.key}`).join(',');
  let byKek = rings.get(rows);
  if (!byKek) rings.set(rows, (byKek = new Map()));
  let ring = byKek.get(fingerprint);
  if (!ring) {
    ring = rows.length === 0 ? Promise.resolve(null) : buildRing(rows, config);
    byKek.set(fingerprint, ring);
  }
  return ring;
}

async function buildRing(rows: SigningKeyRow[], config: Config): Promise<KeyRing> {
  // next, current, retiring: the order a verifier's JWKS lists them in.
  const order = { next: 0, current: 1, retiring: 2, gone: 3 };
  const sorted = [...rows].sort((a, b) => order[a.state] - order[b.state]);
  const publics = sorted.map((row): PublicJwk => {
    const { n, e } = publicPartsOf(row);
    return { kty: 'RSA', kid: row.kid, use: 'sig', alg: 'RS256', n, e };
  });
  const verifiers = new Map<string, CryptoKey>();
  for (const jwk of publics) {
    let key = publicKeys.get(jwk.kid);
    if (!key) {
      key = importJWK(jwk, 'RS256') as Promise<CryptoKey>;
      publicKeys.set(jwk.kid, key);
    }
    verifiers.set(jwk.kid, await key);
  }
  // Which key signs is a matter of the clock, not of when this isolate last read D1: a `next`
  // key takes over at its activates_at in every isolate at once, even before the scheduled run
  // records it as `current`.
  const signers = sorted
    .filter((r) => r.state === 'current' || r.state === 'next')
    .sort((a, b) => b.activatesAt - a.activatesAt);
  const jwks = { keys: publics };
  return {
    async signerAt(now) {
      const row =
        signers.find((r) => r.activatesAt <= now) ?? signers.find((r) => r.state === 'current');
      if (!row) throw new Error('no stored signing key is current');
      return { kid: row.kid, key: await privateKeyOf(config.KEY_ENCRYPTION_KEY!, row) };
    },
    verifiers,
    jwks,
    etag: `"${await sha256(JSON.stringify(jwks))}"`,
  };
}
