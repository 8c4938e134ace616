// The key lifecycle through the worker's own `scheduled` entry point with a chosen clock:
// next -> current -> retiring -> gone, over two rotations (docs/keys.md).
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CLOCK_TOLERANCE_SECONDS } from '../../src/crypto/jwt';
import { open } from '../../src/crypto/secret-box';
import { publicationLeadSeconds, retentionSeconds } from '../../src/keys/timing';
import {
  SECOND,
  config,
  inState,
  publishedKids,
  runSchedule,
  storedKeys,
  tokenAt,
  verifiesAt,
} from './helpers';

describe('signing keys on a schedule', () => {
  it('imports JWT_SIGNING_KEYS, rotates twice, and publishes every key exactly as long as needed', async () => {
    const { ACCESS_TOKEN_TTL, JWKS_MAX_AGE, KEY_ROTATION_INTERVAL } = config();
    const envKid = config().JWT_SIGNING_KEYS!.keys[0]!.kid;
    const interval = KEY_ROTATION_INTERVAL * SECOND;
    const retention = retentionSeconds(config()) * SECOND;
    const t0 = Date.now();

    // Before any run: the store is empty and JWT_SIGNING_KEYS signs, as it always did.
    expect(await storedKeys()).toEqual([]);
    expect((await tokenAt(t0)).kid).toBe(envKid);

    // First run: the env key is imported as current; a next key is made and published at once.
    await runSchedule(t0);
    const [current] = await inState('current');
    const [next1] = await inState('next');
    expect(current!.kid).toBe(envKid);
    expect(current!.origin).toBe('imported');
    expect(next1!.origin).toBe('generated');
    expect(await publishedKids()).toEqual([next1!.kid, envKid]);

    // The next key signs only after one cache lifetime plus skew (and one ring TTL) in the JWKS.
    const lead = next1!.activatesAt - next1!.createdAt;
    expect(lead).toBeGreaterThanOrEqual((JWKS_MAX_AGE + CLOCK_TOLERANCE_SECONDS) * SECOND);
    expect(lead).toBeGreaterThanOrEqual(publicationLeadSeconds(JWKS_MAX_AGE) * SECOND);
    expect(next1!.activatesAt).toBe(t0 + interval);
    const lastOfEnv = await tokenAt(next1!.activatesAt - 1);
    expect(lastOfEnv.kid).toBe(envKid);
    // At its time it signs in every isolate, before the schedule records it as current.
    const firstOfNext1 = await tokenAt(next1!.activatesAt);
    expect(firstOfNext1.kid).toBe(next1!.kid);

    // Rotation 1.
    const t1 = t0 + interval;
    await runSchedule(t1);
    expect((await inState('current')).map((k) => k.kid)).toEqual([next1!.kid]);
    const [retiring] = await inState('retiring');
    expect(retiring!.kid).toBe(envKid);
    expect(retiring!.retiredAt).toBe(t1);
    const [next2] = await inState('next');
    expect(next2!.activatesAt).toBe(t1 + interval);
    expect(await publishedKids()).toEqual([next2!.kid, next1!.kid, envKid]);

    // The env key's last token verifies until it expires (plus the tolerance, short of its
    // last second); the key stays published until then.
    const lastExpiry = (Math.floor((t1 - 1) / SECOND) + ACCESS_TOKEN_TTL) * SECOND;
    const lastAccepted = lastExpiry + (CLOCK_TOLERANCE_SECONDS - 1) * SECOND;
    expect(await verifiesAt(lastOfEnv.token, lastAccepted)).toBe(true);
    expect(await verifiesAt(lastOfEnv.token, lastAccepted + SECOND)).toBe(false);
    await runSchedule(t1 + retention - 1);
    expect(await publishedKids()).toContain(envKid);
    expect(t1 + retention - 1).toBeGreaterThan(lastExpiry + CLOCK_TOLERANCE_SECONDS * SECOND);
    await runSchedule(t1 + retention);
    expect(await publishedKids()).toEqual([next2!.kid, next1!.kid]);
    const [gone] = await inState('gone');
    expect(gone).toMatchObject({ kid: envKid, publicJwk: null, privateSealed: null });

    // Rotation 2: next1 retires, next2 signs, a third key is published.
    const t2 = t1 + interval;
    const lastOfNext1 = await tokenAt(t2 - 1);
    expect(lastOfNext1.kid).toBe(next1!.kid);
    await runSchedule(t2);
    expect((await inState('current')).map((k) => k.kid)).toEqual([next2!.kid]);
    expect((await inState('retiring')).map((k) => k.kid)).toEqual([next1!.kid]);
    const [next3] = await inState('next');
    expect(await publishedKids()).toEqual([next3!.kid, next2!.kid, next1!.kid]);
    expect((await tokenAt(t2)).kid).toBe(next2!.kid);
    // Tokens of both live keys verify; the retiring key's until its expiry.
    expect(await verifiesAt(lastOfNext1.token, t2 + ACCESS_TOKEN_TTL * SECOND)).toBe(true);
    expect(await verifiesAt(firstOfNext1.token, t1 + 60 * SECOND)).toBe(true);
    await runSchedule(t2 + retention);
    expect(await publishedKids()).toEqual([next3!.kid, next2!.kid]);

    // Audit trail of the scheduled transitions.
    const { results } = await env.DB.prepare(
      "SELECT type, detail FROM audit_events WHERE type LIKE 'key.%' ORDER BY at, id",
    ).all<{ type: string; detail: string }>();
    const events = results.map((r) => `${r.type} ${JSON.parse(r.detail).kid}`);
    expect(events).toEqual([
      `key.imported ${envKid}`,
      `key.created ${next1!.kid}`,
      `key.activated ${next1!.kid}`,
      `key.created ${next2!.kid}`,
      `key.retired ${envKid}`,
      `key.activated ${next2!.kid}`,
      `key.created ${next3!.kid}`,
      `key.retired ${next1!.kid}`,
    ]);
  });

  it('runs the step idempotently: a second run at the same time changes nothing', async () => {
    const at = Date.now() + 400 * 86_400_000;
    await runSchedule(at);
    const before = await storedKeys();
    await runSchedule(at);
    expect(await storedKeys()).toEqual(before);
  });
});

describe('private keys at rest', () => {
  it('stores no private key material in clear; the sealed value opens only with KEY_ENCRYPTION_KEY', async () => {
    await runSchedule(Date.now());
    const envKey = config().JWT_SIGNING_KEYS!.keys[0]!;
    const rows = await storedKeys();
    const dump = JSON.stringify((await env.DB.prepare('SELECT * FROM signing_keys').all()).results);
    for (const secret of [envKey.d, envKey.p, envKey.q, envKey.dp, envKey.dq, envKey.qi]) {
      expect(dump).not.toContain(secret.slice(0, 24));
    }
    for (const row of rows.filter((r) => r.state !== 'gone')) {
      expect(Object.keys(JSON.parse(row.publicJwk!)).sort()).toEqual(['e', 'n']);
      const plain = await open(
        config().KEY_ENCRYPTION_KEY!,
        { ciphertext: row.privateSealed!, version: row.sealingVersion! },
        `signing-key:${row.kid}`,
      );
      const jwk = JSON.parse(new TextDecoder().decode(plain)) as { d: string };
      expect(jwk.d.length).toBeGreaterThan(300);
      expect(dump).not.toContain(jwk.d.slice(0, 24));
      // Bound to its kid: the same ciphertext under another kid does not open.
      await expect(
        open(
          config().KEY_ENCRYPTION_KEY!,
          { ciphertext: row.privateSealed!, version: row.sealingVersion! },
          'signing-key:another-kid',
        ),
      ).rejects.toThrow();
    }
  });
});
