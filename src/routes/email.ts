import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import {
  confirmEmail,
  requestPasswordReset,
  resendVerification,
  resetPassword,
} from '../accounts/email-links';
import { rateLimit } from '../middleware/rate-limit';
import { passwordField } from '../policy/fields';
import { createRouter } from '../router';
import { toUserObject, userObject } from '../users/users';
import { jsonBody, problem } from './openapi';

const tokenField = z.string().max(256);
export const accepted = {
  description: 'Accepted (always, whether or not the address has an account)',
};
export const ACCEPTED_BODY = { status: 'accepted' } as const;
// Any string: an address that is not valid gets the same 202 (and no mail) as an unknown one.
export const emailOnly = jsonBody(z.object({ email: z.string().max(320) }));

export const email = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email/verify',
      request: jsonBody(z.object({ token: tokenField })),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Email and password reset'],
        summary: 'Confirm an email address with the token from the verification mail',
        responses: {
          200: { description: 'Verified', content: { 'application/json': { schema: userObject } } },
          400: problem,
        },
      }),
    }),
    async (c) => {
      const user = await confirmEmail(c, c.req.valid('json').token);
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(user), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email/resend',
      middleware: rateLimit('EMAIL_RESEND'),
      request: emailOnly,
      ...(__OPENAPI_DOCS__ && {
        tags: ['Email and password reset'],
        summary: 'Send the verification mail again',
        responses: { 202: accepted, 429: problem },
      }),
    }),
    (c) => {
      resendVerification(c, c.req.valid('json').email);
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/password/forgot',
      middleware: rateLimit('FORGOT_PASSWORD'),
      request: emailOnly,
      ...(__OPENAPI_DOCS__ && {
        tags: ['Email and password reset'],
        summary: 'Mail a password reset link',
        responses: { 202: accepted, 429: problem },
      }),
    }),
    (c) => {
      requestPasswordReset(c, c.req.valid('json').email);
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/password/reset',
      request: jsonBody(z.object({ token: tokenField, new_password: passwordField })),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Email and password reset'],
        summary: 'Set a new password with the token from the reset mail; every session ends',
        responses: {
          204: { description: 'Password set; sign in again' },
          400: problem,
          422: problem,
        },
      }),
    }),
    async (c) => {
      const { token, new_password } = c.req.valid('json');
      await resetPassword(c, token, new_password);
      return c.body(null, 204);
    },
  );
