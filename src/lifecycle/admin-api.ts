import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import type { Context } from 'hono';
import { liftLockStatement } from '../abuse/lockout';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { appLink, sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { requireRole } from '../middleware/roles';
import { emailField } from '../policy/fields';
import { createRouter } from '../router';
import { ACCEPTED_BODY } from '../routes/email';
import { jsonBody, problem } from '../routes/openapi';
import { issueToken } from '../tokens/one-time';
import { lockedUntil } from '../users/admin-queries';
import { nameField, toUserObject, userById, userObject } from '../users/users';
import { eraseUser } from './erasure';
import { inviteUser } from './invitation';
import { readDb } from '../replicas/read-db';

// The same guard as src/routes/admin.ts: the role stored now, not only the token's claim.
const admin = {
  security: [{ bearer: [] as string[] }],
  middleware: requireRole('admin'),
  tags: ['Administration'],
};
const denied = { 401: problem, 403: problem };
const userParam = z.object({ id: z.string().max(64) });

async function target(c: Context<AppEnv>, id: string) {
  const user = await userById(readDb(c), id);
  if (!user) throw new ApiError('not_found', 'No such user.');
  return user;
}

export const adminLifecycle = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/users',
      middleware: admin.middleware,
      request: jsonBody(
        z.object({
          email: emailField,
          name: nameField.optional(),
          role: z.enum(['user', 'admin']).optional(),
        }),
      ),
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Create a user and mail them an invitation to choose a password',
        description:
          'The account has no password until the link (valid INVITE_TTL, default 7 days) is used; ' +
          'using it also confirms the address.',
        responses: {
          201: {
            description: 'Created; the invitation is on its way',
            content: { 'application/json': { schema: userObject } },
          },
          ...denied,
          409: problem,
          422: problem,
        },
      }),
    }),
    async (c) => {
      const user = await inviteUser(c, c.req.valid('json'), c.var.auth.sub);
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(user), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/admin/users/{id}',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Delete a user: the same erasure as self-deletion',
        responses: { 204: { description: 'Deleted' }, ...denied, 404: problem, 409: problem },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      await eraseUser(c, user, auditContext(c), c.var.auth.sub);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/users/{id}/unlock',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: "Lift the lockout of a user's email (failed sign-ins)",
        responses: { 204: { description: 'Unlocked' }, ...denied, 404: problem },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      const db = database(c.env.DB);
      const was = await lockedUntil(db, user.email);
      await db.batch([
        liftLockStatement(db, user.email),
        auditEvent(db, auditContext(c), 'account.unlocked', user.id, {
          by: c.var.auth.sub,
          was_locked: was !== null && was > Date.now(),
        }),
      ]);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/users/{id}/password-reset',
      middleware: admin.middleware,
      request: { params: userParam },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Mail the user a password reset link',
        description:
          'The same link and mail as /auth/password/forgot (RESET_PASSWORD_TTL), older links spent.',
        responses: {
          202: {
            description: 'The reset mail is on its way',
            content: {
              'application/json': { schema: z.object({ status: z.literal('accepted') }) },
            },
          },
          ...denied,
          404: problem,
        },
      }),
    }),
    async (c) => {
      const user = await target(c, c.req.valid('param').id);
      const config = c.var.config;
      const db = database(c.env.DB);
      const now = Date.now();
      const reset = await issueToken(db, user.id, 'reset_password', config.RESET_PASSWORD_TTL, now);
      await db.batch([
        ...reset.statements,
        auditEvent(db, auditContext(c), 'password.reset_sent_by_admin', user.id, {
          by: c.var.auth.sub,
        }),
      ]);
      const link = appLink(c, 'reset-password', reset.token);
      const minutes = Math.round(config.RESET_PASSWORD_TTL / 60);
      sendLater(c, templates.resetPassword(user.email, config.PRODUCT_NAME, link, minutes));
      return c.json(ACCEPTED_BODY, 202);
    },
  );
