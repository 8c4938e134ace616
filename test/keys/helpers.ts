import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { decodeProtectedHeader } from 'jose';
import { loadConfig } from '../../src/config';
import { signAccessToken, verifyAccessToken } from '../../src/crypto/jwt';
import type { SigningKeyRow } from '../../src/db/schema';
import worker from '../../src/index';
import { forgetStoredKeys } from '../../src/keys/ring';
import { call } from '../helpers';

export const config = () => loadConfig(env);
export const SECOND = 1000;

/** The worker's own cron entry point, at a chosen time. */
export async function runSchedule(scheduledTime: number) {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime, cron: '17 * * * *' }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Every stored key, gone ones included, as D1 holds them. */
export async function storedKeys(): Promise<SigningKeyRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM signing_keys ORDER BY created_at').all<
    Record<string, unknown>
  >();
  return results.map((r) => ({
    kid: r.kid as string,
    state: r.state as SigningKeyRow['state'],
    publicJwk: r.public_jwk as string | null,
    privateSealed: r.private_sealed as string | null,
    sealingVersion: r.sealing_version as number | null,
    origin: r.origin as SigningKeyRow['origin'],
    createdAt: r.created_at as number,
    activatesAt: r.activates_at as number,
    retiredAt: r.retired_at as number | null,
    goneAt: r.gone_at as number | null,
    removed: Boolean(r.removed),
  }));
}

export const inState = async (state: SigningKeyRow['state']) =>
  (await storedKeys()).filter((k) => k.state === state);

export async function publishedKids(): Promise<string[]> {
  // Another isolate's view: what D1 holds now, not this isolate's cached ring.
  forgetStoredKeys();
  const res = await call('/.well-known/jwks.json');
  return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

const input = {
  userId: '0190d1c4-0000-7000-8000-000000000001',
  sessionId: '0190d1c4-0000-7000-8000-000000000002',
  role: 'user' as const,
  emailVerified: true,
};

/** A token the worker signs at `at` (its ring read from D1 as a fresh isolate would). */
export async function tokenAt(at: number) {
  forgetStoredKeys();
  const token = await signAccessToken(config(), input, at, env.DB);
  return { token, kid: decodeProtectedHeader(token).kid as string };
}

/** Whether the worker accepts `token` at `at` (signature and claims; revocation apart). */
export async function verifiesAt(token: string, at: number) {
  forgetStoredKeys();
  return (await verifyAccessToken(config(), token, at, env.DB)) !== null;
}
