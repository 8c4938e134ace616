import { createRoute, z } from '@hono/zod-openapi';
import { eq, sql } from 'drizzle-orm';
import { authenticate } from '../accounts/authenticate';
import { auditContext, auditEvent } from '../audit/audit';
import { hashPassword } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { appLink, sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { rateLimit } from '../middleware/rate-limit';
import { emailField, loginPassword, validNewPassword } from '../policy/fields';
import { clientMeta } from '../request-meta';
import { createRouter } from '../router';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { openSession } from '../sessions/store';
import { issueToken } from '../tokens/one-time';
import { createChallenge, MFA_TOKEN_TTL_SECONDS } from '../mfa/challenge';

const mfaRequired = z
  .object({ mfa_required: z.literal(true), mfa_token: z.string(), expires_in: z.number().int() })
  .openapi('MfaRequired');
import { nameField, toUserObject, userObject } from '../users/users';
import { jsonBody, problem } from './openapi';

export const auth = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/register',
      tags: ['Authentication'],
      summary: 'Create an account',
      middleware: rateLimit('REGISTER'),
      request: jsonBody(
        z.object({ email: emailField, password: z.string().max(1024), name: nameField.optional() }),
      ),
      responses: {
        201: { description: 'Created', content: { 'application/json': { schema: userObject } } },
        409: problem,
        422: problem,
        429: problem,
      },
    }),
    async (c) => {
      const { email, password, name } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const checked = await validNewPassword(db, password, email, config, 'password', c.var.log);
      const now = Date.now();
      const id = uuidv7(now);
      const userCreated = sql`EXISTS (SELECT 1 FROM users WHERE id = ${id})`;
      const verification = await issueToken(
        db,
        id,
        'verify_email',
        config.VERIFY_EMAIL_TTL,
        now,
        userCreated,
      );
      const [[created]] = await db.batch([
        db
          .insert(users)
          .values({
            id,
            email,
            name: name ?? null,
            passwordHash: await hashPassword(checked, config.PASSWORD_PEPPER),
            createdAt: now,
            updatedAt: now,
          })
          // The UNIQUE index decides races: of two concurrent registrations exactly one inserts.
          .onConflictDoNothing({ target: users.email })
          .returning(),
        auditEvent(db, auditContext(c), 'user.registered', id, { email }, userCreated),
        ...verification.statements,
      ]);
      if (!created) throw new ApiError('email_taken', 'An account with this email already exists.');
      const link = appLink(c, 'verify-email', verification.token);
      sendLater(c, templates.verifyEmail(created.email, config.PRODUCT_NAME, link));
      c.header('Cache-Control', 'no-store');
      return c.json(toUserObject(created), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/login',
      tags: ['Authentication'],
      summary: 'Sign in with email and password',
      middleware: rateLimit('LOGIN'),
      request: jsonBody(z.object({ email: z.string().max(320), password: loginPassword })),
      responses: {
        200: {
          description: 'Signed in, or the second factor is needed (mfa_required)',
          content: { 'application/json': { schema: z.union([tokenResponse, mfaRequired]) } },
        },
        401: problem,
        403: problem,
        422: problem,
        423: problem,
        429: problem,
      },
    }),
    async (c) => {
      const { email, password } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const { user, ...auth } = await authenticate(db, config, ctx, email, password);
      // Only a caller who knows the password learns the account's state (THREATS C2).
      if (user.disabledAt !== null) {
        await db.batch([
          auth.clearFailures,
          auditEvent(db, ctx, 'login.failed', user.id, { reason: 'account_disabled' }),
        ]);
        throw new ApiError('account_disabled', 'This account is disabled.');
      }
      if (config.REQUIRE_EMAIL_VERIFICATION && user.emailVerifiedAt === null) {
        await db.batch([auth.clearFailures]);
        throw new ApiError('email_not_verified', 'Confirm your email address first.');
      }
      const now = Date.now();
      const rehash = auth.needsRehash
        ? [
            db
              .update(users)
              .set({
                passwordHash: await hashPassword(auth.password, config.PASSWORD_PEPPER),
                updatedAt: now,
              })
              .where(eq(users.id, user.id)),
          ]
        : [];
      if (user.totpEnabledAt !== null) {
        // The password was right, but the login is not done: the failure count stays until the
        // second step succeeds, so repeating the password step cannot reset the lockout.
        const challenge = await createChallenge(db, user.id, now);
        await db.batch([challenge.statement, ...rehash]);
        c.header('Cache-Control', 'no-store');
        return c.json(
          {
            mfa_required: true as const,
            mfa_token: challenge.token,
            expires_in: MFA_TOKEN_TTL_SECONDS,
          },
          200,
        );
      }
      const session = await openSession(db, config, user.id, clientMeta(c), now);
      const persisting = db.batch([
        ...session.statements,
        auth.clearFailures,
        auditEvent(db, ctx, 'login.succeeded', user.id, { session_id: session.sessionId }),
        ...rehash,
      ]);
      const emailVerified = user.emailVerifiedAt !== null;
      const grant = { ...session, userId: user.id, role: user.role, emailVerified };
      return respondWithTokens(c, grant, now, persisting);
    },
  );
