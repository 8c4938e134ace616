import * as z from 'zod';

/**
 * INTROSPECTION_CLIENTS (a secret): the downstream services allowed to call /oauth/introspect,
 * as JSON `{"<client_id>": "sha256:<hex SHA-256 of its secret>"}`. Only the hash is configured,
 * so a leaked configuration does not let anyone introspect. Unset: no client can authenticate.
 */
export const introspectionClients = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined) return {};
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(
    z.record(
      // RFC 7617: the user-id of HTTP Basic must not contain a colon; kept to URL-safe characters
      // so no client has to form-encode it (RFC 6749 §2.3.1).
      z.string().regex(/^[A-Za-z0-9._~-]{1,64}$/, 'client ids must be 1-64 of A-Z a-z 0-9 . _ ~ -'),
      z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, 'must be "sha256:" and 64 lower-case hex digits')
        .transform((v) => v.slice('sha256:'.length)),
      { error: 'must be a JSON object {"<client_id>": "sha256:<hex>"}' },
    ),
  );
