import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { auditEventJson } from '../audit/json';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { requireRole } from '../middleware/roles';
import { createRouter } from '../router';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { removeFactorStatements } from '../mfa/factors';
import { revokeUserSessions } from '../sessions/store';
import { applyUserChange } from '../users/admin-update';
import {
  adminUser,
  cursorParam,
  encodeCursor,
  listAudit,
  listUsers,
  lockedUntil,
  stats,
} from '../users/admin-queries';
import { userById, userObject } from '../users/users';
import { jsonBody, problem } from './openapi';
import { profileStores, userWritten } from '../profile/cache';
import { readDb } from '../replicas/read-db';

const admin = {
  security: [{ bearer: [] as string[] }],
  middleware: requireRole('admin'),
  tags: ['Administration'],
};
const denied = { 401: problem, 403: problem };
const adminUserObject = userObject
  .extend({ disabled: z.boolean(), locked_until: z.string().nullable() })
  .openapi('AdminUser');
const limit = z.coerce.number().int().min(1).max(100).default(50);
const userParam = z.object({ id: z.string().max(64) });

async function target(c: Context<AppEnv>, id: string) {
  const user = await userById(readDb(c), id);
  if (!user) throw new ApiError('not_found', 'No such user.');
  return user;
}

export const adminRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/stats',
      middleware: admin.middleware,
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Counts of users, sessions and recent logins',
        responses: {
          200: {
            description: 'Statistics',
            content: {
              'application/json': {
                schema: z.object({
                  users: z.object({
                    total: z.number(),
                    verified: z.number(),
                    admins: z.number(),
                    disabled: z.number(),
                  }),
                  sessions: z.object({ active: z.number() }),
                  logins_24h: z.object({ succeeded: z.number(), failed: z.number() }),
                }),
              },
            },
          },
          ...denied,
        },
      }),
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(await stats(readDb(c), Date.now()), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/users',
      middleware: admin.middleware,
      request: {
        query: z.object({
          limit,
          cursor: cursorParam,
          q: z.string().max(320).optional(),
        }),
      },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Users in creation order, with a cursor that is stable under inserts',
        responses: {
          200: {
            description: 'One page',
            content: {
              'application/json': {
                schema: z.object({
                  users: z.array(adminUserObject),
                  next_cursor: z.string().nullable(),
                }),
              },
            },
          },
          ...denied,
          422: problem,
        },
      }),
    }),
    async (c) => {
      const { limit, cursor, q } = c.req.valid('query');
      const rows = await listUsers(readDb(c), limit, cursor, q?.trim() || undefined);
      const page = rows.slice(0, limit);
      c.header('Cache-Control', 'no-store');
      return c.json(
        {
          users: page.map((u) => adminUser(u)),
          next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/users/{id}',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'One user, with its disabled and lockout state',
        responses: {
          200: {
            description: 'The user',
            content: { 'application/json': { schema: adminUserObject } },
          },
          ...denied,
          404: problem,
        },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      c.header('Cache-Control', 'no-store');
      return c.json(adminUser(user, await lockedUntil(readDb(c), user.email)), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/admin/users/{id}',
      middleware: admin.middleware,
      request: {
        params: userParam,
        ...jsonBody(
          z.object({
            role: z.enum(['user', 'admin']).optional(),
            disabled: z.boolean().optional(),
          }),
        ),
      },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Change a role or disable/enable a user; disabling revokes every session',
        responses: {
          200: {
            description: 'The updated user',
            content: { 'application/json': { schema: adminUserObject } },
          },
          ...denied,
          404: problem,
          409: problem,
          422: problem,
        },
      }),
    }),
    async (c) => {
      const change = c.req.valid('json');
      const db = database(c.env.DB);
      const user = await target(c, c.req.valid('param').id);
      const after = await applyUserChange(
        db,
        c.env.KV,
        c.var.config,
        auditContext(c),
        user,
        change,
        c.var.auth.sub,
        Date.now(),
      );
      c.header('Cache-Control', 'no-store');
      return c.json(adminUser(after, await lockedUntil(db, after.email)), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/admin/users/{id}/sessions',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Revoke every session of a user',
        responses: { 204: { description: 'Revoked' }, ...denied, 404: problem },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      const db = database(c.env.DB);
      await revokeUserSessions(
        db,
        c.env.KV,
        c.var.config,
        user.id,
        'revoked_by_admin',
        Date.now(),
        {
          alsoRun: [
            auditEvent(db, auditContext(c), 'sessions.revoked_by_admin', user.id, {
              by: c.var.auth.sub,
            }),
          ],
        },
      );
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/admin/users/{id}/mfa',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: "Remove a user's two-factor authentication (a lost or hijacked factor)",
        description:
          'Deletes the TOTP secret and recovery codes, revokes every session, mails the user and ' +
          'writes an audit event. The user signs in with the password alone and can enrol again.',
        responses: { 204: { description: 'Removed' }, ...denied, 404: problem },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      const config = c.var.config;
      const db = database(c.env.DB);
      const now = Date.now();
      await revokeUserSessions(db, c.env.KV, config, user.id, 'mfa_removed_by_admin', now, {
        alsoRun: [
          ...removeFactorStatements(db, user.id, now),
          auditEvent(db, auditContext(c), 'mfa.removed_by_admin', user.id, {
            by: c.var.auth.sub,
            was_enabled: user.totpEnabledAt !== null,
          }),
        ],
      });
      await userWritten(profileStores(c), user.id);
      sendLater(c, templates.mfaResetByAdmin(user.email, config.PRODUCT_NAME));
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/audit',
      middleware: admin.middleware,
      request: {
        query: z.object({
          user_id: z.string().max(64).optional(),
          type: z.string().max(64).optional(),
          limit,
          cursor: cursorParam,
        }),
      },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Audit events, newest first',
        responses: { 200: { description: 'One page of events' }, ...denied, 422: problem },
      }),
    }),
    async (c) => {
      const { user_id, type, limit, cursor } = c.req.valid('query');
      const rows = await listAudit(readDb(c), limit, {
        userId: user_id,
        type,
        beforeId: cursor,
      });
      const page = rows.slice(0, limit);
      c.header('Cache-Control', 'no-store');
      return c.json(
        {
          events: page.map(auditEventJson),
          next_cursor: rows.length > limit ? encodeCursor(page.at(-1)!.id) : null,
        },
        200,
      );
    },
  );
