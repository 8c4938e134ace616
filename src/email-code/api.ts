import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { rateLimit } from '../middleware/rate-limit';
import { createRouter } from '../router';
import { signInAnswer, signInResponses } from '../routes/auth';
import { ACCEPTED_BODY, accepted, emailOnly } from '../routes/email';
import { jsonBody, problem } from '../routes/openapi';
import { sendEmailCode, signInWithEmailCode } from './sign-in';

const tags = ['Sign-in with an email code'];

/**
 * Mailing a code shares forgot-password's per-IP budget (RATE_LIMIT_FORGOT_PASSWORD: both mail
 * a way in to whoever asks) with a count of its own; checking one is a sign-in, under the
 * login's budget and the lockout.
 */
export const sendLimit = rateLimit('FORGOT_PASSWORD', 'email_code');
export const verifyLimit = rateLimit('LOGIN');

export const emailCodeApi = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email-code/send',
      middleware: sendLimit,
      request: emailOnly,
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Mail a one-time 6-digit sign-in code (10 minutes, 5 attempts)',
        responses: { 202: accepted, 429: problem },
      }),
    }),
    (c) => {
      sendEmailCode(c, c.req.valid('json').email);
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email-code/verify',
      middleware: verifyLimit,
      request: jsonBody(
        z.object({
          email: z.string().max(320),
          code: z.string().max(64).openapi({
            description: 'The 6 digits from the mail, as a string (leading zeros count)',
          }),
        }),
      ),
      ...(__OPENAPI_DOCS__ && {
        tags,
        summary: 'Sign in with the mailed code',
        responses: signInResponses,
      }),
    }),
    async (c) => {
      const { email, code } = c.req.valid('json');
      return signInAnswer(c, await signInWithEmailCode(c, email, code));
    },
  );
