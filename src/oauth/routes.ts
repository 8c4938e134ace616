import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { guardOrigin } from '../middleware/origin';
import { rateLimit } from '../middleware/rate-limit';
import { createRouter } from '../router';
import { problem } from '../routes/openapi';
import { authenticateClient } from './client-auth';
import { readForm, requiredToken } from './form';
import { introspect } from './introspect';
import { revokeToken } from './revoke';

/**
 * A form body in the OpenAPI document only: given as a plain schema object (not zod), the
 * framework adds no validator of its own, and readForm is the one reader of these bodies. So it
 * sits with the documentation, out of the worker's bundle (src/openapi/docs-flag.d.ts).
 */
const formBody = (description: string) => ({
  body: {
    required: true,
    content: {
      'application/x-www-form-urlencoded': {
        schema: {
          type: 'object' as const,
          required: ['token'],
          properties: {
            token: { type: 'string' as const, description },
            token_type_hint: {
              type: 'string' as const,
              enum: ['access_token', 'refresh_token'],
              description: 'Optional. Tokens are found whatever it says (RFC 7009 §2.1).',
            },
          },
        },
      },
    },
  },
});

const introspection = z
  .object({
    active: z.boolean(),
    token_type: z.literal('Bearer').optional(),
    iss: z.string().optional(),
    sub: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    exp: z.number().int().optional(),
    iat: z.number().int().optional(),
    jti: z.string().optional(),
    sid: z.string().optional(),
    role: z.enum(['user', 'admin']).optional(),
    email_verified: z.boolean().optional(),
  })
  .openapi('Introspection');

/**
 * RFC 7009 and RFC 7662. Mounted before the API's JSON-only rule (src/index.ts): these two read
 * their form bodies themselves (readForm), with the same size limit, and keep the Origin rule.
 * Neither ever reads the refresh cookie: a cross-site form can post here (a CORS simple
 * request), and must not sign anyone out with the cookie the browser attaches.
 */
export const oauth = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/oauth/revoke',
      middleware: [guardOrigin, rateLimit('REFRESH', 'revoke')],
      ...(__OPENAPI_DOCS__ && {
        request: formBody('The access or refresh token to revoke'),
        tags: ['Token revocation and introspection'],
        summary: 'Revoke an access or refresh token and its session (RFC 7009)',
        description:
          'Anyone holding a token may revoke it. Either kind ends its whole session. The answer is 200 for unknown, invalid and expired tokens too (RFC 7009 §2.2).',
        responses: {
          200: { description: 'Revoked, or nothing to revoke' },
          400: problem,
          403: problem,
          413: problem,
          415: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const token = requiredToken(await readForm(c));
      const kind = await revokeToken(c, token);
      if (kind) c.var.log.info('token revoked', { token_type: kind });
      c.header('Cache-Control', 'no-store');
      return c.body(null, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/oauth/introspect',
      middleware: [guardOrigin, rateLimit('INTROSPECT')],
      ...(__OPENAPI_DOCS__ && {
        request: formBody('The access token to introspect'),
        tags: ['Token revocation and introspection'],
        summary: 'Whether an access token is active now, and its claims (RFC 7662)',
        description:
          'For downstream services with a configured credential (HTTP Basic, INTROSPECTION_CLIENTS). Refresh tokens are never active here. An active answer may be cached until min(exp, now + 60 s); an inactive one is final.',
        security: [{ introspectionClient: [] as string[] }],
        responses: {
          200: {
            description: '`{"active": true, ...claims}` or `{"active": false}`',
            content: { 'application/json': { schema: introspection } },
          },
          400: problem,
          401: problem,
          403: problem,
          413: problem,
          415: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      await authenticateClient(c);
      const token = requiredToken(await readForm(c));
      const answer = await introspect(c, token);
      // RFC 7662 §4: a cached answer could keep a revoked token alive; the caller decides how
      // long, within the rule the README gives, and no cache in between may keep it.
      c.header('Cache-Control', 'no-store');
      return c.json(answer, 200);
    },
  );

if (__OPENAPI_DOCS__) {
  oauth.openAPIRegistry.registerComponent('securitySchemes', 'introspectionClient', {
    type: 'http',
    scheme: 'basic',
    description: 'A client id and secret from INTROSPECTION_CLIENTS (RFC 6749 §2.3.1).',
  });
}
