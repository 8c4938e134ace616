import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { authenticate } from '../accounts/authenticate';
import { hashPassword } from '../crypto/password';
import { database } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { loginPassword, validNewPassword } from '../policy/fields';
import { createRouter } from '../router';
import { spendTokens } from '../tokens/one-time';
import { bearer, problem } from './openapi';
import { auditContext, auditEvent } from '../audit/audit';
import {
  assertSessionLive,
  liveSessions,
  revokeSession,
  revokeUserSessions,
  sessionIsLive,
} from '../sessions/store';
import { iso, nameField, toUserObject, userObject, signedInUser } from '../users/users';

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
      tags: ['User'],
      summary: 'The signed-in user',
      ...bearer,
      responses: { 200: userResponse, 401: problem },
    }),
    async (c) => {
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(await signedInUser(c)), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/users/me',
      tags: ['User'],
      summary: 'Change the display name',
      ...bearer,
      request: {
        body: {
          required: true,
          content: { 'application/json': { schema: z.object({ name: nameField }) } },
        },
      },
      responses: { 200: userResponse, 401: problem, 422: problem },
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      await signedInUser(c);
      const [updated] = await database(c.env.DB)
        .update(users)
        .set({ name, updatedAt: Date.now() })
        .where(eq(users.id, c.var.auth.sub))
        .returning();
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(updated!), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/password',
      tags: ['User'],
      summary: 'Change the password; every other session is revoked',
      ...bearer,
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                current_password: loginPassword,
                new_password: z.string().max(1024),
              }),
            },
          },
        },
      },
      responses: { 204: { description: 'Changed' }, 401: problem, 422: problem },
    }),
    async (c) => {
      const { current_password, new_password } = c.req.valid('json');
      const { sid, sub } = c.var.auth;
      const config = c.var.config;
      const db = database(c.env.DB);
      const user = await signedInUser(c);
      await assertSessionLive(db, sid, Date.now());
      const password = await validNewPassword(
        db,
        new_password,
        user.email,
        config,
        'new_password',
        c.var.log,
      );
      // The current password is guessed under the same lockout as a login: a stolen access
      // token must not buy unlimited guesses.
      const ctx = auditContext(c);
      const auth = await authenticate(
        db,
        config,
        ctx,
        user.email,
        current_password,
        'password_change',
      );
      const now = Date.now();
      const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
      await revokeUserSessions(db, c.env.KV, config, sub, 'password_changed', now, {
        keep: sid,
        alsoRun: [
          db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, sub)),
          auth.clearFailures,
          // A reset link mailed before the change must not undo it (THREATS G6).
          spendTokens(db, sub, 'reset_password', now),
          auditEvent(db, ctx, 'password.changed', sub, { session_id: sid }),
        ],
      });
      sendLater(c, templates.passwordChanged(user.email, config.PRODUCT_NAME));
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me/sessions',
      tags: ['User'],
      summary: 'The live sessions of the signed-in user',
      ...bearer,
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
    async (c) => {
      const rows = await liveSessions(database(c.env.DB), c.var.auth.sub, Date.now());
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
      tags: ['User'],
      summary: 'Revoke one of your sessions',
      ...bearer,
      request: { params: z.object({ id: z.string() }) },
      responses: { 204: { description: 'Revoked' }, 401: problem, 404: problem },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { sub } = c.var.auth;
      // Someone else's session id is indistinguishable from an unknown one (THREATS I3).
      const db = database(c.env.DB);
      await assertSessionLive(db, c.var.auth.sid, Date.now());
      const revoked = await revokeSession(
        db,
        c.env.KV,
        c.var.config,
        id,
        'revoked_by_user',
        Date.now(),
        {
          userId: sub,
          alsoRun: [
            auditEvent(
              db,
              auditContext(c),
              'session.revoked',
              sub,
              { session_id: id },
              sessionIsLive(id),
            ),
          ],
        },
      );
      if (!revoked) throw new ApiError('not_found', 'No such session.');
      return c.body(null, 204);
    },
  );
