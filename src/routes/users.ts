import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { eq } from 'drizzle-orm';
import { changePassword } from '../accounts/password-change';
import { database } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { passwordField } from '../policy/fields';
import { profileStores, userWritten } from '../profile/cache';
import { bearerProfile } from '../profile/me';
import { createRouter } from '../router';
import { revokeOwnSession } from '../sessions/sign-out';
import { liveSessions } from '../sessions/store';
import { iso, nameField, toUserObject, userObject, signedInUser } from '../users/users';
import { bearer, problem } from './openapi';
import { readDb } from '../replicas/read-db';

const userResponse = {
  description: 'The user',
  content: { 'application/json': { schema: userObject } },
};

const sessionObject = z.object({
  id: z.string(),
  created_at: z.string(),
  last_used_at: z.string(),
  expires_at: z.string(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  current: z.boolean(),
});

export const me = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me',
      ...(__OPENAPI_DOCS__ && {
        tags: ['User'],
        summary: 'The signed-in user',
        // The bearer check is bearerProfile's: it reads the profile cache in the same KV get.
        security: bearer.security,
        responses: { 200: userResponse, 401: problem },
      }),
    }),
    async (c) => {
      const user = await bearerProfile(c);
      c.header('Cache-Control', 'no-store');
      return c.json(user, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/users/me',
      middleware: bearer.middleware,
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: z.object({ name: nameField }) } },
        },
      },
      ...(__OPENAPI_DOCS__ && {
        tags: ['User'],
        summary: 'Change the display name',
        security: bearer.security,
        responses: { 200: userResponse, 401: problem, 422: problem },
      }),
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      await signedInUser(c);
      const [updated] = await database(c.env.DB)
        .update(users)
        .set({ name, updatedAt: Date.now() })
        .where(eq(users.id, c.var.auth.sub))
        .returning();
      await userWritten(profileStores(c), c.var.auth.sub, updated ?? null);
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(updated!), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/password',
      middleware: bearer.middleware,
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                current_password: passwordField,
                new_password: passwordField,
              }),
            },
          },
        },
      },
      ...(__OPENAPI_DOCS__ && {
        tags: ['User'],
        summary: 'Change the password; every other session is revoked',
        security: bearer.security,
        responses: {
          204: { description: 'Changed' },
          401: problem,
          403: problem,
          422: problem,
          423: problem,
        },
      }),
    }),
    async (c) => {
      const { current_password, new_password } = c.req.valid('json');
      const user = await signedInUser(c);
      await changePassword(c, user, c.var.auth.sid, current_password, new_password);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me/sessions',
      middleware: bearer.middleware,
      ...(__OPENAPI_DOCS__ && {
        tags: ['User'],
        summary: 'The live sessions of the signed-in user',
        security: bearer.security,
        responses: {
          200: {
            description: 'Sessions, most recently used first',
            content: {
              'application/json': { schema: z.object({ sessions: z.array(sessionObject) }) },
            },
          },
          401: problem,
        },
      }),
    }),
    async (c) => {
      const rows = await liveSessions(readDb(c), c.var.config, c.var.auth.sub, Date.now());
      c.header('Cache-Control', 'no-store');
      return c.json(
        {
          sessions: rows.map((s) => ({
            id: s.id,
            created_at: iso(s.createdAt),
            last_used_at: iso(s.lastUsedAt),
            expires_at: iso(s.expiresAt),
            ip: s.ip,
            user_agent: s.userAgent,
            current: s.id === c.var.auth.sid,
          })),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/users/me/sessions/{id}',
      middleware: bearer.middleware,
      request: { params: z.object({ id: z.string() }) },
      ...(__OPENAPI_DOCS__ && {
        tags: ['User'],
        summary: 'Revoke one of your sessions',
        security: bearer.security,
        responses: { 204: { description: 'Revoked' }, 401: problem, 404: problem },
      }),
    }),
    async (c) => {
      const { sub, sid } = c.var.auth;
      if (!(await revokeOwnSession(c, sub, sid, c.req.valid('param').id))) {
        throw new ApiError('not_found', 'No such session.');
      }
      return c.body(null, 204);
    },
  );
