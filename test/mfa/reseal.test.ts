import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../../scripts/lib/keys.mjs';
import { open } from '../../src/crypto/secret-box';
import { resealTotpSecrets } from '../../src/mfa/reseal';
import worker from '../../src/index';
import { PASSWORD, call, json } from '../helpers';
import { codeFor, enrolled } from '../totp';

const oldKey = env.TOTP_ENCRYPTION_KEY;
const ringOf = (raw: string) =>
  raw.split(',').map((part) => {
    const [version, key] = part.split(':');
    return { version: Number(version), key: key! };
  });

const rowOf = (id: string) =>
  env.DB.prepare('SELECT totp_secret, totp_key_version FROM users WHERE id = ?1')
    .bind(id)
    .first<{ totp_secret: string; totp_key_version: number }>();

async function scheduled(overrides: Record<string, unknown>) {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: Date.now(), cron: '17 * * * *' }),
    { ...env, ...overrides } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Password, then a TOTP code, with TOTP_ENCRYPTION_KEY set to `ring`: the status of the code step. */
async function signInWithTotp(email: string, secret: string, ring: string) {
  const overrides = { TOTP_ENCRYPTION_KEY: ring };
  const first = await call('/auth/login', json({ email, password: PASSWORD }), overrides);
  const { mfa_token } = (await first.json()) as { mfa_token: string };
  const res = await call(
    '/auth/mfa/verify',
    json({ mfa_token, code: await codeFor(secret, 1) }),
    overrides,
  );
  return res.status;
}

describe('rotating TOTP_ENCRYPTION_KEY: the scheduled re-seal', () => {
  it('re-seals every secret under the new key, so the old key can then leave the ring', async () => {
    const user = await enrolled();
    const newKey = `2:${generateSecret()}`;
    expect((await rowOf(user.user.id))!.totp_key_version).toBe(1);
    // Without the re-seal, a ring without the old key cannot open the secret.
    expect(await signInWithTotp(user.email, user.secret, newKey)).not.toBe(200);

    await scheduled({ TOTP_ENCRYPTION_KEY: `${newKey},${oldKey}` });

    const row = (await rowOf(user.user.id))!;
    expect(row.totp_key_version).toBe(2);
    const remaining = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM users WHERE totp_secret IS NOT NULL AND totp_key_version = 1',
    ).first<{ n: number }>();
    expect(remaining!.n).toBe(0);
    expect(await signInWithTotp(user.email, user.secret, newKey)).toBe(200);
  });

  it('opens to the same secret under the new key', async () => {
    const user = await enrolled();
    const before = (await rowOf(user.user.id))!;
    const ring = ringOf(`3:${generateSecret()},${oldKey}`);
    const plain = await open(ring, { ciphertext: before.totp_secret, version: 1 }, user.user.id);
    const result = await resealTotpSecrets(env.DB, ring);
    expect(result!.resealed).toBeGreaterThanOrEqual(1);
    expect(result!.remaining).toBe(0);
    const after = (await rowOf(user.user.id))!;
    expect(after.totp_key_version).toBe(3);
    expect(after.totp_secret).not.toBe(before.totp_secret);
    expect(
      await open(ring.slice(0, 1), { ciphertext: after.totp_secret, version: 3 }, user.user.id),
    ).toEqual(plain);
  });

  it('writes each row once when two runs race (conditional UPDATE)', async () => {
    await enrolled();
    const ring = ringOf(`4:${generateSecret()},${oldKey}`);
    const pending = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM users WHERE totp_secret IS NOT NULL AND totp_key_version = 1',
    ).first<{ n: number }>();
    const runs = await Promise.all([
      resealTotpSecrets(env.DB, ring),
      resealTotpSecrets(env.DB, ring),
    ]);
    expect(runs[0]!.resealed + runs[1]!.resealed).toBe(pending!.n);
    expect(runs.every((r) => r!.remaining === 0)).toBe(true);
  });

  it('leaves a secret whose key already left the ring alone and counts it', async () => {
    const user = await enrolled();
    await env.DB.prepare('UPDATE users SET totp_key_version = 9 WHERE id = ?1')
      .bind(user.user.id)
      .run();
    const before = (await rowOf(user.user.id))!;
    const result = await resealTotpSecrets(env.DB, ringOf(`5:${generateSecret()},${oldKey}`));
    expect(result!.unreadable).toBeGreaterThanOrEqual(1);
    expect(await rowOf(user.user.id)).toEqual(before);
  });

  it('costs no query with a single key in the ring', async () => {
    expect(await resealTotpSecrets(env.DB, ringOf(oldKey))).toBeNull();
  });
});
