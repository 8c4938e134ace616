// The Worker secrets a deploy needs: the one list preflight reads. A new secret in
// src/config.ts is added here too (and to .dev.vars.example); test/node/preflight.test.ts fails
// when the two disagree.
//
// `required(vars)` says whether this deploy needs it, from the environment's vars.
// `standIn(vars)` is a value the worker's config schema accepts, so preflight can run that
// schema on the vars alone (secrets cannot be read back from Cloudflare).
import { generateSigningKey } from '../lib/keys.mjs';

const providerIds = (vars) => {
  try {
    const list = JSON.parse(vars.IDENTITY_PROVIDERS ?? '[]');
    return Array.isArray(list) ? list.map((p) => p?.id).filter((id) => typeof id === 'string') : [];
  } catch {
    return [];
  }
};

export const SECRETS = [
  // Production keys rotate themselves (docs/keys.md): the worker makes them, sealed under
  // KEY_ENCRYPTION_KEY. JWT_SIGNING_KEYS is then only the bootstrap and import path; a deploy
  // without KEY_ENCRYPTION_KEY would never rotate, so preflight asks for it.
  {
    name: 'KEY_ENCRYPTION_KEY',
    required: () => true,
    standIn: () => `1:${'B'.repeat(43)}`,
  },
  {
    name: 'JWT_SIGNING_KEYS',
    required: () => false,
    standIn: async () => JSON.stringify({ keys: [await generateSigningKey()] }),
  },
  {
    name: 'PASSWORD_PEPPER',
    required: () => true,
    standIn: () => 'preflight-stand-in-pepper-0123456789abcdef',
  },
  {
    name: 'TOTP_ENCRYPTION_KEY',
    required: () => true,
    standIn: () => `1:${'A'.repeat(43)}`,
  },
  {
    name: 'MAIL_API_KEY',
    required: (vars) => (vars.MAIL_TRANSPORT || 'resend') === 'resend',
    standIn: () => 'preflight-stand-in',
  },
  {
    name: 'IDENTITY_PROVIDER_SECRETS',
    required: (vars) => providerIds(vars).length > 0,
    standIn: (vars) =>
      JSON.stringify(Object.fromEntries(providerIds(vars).map((id) => [id, 'preflight-stand-in']))),
  },
  {
    name: 'INTROSPECTION_CLIENTS',
    required: () => false,
    standIn: () => '{}',
  },
];

/** The names of the secrets this environment's vars call for. */
export const requiredSecrets = (vars) => SECRETS.filter((s) => s.required(vars)).map((s) => s.name);
