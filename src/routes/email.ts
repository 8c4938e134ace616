import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { and, eq, sql } from 'drizzle-orm';
import { clearFailuresStatement } from '../abuse/lockout';
import { auditContext, auditEvent } from '../audit/audit';
import { hashPassword } from '../crypto/password';
import { sha256 } from '../crypto/tokens';
import { database } from '../db/client';
import { users } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { appLink, sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { rateLimit, rateLimiter } from '../middleware/rate-limit';
import { canonicalEmail } from '../policy/email';
import { validNewPassword } from '../policy/fields';
import { createRouter } from '../router';
import { revokeUserSessions } from '../sessions/store';
import { consumeToken, issueToken, peekToken, spendTokens } from '../tokens/one-time';
import { toUserObject, userByEmail, userById, userObject } from '../users/users';
import { jsonBody, problem } from './openapi';

const invalidToken = () => new ApiError('invalid_token', 'This link is invalid or has expired.');
const tokenField = z.string().max(256);
const accepted = { description: 'Accepted (always, whether or not the address has an account)' };
const ACCEPTED_BODY = { status: 'accepted' } as const;
// Any string: an address that is not valid gets the same 202 (and no mail) as an unknown one.
const emailOnly = jsonBody(z.object({ email: z.string().max(320) }));

/**
 * Per-address throttle for mail we send on an anonymous request. Over budget, the request still
 * gets its 202 (the answer must not depend on the address) but nothing is sent.
 */
async function addressAllowed(c: Context<AppEnv>, kind: string, email: string) {
  const rate = c.var.config.RATE_LIMIT_EMAIL_PER_ADDRESS;
  // Hashed: KV keys stay short (512-byte limit) and hold no address.
  const key = `${kind}:email:${await sha256(email)}`;
  const decision = await rateLimiter(c).hit(key, rate, Date.now());
  return decision.allowed;
}

export const email = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email/verify',
      tags: ['Email and password reset'],
      summary: 'Confirm an email address with the token from the verification mail',
      request: jsonBody(z.object({ token: tokenField })),
      responses: {
        200: { description: 'Verified', content: { 'application/json': { schema: userObject } } },
        400: problem,
      },
    }),
    async (c) => {
      const { token } = c.req.valid('json');
      const db = database(c.env.DB);
      const now = Date.now();
      const { consume, consumed, userOf } = await consumeToken(db, token, 'verify_email', now);
      const [spent, , , verified] = await db.batch([
        consume,
        db
          .update(users)
          .set({ emailVerifiedAt: sql`COALESCE(${users.emailVerifiedAt}, ${now})`, updatedAt: now })
          .where(and(sql`${users.id} = ${userOf}`, consumed)),
        auditEvent(db, auditContext(c), 'email.verified', userOf, {}, consumed),
        db
          .select()
          .from(users)
          .where(sql`${users.id} = ${userOf}`),
      ]);
      if (spent.length === 0 || !verified[0]) throw invalidToken();
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(verified[0]), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/email/resend',
      tags: ['Email and password reset'],
      summary: 'Send the verification mail again',
      middleware: rateLimit('EMAIL_RESEND'),
      request: emailOnly,
      responses: { 202: accepted, 429: problem },
    }),
    async (c) => {
      const email = canonicalEmail(c.req.valid('json').email);
      const config = c.var.config;
      const db = database(c.env.DB);
      const user = await userByEmail(db, email);
      if (user && user.emailVerifiedAt === null && (await addressAllowed(c, 'verify', email))) {
        const now = Date.now();
        const { token, statements } = await issueToken(
          db,
          user.id,
          'verify_email',
          config.VERIFY_EMAIL_TTL,
          now,
        );
        await db.batch(statements);
        sendLater(
          c,
          templates.verifyEmail(user.email, config.PRODUCT_NAME, appLink(c, 'verify-email', token)),
        );
      }
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/password/forgot',
      tags: ['Email and password reset'],
      summary: 'Mail a password reset link',
      middleware: rateLimit('FORGOT_PASSWORD'),
      request: emailOnly,
      responses: { 202: accepted, 429: problem },
    }),
    async (c) => {
      const email = canonicalEmail(c.req.valid('json').email);
      const config = c.var.config;
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const now = Date.now();
      // Known and unknown addresses do the same reads and one batch write each; the mail
      // itself goes out after the response (THREATS C4).
      const user = await userByEmail(db, email);
      const allowed = await addressAllowed(c, 'reset', email);
      const detail = { email, throttled: !allowed };
      if (user && allowed) {
        const { token, statements } = await issueToken(
          db,
          user.id,
          'reset_password',
          config.RESET_PASSWORD_TTL,
          now,
        );
        await db.batch([
          ...statements,
          auditEvent(db, ctx, 'password.reset_requested', user.id, detail),
        ]);
        const minutes = Math.round(config.RESET_PASSWORD_TTL / 60);
        sendLater(
          c,
          templates.resetPassword(
            user.email,
            config.PRODUCT_NAME,
            appLink(c, 'reset-password', token),
            minutes,
          ),
        );
      } else {
        await db.batch([auditEvent(db, ctx, 'password.reset_requested', user?.id ?? null, detail)]);
      }
      return c.json(ACCEPTED_BODY, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/password/reset',
      tags: ['Email and password reset'],
      summary: 'Set a new password with the token from the reset mail; every session ends',
      request: jsonBody(z.object({ token: tokenField, new_password: z.string().max(1024) })),
      responses: {
        204: { description: 'Password set; sign in again' },
        400: problem,
        422: problem,
      },
    }),
    async (c) => {
      const { token, new_password } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const now = Date.now();
      const userId = await peekToken(db, token, 'reset_password', now);
      const user = userId ? await userById(db, userId) : undefined;
      if (!user) throw invalidToken();
      const password = await validNewPassword(
        db,
        new_password,
        user.email,
        config,
        'new_password',
        c.var.log,
      );
      const passwordHash = await hashPassword(password, config.PASSWORD_PEPPER);
      const { consume, consumed } = await consumeToken(db, token, 'reset_password', now);
      // One batch: the token is spent, the password set, every session revoked, the lockout
      // cleared (a reset works while locked), the audit row written, or none of it. Of two
      // concurrent submissions only the one whose UPDATE consumed the token has any effect.
      const [spent] = await revokeUserSessions(
        db,
        c.env.KV,
        config,
        user.id,
        'password_reset',
        now,
        {
          alsoRun: [
            consume,
            db
              .update(users)
              .set({ passwordHash, updatedAt: now })
              .where(and(eq(users.id, user.id), consumed)),
            clearFailuresStatement(db, user.email, consumed),
            spendTokens(db, user.id, 'reset_password', now, consumed),
            auditEvent(db, auditContext(c), 'password.reset', user.id, {}, consumed),
          ],
        },
      );
      if ((spent as unknown[]).length === 0) throw invalidToken();
      sendLater(c, templates.passwordChanged(user.email, config.PRODUCT_NAME));
      return c.body(null, 204);
    },
  );
