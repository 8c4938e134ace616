import { env } from 'cloudflare:workers';
import { bearer, call } from '../helpers';
import { faultyBindings, type Fault } from '../resilience/faulty-bindings';

export type Profile = {
  id: string;
  email: string;
  name: string | null;
  role: string;
  email_verified: boolean;
  mfa_enabled: boolean;
};

/**
 * GET /users/me through bindings that log every storage call (and apply `fault`). The signing-key
 * ring is read first, uncounted: it is cached per isolate (test/storage-calls.test.ts).
 */
export async function meCounted(token: string, fault?: Fault) {
  await call('/.well-known/jwks.json');
  const { bindings, calls } = faultyBindings(env, fault);
  const res = await call('/users/me', bearer(token), bindings);
  const body = (await res.json()) as Profile & { code?: string };
  return {
    status: res.status,
    body,
    d1: calls.filter((c) => c.store === 'D1').length,
    kv: calls.filter((c) => c.store === 'KV').map((c) => `${c.op} ${c.detail.join(',')}`),
  };
}

/** The cache's two entries for `userId`, parsed. */
export async function cacheOf(userId: string) {
  const raw = await env.KV.get([`profile:${userId}`, `profile:fill:${userId}`]);
  const parse = (s: string | null | undefined) => (s ? (JSON.parse(s) as unknown) : null);
  return {
    written: parse(raw.get(`profile:${userId}`)),
    fill: parse(raw.get(`profile:fill:${userId}`)),
  };
}

/**
 * Another location, where a cut-off written in KV has not arrived yet: the user's `revoked:`
 * keys are gone, so only the profile cache (or D1) can refuse the token.
 */
export async function forgetRevocations(userId: string, sessionId: string) {
  await env.KV.delete(`revoked:user:${userId}`);
  await env.KV.delete(`revoked:session:${sessionId}`);
}
