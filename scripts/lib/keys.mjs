// Key material for the worker, made with jose in Node. Shared by `npm run keys:generate`,
// `npm run dev` (first run) and the test configuration.
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { randomBytes } from 'node:crypto';

/** A fresh RSA-2048 private JWK whose `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey() {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  return { kid: await calculateJwkThumbprint(jwk), alg: 'RS256', use: 'sig', ...jwk };
}

/** 32 random bytes, base64url: for PASSWORD_PEPPER and other symmetric secrets. */
export function generateSecret() {
  return randomBytes(32).toString('base64url');
}

/** Worker environments used by wrangler and local tools. No network, no telemetry. */
export const offlineEnv = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};
