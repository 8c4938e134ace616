import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { registerAccount } from '../accounts/register';
import type { Context } from 'hono';
import { signInWithPassword, type SignIn } from '../accounts/sign-in';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { MFA_TOKEN_TTL_SECONDS } from '../mfa/challenge';
import { rateLimit } from '../middleware/rate-limit';
import { emailField, passwordField } from '../policy/fields';
import { createRouter } from '../router';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { nameField, toUserObject, userObject } from '../users/users';
import { jsonBody, problem } from './openapi';

export const mfaRequired = z
  .object({ mfa_required: z.literal(true), mfa_token: z.string(), expires_in: z.number().int() })
  .openapi('MfaRequired');

/** The answer of a first sign-in step: the token response, or `mfa_required` (API.md). */
/** What a sign-in route answers (password, email code): tokens, the second step, or why not. */
export const signInResponses = {
  200: {
    description: 'Signed in, or the second factor is needed (mfa_required)',
    content: { 'application/json': { schema: z.union([tokenResponse, mfaRequired]) } },
  },
  401: problem,
  403: problem,
  422: problem,
  423: problem,
  429: problem,
};

export function signInAnswer(c: Context<AppEnv>, result: SignIn) {
  if (result.kind === 'session') {
    return respondWithTokens(c, result.grant, result.now, result.persisting);
  }
  c.header('Cache-Control', 'no-store');
  return c.json(
    { mfa_required: true as const, mfa_token: result.mfaToken, expires_in: MFA_TOKEN_TTL_SECONDS },
    200,
  );
}

export const auth = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/register',
      middleware: rateLimit('REGISTER'),
      request: jsonBody(
        z.object({ email: emailField, password: passwordField, name: nameField.optional() }),
      ),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Authentication'],
        summary: 'Create an account',
        responses: {
          201: { description: 'Created', content: { 'application/json': { schema: userObject } } },
          409: problem,
          422: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const created = await registerAccount(c, c.req.valid('json'));
      if (!created) throw new ApiError('email_taken', 'An account with this email already exists.');
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(created), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/login',
      middleware: rateLimit('LOGIN'),
      request: jsonBody(z.object({ email: z.string().max(320), password: passwordField })),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Authentication'],
        summary: 'Sign in with email and password',
        responses: signInResponses,
      }),
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      return signInAnswer(c, await signInWithPassword(c, email, password));
    },
  );
