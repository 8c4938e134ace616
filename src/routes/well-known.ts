import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { keyRing } from '../crypto/jwt';
import { createRouter } from '../router';

const jwk = z.object({
  kty: z.literal('RSA'),
  kid: z.string(),
  use: z.literal('sig'),
  alg: z.literal('RS256'),
  n: z.string(),
  e: z.string(),
});

export const wellKnown = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/jwks.json',
      request: { headers: z.object({ 'if-none-match': z.string().optional() }) },
      ...(__OPENAPI_DOCS__ && {
        tags: ['Discovery'],
        summary: 'Public signing keys (JWK Set)',
        responses: {
          200: {
            description: 'Every key that may have signed a live access token',
            content: { 'application/json': { schema: z.object({ keys: z.array(jwk) }) } },
          },
          304: { description: 'The caller already has this set (ETag)' },
        },
      }),
    }),
    async (c) => {
      const { jwks, etag } = await keyRing(c.var.config, c.env.DB);
      // Downstream verifiers cache the set this long; a new key is published at least this long
      // (plus skew) before it signs anything (docs/keys.md).
      c.header('Cache-Control', `public, max-age=${c.var.config.JWKS_MAX_AGE}`);
      c.header('ETag', etag);
      if (matchesEtag(c.req.header('If-None-Match'), etag)) return c.body(null, 304);
      return c.json(jwks, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/.well-known/openid-configuration',
      ...(__OPENAPI_DOCS__ && {
        tags: ['Discovery'],
        summary: 'Discovery document: the issuer and where its keys are',
        description:
          'Lists only what this worker implements (RFC 8414, OpenID Connect Discovery): it issues ' +
          'access tokens through its own API, not through OAuth authorization or token endpoints, ' +
          'so a generic client finds no endpoint here that would behave otherwise than its name says.',
        responses: {
          200: {
            description: 'Issuer metadata',
            content: {
              'application/json': {
                schema: z.object({
                  issuer: z.string(),
                  jwks_uri: z.string(),
                  service_documentation: z.string(),
                }),
              },
            },
          },
        },
      }),
    }),
    (c) => {
      const issuer = c.var.config.ISSUER;
      c.header('Cache-Control', `public, max-age=${c.var.config.JWKS_MAX_AGE}`);
      return c.json(
        {
          issuer,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          service_documentation: `${issuer}/docs`,
        },
        200,
      );
    },
  );

/** RFC 9110 §13.1.2: If-None-Match uses weak comparison and may list several tags or `*`. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === etag);
}
