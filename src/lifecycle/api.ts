import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import { emailField, passwordField } from '../policy/fields';
import { createRouter } from '../router';
import { ACCEPTED_BODY } from '../routes/email';
import { bearer, jsonBody, problem } from '../routes/openapi';
import { signedInUser, toUserObject, userObject } from '../users/users';
import { adminLifecycle } from './admin-api';
import { confirmEmailChange, requestEmailChange } from './email-change';
import { personalData } from './export';
import { deleteOwnAccount } from './self-deletion';
import { readDb } from '../replicas/read-db';

const tags = ['Account lifecycle'];
const code = z.string().max(64).openapi({ description: 'A 6-digit TOTP code or a recovery code' });

/** The account lifecycle of API.md: email change, export, self-deletion, and the admin's part. */
export const lifecycleApi = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/email',
      middleware: bearer.middleware,
      request: jsonBody(z.object({ new_email: emailField, password: passwordField })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Ask to change the email: a link goes to the new address, a notice to the old',
        description:
          'The account keeps its address until the link is used. Needs the password (under the ' +
          "email's lockout); counted per user (RATE_LIMIT_EMAIL_CHANGE), since 409 tells whether " +
          'an address has an account.',
        security: bearer.security,
        responses: {
          202: {
            description: 'The confirmation link is on its way',
            content: {
              'application/json': { schema: z.object({ status: z.literal('accepted') }) },
            },
          },
          401: problem,
          403: problem,
          409: problem,
          422: problem,
          423: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const { new_email, password } = c.req.valid('json');
      const user = await signedInUser(c);
      await requestEmailChange(c, user, c.var.auth.sid, new_email, password);
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email/change/confirm',
      request: jsonBody(z.object({ token: z.string().max(256) })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Confirm an email change with the token from the link mailed to the new address',
        responses: {
          200: {
            description: 'The user, with the new address, verified',
            content: { 'application/json': { schema: userObject } },
          },
          400: problem,
          409: problem,
        },
      }),
    }),
    async (c) => {
      const user = await confirmEmailChange(c, c.req.valid('json').token);
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(user), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/users/me/export',
      middleware: bearer.middleware,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Every personal record held about the signed-in user, as one JSON download',
        description:
          'Profile, sessions, two-factor state, passkeys and identities (metadata only), mailed ' +
          'links and codes (metadata only), sign-in failures, and audit events about the user. ' +
          'No password hash, secret, token or code hash.',
        security: bearer.security,
        responses: {
          200: {
            description: 'The export',
            content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
          },
          401: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const db = database(c.env.DB);
      const now = Date.now();
      await db.batch([auditEvent(db, auditContext(c), 'account.exported', user.id)]);
      const data = await personalData(readDb(c), user, now);
      c.header('Cache-Control', 'no-store');
      c.header('Content-Disposition', 'attachment; filename="account-export.json"');
      return c.json(data, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/delete',
      middleware: bearer.middleware,
      request: jsonBody(
        z.object({ password: passwordField.optional(), code: code.optional() }),
        false,
      ),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Delete the account: personal data erased, every session and token ended',
        description:
          'Needs the password, and a TOTP or recovery code when two-factor is on. An account ' +
          'without a password (identity provider or passkeys only) sends none and needs a sign-in ' +
          'within the last 10 minutes instead (403 `recent_sign_in_required`). Audit events stay, ' +
          'with the user id but without addresses, IPs or user agents. 409 `last_admin` for the ' +
          'last active admin.',
        security: bearer.security,
        responses: {
          204: { description: 'Deleted' },
          401: problem,
          403: problem,
          409: problem,
          422: problem,
          423: problem,
        },
      }),
    }),
    async (c) => {
      const { password, code } = c.req.valid('json') ?? {};
      const user = await signedInUser(c);
      await deleteOwnAccount(c, user, c.var.auth.sid, password, code);
      return c.body(null, 204);
    },
  )
  .route('/', adminLifecycle);
