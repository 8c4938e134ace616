import type { Context } from 'hono';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { assertSessionLive, revokeSession, revokeUserSessions, sessionIsLive } from './store';

// Ending sessions on the user's own request, for the API and the account page alike. Each is
// audited once, and only if the session was still live (racing requests record it once).

/** Signs out one session (logout): idempotent, an ended or unknown session changes nothing. */
export async function signOut(c: Context<AppEnv>, sessionId: string, userId: string) {
  const db = database(c.env.DB);
  await revokeSession(db, c.env.KV, c.var.config, sessionId, 'logout', Date.now(), {
    alsoRun: (sessionDb) => [
      auditEvent(
        sessionDb,
        auditContext(c),
        'logout',
        userId,
        { session_id: sessionId },
        sessionIsLive(sessionId),
      ),
    ],
  });
}

/** Signs out every session of the user, the current one included (logout-all). */
export async function signOutEverywhere(c: Context<AppEnv>, userId: string, sessionId: string) {
  const db = database(c.env.DB);
  await assertSessionLive(db, sessionId, Date.now());
  await revokeUserSessions(db, c.env.KV, c.var.config, userId, 'logout_all', Date.now(), {
    alsoRun: [auditEvent(db, auditContext(c), 'logout_all', userId, { session_id: sessionId })],
  });
}

/**
 * Revokes one of the user's own sessions from another of them. False when `targetId` is not a
 * session of this user: someone else's session id is indistinguishable from an unknown one
 * (THREATS I3).
 */
export async function revokeOwnSession(
  c: Context<AppEnv>,
  userId: string,
  currentSessionId: string,
  targetId: string,
): Promise<boolean> {
  const db = database(c.env.DB);
  await assertSessionLive(db, currentSessionId, Date.now());
  return revokeSession(db, c.env.KV, c.var.config, targetId, 'revoked_by_user', Date.now(), {
    userId,
    alsoRun: (sessionDb) => [
      auditEvent(
        sessionDb,
        auditContext(c),
        'session.revoked',
        userId,
        { session_id: targetId },
        sessionIsLive(targetId),
      ),
    ],
  });
}
