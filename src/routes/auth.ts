import { createRoute, z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../crypto/password';
import { uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { users } from '../db/schema';
import { ApiError } from '../errors';
import { bearerToken, requireAuth } from '../middleware/bearer';
import { canonicalEmail } from '../policy/email';
import { emailField, loginPassword, validNewPassword } from '../policy/fields';
import { clientMeta } from '../request-meta';
import { createRouter } from '../router';
import { clearRefreshCookie, refreshTokenFrom } from '../sessions/cookie';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { rotate } from '../sessions/rotation';
import {
  openSession,
  revokeSession,
  revokeUserSessions,
  sessionByRefreshToken,
} from '../sessions/store';
import { nameField, toUserObject, userByEmail, userObject } from '../users/users';

const problem = { description: 'Problem details (RFC 9457)' };
const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  body: { required, content: { 'application/json': { schema } } },
});
// A refresh token is 32 random bytes in base64url (43 characters); anything else is unknown.
const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const refreshBody = z.object({ refresh_token: z.string().max(4096).optional() });

export const auth = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/register',
      tags: ['Authentication'],
      summary: 'Create an account',
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
      const checked = validNewPassword(password, email, config, 'password');
      const now = Date.now();
      const [created] = await database(c.env.DB)
        .insert(users)
        .values({
          id: uuidv7(now),
          email,
          name: name ?? null,
          passwordHash: await hashPassword(checked, config.PASSWORD_PEPPER),
          createdAt: now,
          updatedAt: now,
        })
        // The UNIQUE index decides races: of two concurrent registrations exactly one inserts.
        .onConflictDoNothing({ target: users.email })
        .returning();
      if (!created) throw new ApiError('email_taken', 'An account with this email already exists.');
      c.var.log.info('user registered', { user_id: created.id });
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
      request: jsonBody(z.object({ email: z.string().max(320), password: loginPassword })),
      responses: {
        200: {
          description: 'Signed in',
          content: { 'application/json': { schema: tokenResponse } },
        },
        401: problem,
        403: problem,
        422: problem,
        423: problem,
        429: problem,
      },
    }),
    async (c) => {
      const { email: rawEmail, password } = c.req.valid('json');
      const config = c.var.config;
      const db = database(c.env.DB);
      const user = await userByEmail(db, canonicalEmail(rawEmail));
      const normalized = password.normalize('NFKC');
      // An unknown email costs the same PBKDF2 derivation as a wrong password (THREATS C1).
      const check = await verifyPassword(
        normalized,
        user?.passwordHash ?? DUMMY_HASH,
        config.PASSWORD_PEPPER,
      );
      if (!user || !check.valid) {
        c.var.log.info('login failed', { user_id: user?.id ?? null });
        throw new ApiError('invalid_credentials', 'Invalid email or password.');
      }
      // Only a caller who knows the password learns the account's state (THREATS C2).
      if (user.disabledAt !== null)
        throw new ApiError('account_disabled', 'This account is disabled.');

      const now = Date.now();
      const session = await openSession(db, config, user.id, clientMeta(c), now);
      const rehash = check.needsRehash
        ? [
            db
              .update(users)
              .set({
                passwordHash: await hashPassword(normalized, config.PASSWORD_PEPPER),
                updatedAt: now,
              })
              .where(eq(users.id, user.id)),
          ]
        : [];
      await db.batch([...session.statements, ...rehash]);
      c.var.log.info('login succeeded', { user_id: user.id, session_id: session.sessionId });
      return respondWithTokens(
        c,
        {
          ...session,
          userId: user.id,
          role: user.role,
          emailVerified: user.emailVerifiedAt !== null,
        },
        now,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/refresh',
      tags: ['Authentication'],
      summary: 'Rotate a refresh token (body or __Host-refresh_token cookie)',
      request: jsonBody(refreshBody, false),
      responses: {
        200: { description: 'Rotated', content: { 'application/json': { schema: tokenResponse } } },
        401: problem,
        403: problem,
        429: problem,
      },
    }),
    async (c) => {
      const token = refreshTokenFrom(c, c.req.valid('json'));
      const invalid = new ApiError('invalid_refresh_token', 'The refresh token is not valid.');
      if (!token || !REFRESH_TOKEN.test(token)) throw invalid;
      const now = Date.now();
      const db = database(c.env.DB);
      const result = await rotate(c.env.DB, c.var.config, token, now);
      switch (result.kind) {
        case 'rotated':
        case 'retried':
          if (result.kind === 'retried')
            c.var.log.info('refresh retried within grace', { session_id: result.grant.sessionId });
          return respondWithTokens(c, result.grant, now);
        case 'reused':
          await revokeSession(
            db,
            c.env.KV,
            c.var.config,
            result.sessionId,
            null,
            'refresh_token_reused',
            now,
          );
          c.var.log.warn('refresh token reuse detected', {
            session_id: result.sessionId,
            user_id: result.userId,
          });
          clearRefreshCookie(c);
          throw new ApiError(
            'refresh_token_reused',
            'This refresh token was already used; the session is revoked.',
          );
        case 'invalid':
          throw invalid;
      }
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout',
      tags: ['Authentication'],
      summary: 'End the session of a refresh token and/or of the bearer token',
      request: jsonBody(refreshBody, false),
      responses: {
        204: { description: 'Signed out (also for unknown or retired tokens)' },
        403: problem,
      },
    }),
    async (c) => {
      const token = refreshTokenFrom(c, c.req.valid('json'));
      const claims = await bearerToken(c);
      const db = database(c.env.DB);
      const now = Date.now();
      const ended = new Set<string>();
      const session =
        token && REFRESH_TOKEN.test(token) ? await sessionByRefreshToken(db, token) : undefined;
      if (session) ended.add(session.sessionId);
      if (claims) ended.add(claims.sid);
      for (const sessionId of ended) {
        if (await revokeSession(db, c.env.KV, c.var.config, sessionId, null, 'logout', now)) {
          c.var.log.info('logout', { session_id: sessionId });
        }
      }
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout-all',
      tags: ['Authentication'],
      summary: 'End every session of the signed-in user',
      security: [{ bearer: [] }],
      middleware: requireAuth,
      responses: { 204: { description: 'Every session revoked' }, 401: problem },
    }),
    async (c) => {
      const { sub } = c.var.auth;
      await revokeUserSessions(
        database(c.env.DB),
        c.env.KV,
        c.var.config,
        sub,
        'logout_all',
        Date.now(),
      );
      c.var.log.info('logout all', { user_id: sub });
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  );
