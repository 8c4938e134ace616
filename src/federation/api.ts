import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { createRouter } from '../router';
import { bearer, problem } from '../routes/openapi';
import { iso, signedInUser } from '../users/users';
import { identitiesOf, unlinkIdentity } from './identities';

const tags = ['Identity providers'];
const identity = z
  .object({
    id: z.string(),
    provider: z.string(),
    email: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('Identity');

/** The signed-in user's linked identities (Bearer). */
export const identitiesApi = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me/identities',
      middleware: bearer.middleware,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'The accounts at identity providers linked to the signed-in user',
        security: bearer.security,
        responses: {
          200: {
            description: 'Linked identities, oldest first',
            content: {
              'application/json': { schema: z.object({ identities: z.array(identity) }) },
            },
          },
          401: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const rows = await identitiesOf(c, user.id);
      c.header('Cache-Control', 'no-store');
      return c.json(
        {
          identities: rows.map((r) => ({
            id: r.id,
            provider: r.provider,
            email: r.email,
            created_at: iso(r.createdAt),
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/users/me/identities/{id}',
      middleware: bearer.middleware,
      request: { params: z.object({ id: z.string().max(64) }) },
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Unlink an identity (not the last way to sign in)',
        security: bearer.security,
        responses: {
          204: { description: 'Unlinked' },
          401: problem,
          404: problem,
          409: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      await unlinkIdentity(c, user.id, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );

// /auth/oauth/{provider}/start and /callback are served by routes.tsx (with the pages); they
// are documented with the rest of the API here (only `npm run openapi` reads it).
if (__OPENAPI_DOCS__) {
  const registry = identitiesApi.openAPIRegistry;
  const provider = z.object({ provider: z.string().openapi({ example: 'google' }) });
  registry.registerPath({
    method: 'get',
    path: '/auth/oauth/{provider}/start',
    tags,
    summary: 'Start signing in at an identity provider (state, nonce, PKCE S256)',
    request: {
      params: provider,
      query: z.object({ return_to: z.string().optional() }),
    },
    responses: {
      302: { description: 'To the provider (or to /sign-in with an error when it is down)' },
      404: problem,
    },
  });
  for (const method of ['get', 'post'] as const) {
    registry.registerPath({
      method,
      path: '/auth/oauth/{provider}/callback',
      tags,
      summary:
        method === 'get'
          ? 'The provider sends the browser back here with a code'
          : 'The same, for providers that answer with a form post (Apple)',
      request: { params: provider },
      responses: {
        200: { description: 'Signed in (a page that continues to return_to), or the code step' },
        302: { description: 'To return_to (an app), or to /sign-in with an error' },
        404: problem,
      },
    });
  }
}
