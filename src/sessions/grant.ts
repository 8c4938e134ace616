import * as z from 'zod';
import type { Context } from 'hono';
import { signAccessToken } from '../crypto/jwt';
import type { AppEnv } from '../env';
import { setRefreshCookie } from './cookie';
import type { SessionGrant } from './rotation';

export const tokenResponse = z
  .object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_in: z.number().int(),
    refresh_token: z.string(),
    refresh_expires_in: z.number().int(),
    session_id: z.string(),
  })
  .openapi('TokenResponse');

/** The token response of API.md (login, MFA verify, refresh), with the refresh cookie. */
export async function respondWithTokens(
  c: Context<AppEnv>,
  grant: SessionGrant,
  now: number,
  /** The write that makes the session exist: signing overlaps it, the answer waits for both. */
  persisting: Promise<unknown> = Promise.resolve(),
) {
  const config = c.var.config;
  const claims = {
    userId: grant.userId,
    sessionId: grant.sessionId,
    role: grant.role,
    emailVerified: grant.emailVerified,
  };
  const [accessToken] = await Promise.all([
    signAccessToken(config, claims, now, c.env.DB),
    persisting,
  ]);
  const refreshExpiresIn = setSessionCookie(c, grant, now);
  c.header('Cache-Control', 'no-store');
  return c.json(
    {
      access_token: accessToken,
      token_type: 'Bearer' as const,
      expires_in: config.ACCESS_TOKEN_TTL,
      refresh_token: grant.refreshToken,
      refresh_expires_in: refreshExpiresIn,
      session_id: grant.sessionId,
    },
    200,
  );
}

/** The refresh cookie of a session, for as long as the session lives; returns that in seconds. */
export function setSessionCookie(c: Context<AppEnv>, grant: SessionGrant, now: number): number {
  const seconds = Math.max(0, Math.floor((grant.expiresAt - now) / 1000));
  setRefreshCookie(c, grant.refreshToken, seconds);
  return seconds;
}
