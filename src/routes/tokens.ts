import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { bearerToken } from '../middleware/bearer';
import { rateLimit } from '../middleware/rate-limit';
import { createRouter } from '../router';
import {
  clearRefreshCookie,
  REFRESH_TOKEN_FORMAT,
  refreshCookieName,
  refreshTokenFrom,
} from '../sessions/cookie';
import { respondWithTokens, tokenResponse } from '../sessions/grant';
import { rotate } from '../sessions/rotation';
import { signOut, signOutEverywhere } from '../sessions/sign-out';
import { revokeSession, sessionByRefreshToken, sessionIsLive } from '../sessions/store';
import { bearer, jsonBody, problem } from './openapi';

// Anything but a string is simply not a valid token: 401 on refresh, ignored by logout.
const refreshBody = z.object({
  refresh_token: z.unknown().optional().openapi({ type: 'string', example: 'n0tA-real_t0ken...' }),
});

/**
 * 401 `refresh_token_missing`, naming the usual cause: a browser that did not send the cookie
 * because the page and this server are on different sites (SameSite=Strict), or over plain http.
 */
function missingToken(c: Context<AppEnv>) {
  return new ApiError(
    'refresh_token_missing',
    `Neither the body nor the ${refreshCookieName(c)} cookie carries a refresh token. Browsers ` +
      'send the cookie only to the same site the page is on (SameSite=Strict) and only over ' +
      'https or localhost: serve the app and this API under one site, or send the token in the body.',
  );
}

export const tokens = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/refresh',
      middleware: rateLimit('REFRESH'),
      request: jsonBody(refreshBody, false),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Authentication'],
        summary: 'Rotate a refresh token (body or __Host-refresh_token cookie)',
        responses: {
          200: {
            description: 'Rotated',
            content: { 'application/json': { schema: tokenResponse } },
          },
          401: problem,
          403: problem,
          429: problem,
        },
      }),
    }),
    async (c) => {
      const token = refreshTokenFrom(c, c.req.valid('json'));
      if (token === undefined) throw missingToken(c);
      const invalid = new ApiError('invalid_refresh_token', 'The refresh token is not valid.');
      if (!REFRESH_TOKEN_FORMAT.test(token)) throw invalid;
      const now = Date.now();
      const ctx = auditContext(c);
      const result = await rotate(c.env.DB, c.var.config, ctx, token, now);
      if (result.kind === 'rotated' || result.kind === 'retried') {
        return respondWithTokens(c, result.grant, now);
      }
      if (result.kind === 'reused') {
        const db = database(c.env.DB);
        const { sessionId, userId } = result;
        await revokeSession(db, c.env.KV, c.var.config, sessionId, 'refresh_token_reused', now, {
          alsoRun: (sessionDb) => [
            auditEvent(
              sessionDb,
              ctx,
              'token.reuse_detected',
              userId,
              { session_id: sessionId },
              sessionIsLive(sessionId),
            ),
          ],
        });
        c.var.log.warn('refresh token reuse detected', { session_id: sessionId, user_id: userId });
        clearRefreshCookie(c);
        throw new ApiError(
          'refresh_token_reused',
          'This refresh token was already used; the session is revoked.',
        );
      }
      throw invalid;
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout',
      request: jsonBody(refreshBody, false),
      ...(__OPENAPI_DOCS__ && {
        tags: ['Authentication'],
        summary: 'End the session of a refresh token and/or of the bearer token',
        responses: {
          204: { description: 'Signed out (also for unknown or retired tokens)' },
          403: problem,
        },
      }),
    }),
    async (c) => {
      const token = refreshTokenFrom(c, c.req.valid('json'));
      const claims = await bearerToken(c);
      const db = database(c.env.DB);
      const ended = new Map<string, string>();
      const session =
        token && REFRESH_TOKEN_FORMAT.test(token)
          ? await sessionByRefreshToken(db, token)
          : undefined;
      if (session) ended.set(session.sessionId, session.userId);
      if (claims) ended.set(claims.sid, claims.sub);
      for (const [sessionId, userId] of ended) await signOut(c, sessionId, userId);
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/auth/logout-all',
      middleware: bearer.middleware,
      ...(__OPENAPI_DOCS__ && {
        tags: ['Authentication'],
        summary: 'End every session of the signed-in user',
        security: bearer.security,
        responses: { 204: { description: 'Every session revoked' }, 401: problem },
      }),
    }),
    async (c) => {
      await signOutEverywhere(c, c.var.auth.sub, c.var.auth.sid);
      clearRefreshCookie(c);
      return c.body(null, 204);
    },
  );
