import * as z from 'zod';

// IDENTITY_PROVIDERS (a var) says which providers exist; IDENTITY_PROVIDER_SECRETS (a secret)
// holds each one's client secret, or Apple's private key. Both are validated with the rest of
// the configuration, so a misconfigured provider fails every request closed.

const json = (what: string) =>
  z.string().transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `is not JSON (${what})` });
      return z.NEVER;
    }
  });

const scope = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token');

const provider = z
  .object({
    /** Our name for it: the path segment of /auth/oauth/{id}/… and the identities' `provider`. */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits, -'),
    type: z.enum(['google', 'microsoft', 'apple', 'github', 'oidc']),
    client_id: z.string().min(1).max(512),
    /** The button's label ("Continue with …"); the type's name by default. */
    name: z.string().min(1).max(40).optional(),
    /** `oidc`: the issuer, found by discovery. */
    issuer: z.url().optional(),
    /** `microsoft`: the Entra ID tenant (its id or domain, or organizations/consumers/common). */
    tenant: z
      .string()
      .regex(/^[A-Za-z0-9.-]{1,64}$/)
      .optional(),
    scopes: z.array(scope).max(20).optional(),
    /** `apple`: the team and the key that sign the client-secret JWT. */
    team_id: z
      .string()
      .regex(/^[A-Z0-9]{10}$/)
      .optional(),
    key_id: z
      .string()
      .regex(/^[A-Z0-9]{10}$/)
      .optional(),
    /** `github`: other endpoints (GitHub Enterprise Server, or a local server in tests). */
    endpoints: z
      .object({ authorization: z.url(), token: z.url(), api: z.url() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const need = (field: keyof typeof p, when: string) => {
      if (p[field] === undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `is required for ${when}` });
    };
    if (p.type === 'oidc') need('issuer', 'type oidc');
    if (p.type === 'apple') {
      need('team_id', 'type apple');
      need('key_id', 'type apple');
    }
  });

export type ProviderConfig = z.infer<typeof provider>;

export const identityProviders = z
  .string()
  .default('[]')
  .pipe(json('a JSON array of providers'))
  .pipe(
    z
      .array(provider)
      .max(20)
      .refine((ps) => new Set(ps.map((p) => p.id)).size === ps.length, 'ids must be unique'),
  );

export const identityProviderSecrets = z
  .string()
  .default('{}')
  .pipe(json('a JSON object of provider id to secret'))
  .pipe(z.record(z.string(), z.string().min(1).max(8192)));
