import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { grantFor } from '../accounts/sign-in';
import { auditContext } from '../audit/audit';
import { database } from '../db/client';
import { verifyChallenge } from '../mfa/challenge';
import { confirmTotpEnrolment, startTotpEnrolment, turnOffTotp } from '../mfa/enrolment';
import { rateLimit } from '../middleware/rate-limit';
import { passwordField } from '../policy/fields';
import { clientMeta } from '../request-meta';
import { createRouter } from '../router';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { signedInUser } from '../users/users';
import { bearer, jsonBody, problem } from './openapi';

const code = z.string().max(64).openapi({
  description: 'A 6-digit TOTP code (a string: leading zeros count) or a recovery code',
});
const tags = ['Two-factor authentication'];

export const mfa = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/mfa/verify',
      middleware: rateLimit('MFA_VERIFY'),
      request: jsonBody(z.object({ mfa_token: z.string().max(256), code })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Second login step: the mfa_token from /auth/login and a TOTP or recovery code',
        responses: {
          200: {
            description: 'Signed in',
            content: { 'application/json': { schema: tokenResponse } },
          },
          401: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const { mfa_token, code } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const now = Date.now();
      const { user, session } = await verifyChallenge(
        db,
        config,
        ctx,
        mfa_token,
        code,
        now,
        clientMeta(c),
      );
      return respondWithTokens(c, grantFor(user, session), now);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/setup',
      middleware: bearer.middleware,
      request: jsonBody(z.object({ password: passwordField })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary:
          'Start TOTP enrolment (needs the password): a new secret, its URI and QR code, once',
        security: bearer.security,
        responses: {
          200: {
            description: 'Scan the QR code (or type the secret), then confirm with /enable',
            content: {
              'application/json': {
                schema: z.object({
                  secret: z.string(),
                  otpauth_uri: z.string(),
                  qr_svg: z
                    .string()
                    .openapi({ description: 'The otpauth:// URI as an SVG QR code' }),
                }),
              },
            },
          },
          401: problem,
          403: problem,
          409: problem,
          423: problem,
        },
      }),
    }),
    async (c) => {
      const user = await signedInUser(c);
      const setup = await startTotpEnrolment(c, user, c.req.valid('json').password);
      c.header('Cache-Control', 'no-store');
      return c.json(
        { secret: setup.secret, otpauth_uri: setup.otpauthUri, qr_svg: setup.qrSvg },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/enable',
      middleware: bearer.middleware,
      request: jsonBody(z.object({ code })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Confirm enrolment with a current code; returns 10 one-time recovery codes, once',
        security: bearer.security,
        responses: {
          200: {
            description: 'Two-factor authentication is on',
            content: {
              'application/json': { schema: z.object({ recovery_codes: z.array(z.string()) }) },
            },
          },
          400: problem,
          401: problem,
          409: problem,
        },
      }),
    }),
    async (c) => {
      const codes = await confirmTotpEnrolment(c, await signedInUser(c), c.req.valid('json').code);
      c.header('Cache-Control', 'no-store');
      return c.json({ recovery_codes: codes }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/users/me/mfa/totp/disable',
      middleware: bearer.middleware,
      request: jsonBody(z.object({ password: passwordField, code })),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Turn TOTP off with the password and a current code; other sessions are revoked',
        security: bearer.security,
        responses: {
          204: { description: 'Two-factor authentication is off' },
          401: problem,
          403: problem,
          423: problem,
        },
      }),
    }),
    async (c) => {
      const { password, code } = c.req.valid('json');
      await turnOffTotp(c, await signedInUser(c), c.var.auth.sid, password, code);
      return c.body(null, 204);
    },
  );
