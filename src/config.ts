import * as z from 'zod';
import { identityProviders, identityProviderSecrets } from './federation/config';
import { introspectionClients } from './oauth/config';
import { publicationLeadSeconds } from './keys/timing';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', '']).transform((v) => v === 'true' || v === '1');

/** "limit/seconds", e.g. "10/60": at most 10 requests per client IP per 60 s window. */
const rate = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .pipe(z.string().regex(/^\d{1,6}\/\d{1,6}$/, 'must look like "10/60" (requests/seconds)'))
    .transform((s) => {
      const [limit, windowSeconds] = s.split('/').map(Number) as [number, number];
      return { limit, windowSeconds: Math.max(1, windowSeconds) };
    });
export type Rate = { limit: number; windowSeconds: number };

const origins = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url().refine((o) => new URL(o).origin === o, 'must be a bare origin')));

const rsaPrivateJwk = z.object({
  kty: z.literal('RSA'),
  kid: z.string().min(1).max(128),
  n: z.string().min(342, 'must be an RSA key of at least 2048 bits'),
  e: z.string().min(1),
  d: z.string().min(1),
  p: z.string().min(1),
  q: z.string().min(1),
  dp: z.string().min(1),
  dq: z.string().min(1),
  qi: z.string().min(1),
});
export type RsaPrivateJwk = z.infer<typeof rsaPrivateJwk>;

const signingKeys = z
  .string({ error: 'is missing' })
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.object({
      keys: z
        .array(rsaPrivateJwk, { error: 'must be a JWK Set of RSA private keys' })
        .min(1, 'must hold at least one key')
        .refine((ks) => new Set(ks.map((k) => k.kid)).size === ks.length, 'kids must be unique'),
    }),
  );

/**
 * "1:<base64url 32 bytes>[,<version>:<key>...]": AES-256 keys for TOTP secrets at rest. The
 * first seals new secrets; the others still open secrets sealed under them (key rotation).
 */
const sealingKeys = z.string({ error: 'is missing' }).transform((raw, ctx) => {
  const ring = raw.split(',').map((part) => {
    const [version, key] = part.trim().split(':');
    return { version: Number(version), key: key ?? '' };
  });
  const valid = ring.every(
    (k) => Number.isInteger(k.version) && k.version > 0 && /^[A-Za-z0-9_-]{43}$/.test(k.key),
  );
  if (!valid || new Set(ring.map((k) => k.version)).size !== ring.length) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be "<version>:<base64url 32-byte key>", comma-separated, versions unique',
    });
    return z.NEVER;
  }
  return ring;
});

const schema = z
  .object({
    ENVIRONMENT: z.enum(['development', 'test', 'production']).default('production'),
    ISSUER: z.url().refine((u) => !u.endsWith('/'), 'must not end with a slash'),
    AUDIENCE: z.string().min(1),
    ACCESS_TOKEN_TTL: int(60, 86_400).default(900),
    REFRESH_TOKEN_TTL: int(300, 400 * 86_400).default(30 * 86_400),
    REFRESH_REUSE_GRACE_SECONDS: int(0, 120).default(10),
    /** Session shards new sign-ins spread over: DB, then SESSIONS_1 ... (docs/sharding.md). */
    SESSION_SHARDS: int(1, 16).default(1),
    ALLOWED_ORIGINS: origins,
    MIN_PASSWORD_LENGTH: int(8, 128).default(12),
    PRODUCT_NAME: z.string().min(1).max(60).default('Edge Auth'),
    LOCKOUT_THRESHOLD: int(1, 100).default(5),
    LOCKOUT_WINDOW: int(60, 86_400).default(900),
    LOCKOUT_DURATION: int(60, 86_400).default(900),
    RATE_LIMIT_REGISTER: rate('10/3600'),
    RATE_LIMIT_LOGIN: rate('20/300'),
    RATE_LIMIT_REFRESH: rate('120/60'),
    RATE_LIMIT_FORGOT_PASSWORD: rate('5/3600'),
    RATE_LIMIT_EMAIL_RESEND: rate('5/3600'),
    RATE_LIMIT_MFA_VERIFY: rate('10/300'),
    /** /oauth/introspect, per client IP: a downstream service asks once per token it caches. */
    RATE_LIMIT_INTROSPECT: rate('1200/60'),
    AUDIT_RETENTION_DAYS: int(1, 3650).default(90),
    RATE_LIMIT_EMAIL_PER_ADDRESS: rate('3/3600'),
    /**
     * The web client: verification and reset links point at its pages, never at our Host. Unset,
     * they point at this worker's own pages (/verify-email, /reset-password) under ISSUER.
     */
    APP_URL: z
      .url()
      .refine((u) => !u.endsWith('/'), 'must not end with a slash')
      .optional(),
    /** The pages' accent colour. */
    BRAND_COLOR: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #4f46e5')
      .default('#4f46e5'),
    /** An https image shown on the pages beside PRODUCT_NAME (allowed by their CSP). */
    LOGO_URL: z.url({ protocol: /^https$/, error: 'must be an https URL' }).optional(),
    REQUIRE_EMAIL_VERIFICATION: bool.default(false),
    VERIFY_EMAIL_TTL: int(300, 30 * 86_400).default(86_400),
    RESET_PASSWORD_TTL: int(300, 86_400).default(1_800),
    /** Seconds an admin's invitation link lives (src/lifecycle/invitation.ts). */
    INVITE_TTL: int(3_600, 30 * 86_400).default(7 * 86_400),
    /** Email-change requests per signed-in user (each needs the password; 409 says "taken"). */
    RATE_LIMIT_EMAIL_CHANGE: rate('5/3600'),
    MAIL_TRANSPORT: z.enum(['dev-mailbox', 'resend']).default('resend'),
    MAIL_FROM: z.string().optional(),
    MAIL_API_KEY: z.string().optional(),
    MAIL_API_URL: z.url().default('https://api.resend.com'),
    MAIL_TIMEOUT_MS: int(100, 30_000).default(5_000),
    /** Off, or the Pwned Passwords k-anonymity range API (src/policy/breached.ts). */
    BREACHED_PASSWORD_CHECK: z.enum(['off', 'range']).default('off'),
    BREACHED_PASSWORD_API_URL: z
      .url()
      .refine((u) => !u.endsWith('/'), 'must not end with a slash')
      .default('https://api.pwnedpasswords.com'),
    BREACHED_PASSWORD_TIMEOUT_MS: int(100, 10_000).default(1_500),
    /** Optional cap on every D1 (default 10 s) and KV (default 5 s) call; see storage-guard.ts. */
    STORAGE_DEADLINE_MS: int(50, 60_000).optional(),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    /** Plain-http local development only: drops `Secure` and the `__Host-` prefix. */
    COOKIE_INSECURE_DEV: bool.default(false),
    /** Bootstrap and import path for signing keys (src/keys/, docs/keys.md). */
    JWT_SIGNING_KEYS: signingKeys.optional(),
    TOTP_ENCRYPTION_KEY: sealingKeys,
    /**
     * Same form as TOTP_ENCRYPTION_KEY: seals the private signing keys the worker stores in D1.
     * Unset, the worker never stores a key: it signs with JWT_SIGNING_KEYS and rotates nothing.
     */
    KEY_ENCRYPTION_KEY: sealingKeys.optional(),
    /** Seconds a signing key is current before the next one takes over (docs/keys.md). */
    KEY_ROTATION_INTERVAL: int(1, 366 * 86_400).default(30 * 86_400),
    /** The JWKS's Cache-Control max-age: a new key is published at least this long before use. */
    JWKS_MAX_AGE: int(1, 86_400).default(300),
    REQUIRE_ADMIN_MFA: bool.default(false),
    /** Sign-in with other identity providers: src/federation/config.ts. */
    IDENTITY_PROVIDERS: identityProviders,
    IDENTITY_PROVIDER_SECRETS: identityProviderSecrets,
    /**
     * The WebAuthn relying party id: ISSUER's host unless set to a parent domain of it (passkeys
     * then work on every subdomain). Browsers refuse IP addresses: passkeys need a domain name.
     */
    WEBAUTHN_RP_ID: z
      .string()
      .regex(/^[a-z0-9.-]+$/, 'must be a lower-case domain name')
      .optional(),
    /** Downstream services allowed to call /oauth/introspect: src/oauth/config.ts. */
    INTROSPECTION_CLIENTS: introspectionClients,
    PASSWORD_PEPPER: z.string({ error: 'is missing' }).min(32, 'must be at least 32 characters'),
  })
  .refine((c) => !(c.ENVIRONMENT === 'production' && c.COOKIE_INSECURE_DEV), {
    path: ['COOKIE_INSECURE_DEV'],
    message: 'is refused when ENVIRONMENT=production',
  })
  // The development mailbox shows every message, reset links included, to anyone: it must
  // never run in production, so that combination fails every request closed.
  .refine((c) => !(c.ENVIRONMENT === 'production' && c.MAIL_TRANSPORT === 'dev-mailbox'), {
    path: ['MAIL_TRANSPORT'],
    message: 'dev-mailbox is refused when ENVIRONMENT=production',
  })
  .superRefine((c, ctx) => {
    for (const p of c.IDENTITY_PROVIDERS) {
      if (!c.IDENTITY_PROVIDER_SECRETS[p.id]) {
        ctx.addIssue({
          code: 'custom',
          path: ['IDENTITY_PROVIDER_SECRETS'],
          message: `has no secret for provider ${p.id}`,
        });
      }
      // A provider reached over plain http (a local one in development) is refused in production.
      const urls = [p.issuer, ...Object.values(p.endpoints ?? {})].filter(Boolean) as string[];
      if (c.ENVIRONMENT === 'production' && urls.some((u) => !u.startsWith('https://'))) {
        ctx.addIssue({
          code: 'custom',
          path: ['IDENTITY_PROVIDERS'],
          message: `provider ${p.id} must use https in production`,
        });
      }
    }
  })
  .refine(
    (c) => {
      // A malformed ISSUER is reported by its own rule.
      const host = URL.canParse(c.ISSUER) ? new URL(c.ISSUER).hostname : '';
      const rpId = c.WEBAUTHN_RP_ID;
      return !rpId || !host || host === rpId || host.endsWith(`.${rpId}`);
    },
    { path: ['WEBAUTHN_RP_ID'], message: "must be ISSUER's host or a parent domain of it" },
  )
  .refine((c) => c.JWT_SIGNING_KEYS || c.KEY_ENCRYPTION_KEY, {
    path: ['JWT_SIGNING_KEYS'],
    message: 'is missing (or set KEY_ENCRYPTION_KEY and the worker makes its own keys)',
  })
  // A next key is published for this long before it signs (src/keys/timing.ts): an interval
  // shorter than that would have a key sign before every cache can know it.
  .refine((c) => c.KEY_ROTATION_INTERVAL > publicationLeadSeconds(c.JWKS_MAX_AGE), {
    path: ['KEY_ROTATION_INTERVAL'],
    message: 'must be longer than JWKS_MAX_AGE plus 30 s of ring cache and 30 s of clock skew',
  })
  .refine((c) => c.MAIL_TRANSPORT !== 'resend' || (c.MAIL_API_KEY && c.MAIL_FROM), {
    path: ['MAIL_TRANSPORT'],
    message: 'resend needs MAIL_API_KEY and MAIL_FROM',
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

const cache = new WeakMap<object, Config | ConfigError>();

/**
 * Parses the environment once per isolate (and per env object, so a test can pass its own).
 * Problems name the variable and the rule, never the value: secrets must not reach a log.
 */
export function loadConfig(env: Env): Config {
  let entry = cache.get(env);
  if (!entry) {
    const result = schema.safeParse(stripEmpty(env));
    entry = result.success
      ? result.data
      : new ConfigError(
          result.error.issues.map((i) => `${i.path.join('.') || 'env'} ${i.message}`),
        );
    cache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}

/** An empty var means "not set", so the default applies (wrangler passes "" for `KEY=`). */
function stripEmpty(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) if (v !== '') out[k] = v;
  return out;
}
