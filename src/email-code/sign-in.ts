import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import {
  claimLoginAttempt,
  clearFailuresStatement,
  failureStatements,
  refundAttemptStatement,
  refusal,
} from '../abuse/lockout';
import { addressAllowed, afterResponse } from '../accounts/email-links';
import { grantFor, type SignIn } from '../accounts/sign-in';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { deliver } from '../mail/send';
import { templates } from '../mail/templates';
import { createChallenge } from '../mfa/challenge';
import { canonicalEmail } from '../policy/email';
import { clientMeta } from '../request-meta';
import { openSession } from '../sessions/store';
import { userByEmail } from '../users/users';
import {
  EMAIL_CODE_TTL_SECONDS,
  claimCodeAttempt,
  codeMatches,
  issueCode,
  spendCode,
  type ClaimedCode,
} from './codes';

const invalidCode = () => new ApiError('invalid_code', 'The code is wrong, used or expired.');

/**
 * Who may sign in with a mailed code: an enabled account whose address is confirmed. A code
 * proves the mailbox, but an unconfirmed account may have been opened by someone else with the
 * owner's address and a password of their own: signing the owner in to it (or confirming it)
 * would settle them in an account the other party can still open (pre-account takeover, THREATS
 * K8). The owner confirms the address first (the verification mail), then codes work.
 */
const mayUseCode = (user: UserRow) => user.disabledAt === null && user.emailVerifiedAt !== null;

/**
 * Mails a sign-in code, after the response: the answer is the same 202 for every address, and
 * so is its timing (THREATS C4). Nothing is written or sent for an unknown, disabled or
 * unconfirmed address, or once the address's mail budget is spent.
 */
export function sendEmailCode(c: Context<AppEnv>, rawEmail: string) {
  const email = canonicalEmail(rawEmail);
  afterResponse(c, 'email code', async () => {
    const config = c.var.config;
    const db = database(c.env.DB);
    const user = await userByEmail(db, email);
    if (!user || !mayUseCode(user)) return;
    if (!(await addressAllowed(c, 'code', email))) return;
    const issued = await issueCode(db, config, user, Date.now());
    await db.batch(issued.statements);
    const minutes = EMAIL_CODE_TTL_SECONDS / 60;
    await deliver(c, templates.emailCode(user.email, config.PRODUCT_NAME, issued.code, minutes));
  });
}

/**
 * Signs in with the address and its mailed code, for the API and the pages alike. The code is a
 * proof under the one lockout of its address: an attempt is claimed before anything is checked
 * (423 while locked, also for the right code), and a failure keeps it. Each attempt also claims
 * one of the code's own 5, so parallel guesses cannot check more. A right code is spent by a
 * conditional UPDATE, then ends where a right password does: a session, or the second factor.
 */
export async function signInWithEmailCode(
  c: Context<AppEnv>,
  rawEmail: string,
  rawCode: string,
): Promise<SignIn> {
  const config = c.var.config;
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  const email = canonicalEmail(rawEmail);
  const now = Date.now();
  const { claim, user } = await claimLoginAttempt(db, config, email, now);
  if (!claim.allowed) throw await refusal(db, config, ctx, email, user?.id ?? null, claim, now);

  // Claimed for every address, known or not, so that every failure costs the same round trips.
  const claimed = await claimCodeAttempt(db, email, now);
  const code = rawCode.replace(/[\s-]/g, '');
  let row: ClaimedCode | undefined;
  if (user) {
    for (const candidate of claimed) {
      if (await codeMatches(config, candidate, user, code)) row = candidate;
    }
  }
  if (user && row && user.disabledAt !== null) {
    // Told only to whoever holds the right code, as login tells only the right password (C2).
    await db.batch([
      clearFailuresStatement(db, email, now),
      auditEvent(db, ctx, 'login.failed', user.id, {
        email,
        via: 'email_code',
        reason: 'account_disabled',
      }),
    ]);
    throw new ApiError('account_disabled', 'This account is disabled.');
  }
  if (user && row && mayUseCode(user)) {
    const signedIn = await completeSignIn(c, user, row.id, now);
    if (signedIn) return signedIn;
  }

  const reason = claimed.length === 0 ? 'no_code' : row ? 'code_not_usable' : 'wrong_code';
  await db.batch([
    auditEvent(db, ctx, 'login.failed', user?.id ?? null, {
      email,
      attempt: claim.attempt,
      via: 'email_code',
      reason,
      code_attempt: claimed[0]?.attempts ?? null,
    }),
    ...failureStatements(db, config, ctx, email, user?.id ?? null, claim.attempt, now),
  ]);
  throw invalidCode();
}

/**
 * Spends the right code and ends where a right password does; `null` when a parallel request
 * (the same code, or a new code that replaced it) spent it first.
 */
async function completeSignIn(
  c: Context<AppEnv>,
  user: UserRow,
  codeId: string,
  now: number,
): Promise<SignIn | null> {
  const config = c.var.config;
  const db = database(c.env.DB);
  if (user.totpEnabledAt !== null) {
    // As after a right password: the attempt is given back, and the second factor is next.
    // One batch: the challenge is opened and the attempt given back only if this request spent
    // the code (changes()), so a failure part-way leaves nothing half done.
    const challenge = await createChallenge(db, user.id, now, sql`changes() = 1`);
    const opened = sql`EXISTS (SELECT 1 FROM mfa_challenges WHERE id = ${challenge.id})`;
    const [spent] = await db.batch([
      spendCode(db, codeId, now),
      challenge.statement,
      refundAttemptStatement(db, user.email, opened),
    ]);
    if (spent.length === 0) return null;
    return { kind: 'mfa_required', mfaToken: challenge.token };
  }
  // One batch: the session is opened, the count cleared and the login audited only if the code
  // was spent by this request (changes()), so of two parallel right answers one signs in.
  const session = await openSession(db, config, user, clientMeta(c), now, sql`changes() = 1`);
  const opened = session.opened;
  const [spent, gate] = await db.batch([
    spendCode(db, codeId, now),
    ...session.statements,
    clearFailuresStatement(db, user.email, now, opened),
    auditEvent(
      db,
      auditContext(c),
      'login.succeeded',
      user.id,
      { session_id: session.sessionId, via: 'email_code' },
      opened,
    ),
  ]);
  if (spent.length === 0) {
    await session.settle(gate);
    return null;
  }
  await session.confirm(gate);
  return { kind: 'session', grant: grantFor(user, session), persisting: Promise.resolve(), now };
}
