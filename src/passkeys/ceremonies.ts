import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import {
  claimLoginAttempt,
  clearFailuresStatement,
  failureStatements,
  refusal,
} from '../abuse/lockout';
import { grantFor, type SignIn } from '../accounts/sign-in';
import { auditContext, auditEvent } from '../audit/audit';
import type { Config } from '../config';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { passkeys, webauthnChallenges, type PasskeyRow, type UserRow } from '../db/schema';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { canonicalEmail } from '../policy/email';
import { clientMeta } from '../request-meta';
import { openSession, sessionOfUser } from '../sessions/store';
import { userByEmail, userById } from '../users/users';
import { passkeysOf } from './store';
import {
  ALGORITHMS,
  b64url,
  checkAssertion,
  checkClientData,
  ClientDataType,
  readAttestation,
  WebAuthnRefusal,
  type RelyingParty,
} from './webauthn';

// The two WebAuthn ceremonies with their storage: a challenge is written when the options are
// handed out and spent by one conditional UPDATE when the answer comes back, so it works once,
// for five minutes, for the ceremony (and the user) it was made for.

export const CHALLENGE_TTL_SECONDS = 300;
const TIMEOUT_MS = CHALLENGE_TTL_SECONDS * 1000;
/** A bound on what one account can store; far above what a person registers. */
export const MAX_PASSKEYS = 20;

/** Where passkeys belong: the RP id (ISSUER's host or WEBAUTHN_RP_ID) and the allowed origins. */
export function relyingParty(config: Config): RelyingParty & { name: string } {
  const issuer = new URL(config.ISSUER);
  return {
    id: config.WEBAUTHN_RP_ID ?? issuer.hostname,
    name: config.PRODUCT_NAME,
    origins: [issuer.origin, ...config.ALLOWED_ORIGINS],
  };
}

/** Browsers refuse an IP address as the RP id: the pages then offer no passkey buttons. */
export const passkeysUsable = (config: Config) => !/^[\d.]+$|:/.test(relyingParty(config).id);

const invalidPasskey = (status?: 400) =>
  new ApiError(
    'invalid_passkey',
    'The passkey could not be verified. Try again, or sign in another way.',
    status ? { status } : {},
  );

async function newChallenge(
  c: Context<AppEnv>,
  ceremony: 'register' | 'authenticate',
  userId: string | null,
) {
  const challenge = randomToken(32);
  const now = Date.now();
  await database(c.env.DB)
    .insert(webauthnChallenges)
    .values({
      id: uuidv7(now),
      challengeHash: await sha256(challenge),
      ceremony,
      userId,
      createdAt: now,
      expiresAt: now + TIMEOUT_MS,
    });
  return challenge;
}

/**
 * Spends a challenge: only once (two parallel answers, one wins), only before it expires, only
 * for its ceremony. Returns the user it was bound to (null: any discoverable credential).
 */
async function spendChallenge(
  c: Context<AppEnv>,
  ceremony: 'register' | 'authenticate',
  challenge: string,
): Promise<{ userId: string | null }> {
  const now = Date.now();
  const [spent] = await database(c.env.DB)
    .update(webauthnChallenges)
    .set({ usedAt: now })
    .where(
      and(
        eq(webauthnChallenges.challengeHash, await sha256(challenge)),
        eq(webauthnChallenges.ceremony, ceremony),
        isNull(webauthnChallenges.usedAt),
        gt(webauthnChallenges.expiresAt, now),
      ),
    )
    .returning({ userId: webauthnChallenges.userId });
  if (!spent) throw new WebAuthnRefusal('challenge unknown, used or expired');
  return spent;
}

/** The WebAuthn user handle: the user id's bytes (no email or name in it). */
const userHandle = (user: UserRow) => b64url(new TextEncoder().encode(user.id));

const transportsOf = (row: PasskeyRow): string[] => {
  try {
    const parsed: unknown = JSON.parse(row.transports ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((t) => typeof t === 'string') : [];
  } catch {
    return [];
  }
};

/** How recent a sign-in must be to add a passkey (a new way in that outlives password resets). */
export const RECENT_SIGN_IN_SECONDS = 600;

/**
 * Who may add a passkey: an account whose address is confirmed (else whoever registered someone
 * else's address first could plant a passkey before the owner ever resets the password: THREATS
 * K8), in a session signed in within RECENT_SIGN_IN_SECONDS (a leaked access token or an old
 * session is not enough to plant a permanent way in: THREATS H7). The refusal, or null; the
 * account page asks it too, to say why before anyone tries.
 */
export function addPasskeyRefusal(user: UserRow, signedInAt: number | undefined): ApiError | null {
  if (user.emailVerifiedAt === null) {
    return new ApiError(
      'email_not_verified',
      'Confirm your email address before adding a passkey.',
    );
  }
  if (signedInAt === undefined || signedInAt < Date.now() - RECENT_SIGN_IN_SECONDS * 1000) {
    return new ApiError(
      'recent_sign_in_required',
      `Adding a passkey needs a sign-in within the last ${RECENT_SIGN_IN_SECONDS / 60} minutes: sign in again.`,
    );
  }
  return null;
}

async function assertMayAddPasskey(c: Context<AppEnv>, user: UserRow, sessionId: string) {
  const session = await sessionOfUser(database(c.env.DB), sessionId, user.id);
  const refused = addPasskeyRefusal(user, session?.createdAt);
  if (refused) throw refused;
}

/** PublicKeyCredentialCreationOptionsJSON for the signed-in user. */
export async function registrationOptions(c: Context<AppEnv>, user: UserRow, sessionId: string) {
  await assertMayAddPasskey(c, user, sessionId);
  const rp = relyingParty(c.var.config);
  const existing = await passkeysOf(c, user.id);
  return {
    rp: { id: rp.id, name: rp.name },
    user: { id: userHandle(user), name: user.email, displayName: user.name ?? user.email },
    challenge: await newChallenge(c, 'register', user.id),
    pubKeyCredParams: ALGORITHMS.map((alg) => ({ type: 'public-key' as const, alg })),
    timeout: TIMEOUT_MS,
    excludeCredentials: existing.map((p) => ({
      type: 'public-key' as const,
      id: p.credentialId,
      transports: transportsOf(p),
    })),
    authenticatorSelection: {
      residentKey: 'required' as const,
      requireResidentKey: true,
      userVerification: 'required' as const,
    },
    attestation: 'none' as const,
    extensions: { credProps: true },
  };
}

/** What the browser's `PublicKeyCredential.toJSON()` gives for a registration. */
export type RegistrationResponse = {
  id: string;
  type: 'public-key';
  response: { clientDataJSON: string; attestationObject: string; transports?: string[] };
};

/** §7.1: checks a registration and stores the passkey under the signed-in user. */
export async function registerPasskey(
  c: Context<AppEnv>,
  user: UserRow,
  sessionId: string,
  credential: RegistrationResponse,
  name: string | undefined,
): Promise<PasskeyRow> {
  await assertMayAddPasskey(c, user, sessionId);
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  const rp = relyingParty(c.var.config);
  let attested;
  try {
    const expected = { ...rp, type: ClientDataType.Create };
    const { challenge } = checkClientData(expected, credential.response.clientDataJSON);
    const bound = await spendChallenge(c, 'register', challenge);
    if (bound.userId !== user.id) throw new WebAuthnRefusal('challenge of another user');
    attested = await readAttestation(rp, credential.response.attestationObject, credential.id);
  } catch (err) {
    if (!(err instanceof WebAuthnRefusal)) throw err;
    c.var.log.warn('passkey registration refused', { reason: err.message });
    throw invalidPasskey(400);
  }
  const now = Date.now();
  const id = uuidv7(now);
  const count = sql`(SELECT COUNT(*) FROM passkeys WHERE user_id = ${user.id})`;
  const transports = JSON.stringify((credential.response.transports ?? []).slice(0, 8));
  const label = name ?? `Passkey ${new Date(now).toISOString().slice(0, 10)}`;
  const [[row]] = await db.batch([
    db
      .insert(passkeys)
      .select(
        sql`SELECT ${id}, ${user.id}, ${attested.credentialId}, ${JSON.stringify(attested.publicKey)},
          ${attested.algorithm}, ${attested.signCount}, ${attested.backupEligible}, ${attested.backedUp},
          ${transports}, ${attested.aaguid}, ${label}, ${now}, NULL WHERE ${count} < ${MAX_PASSKEYS}`,
      )
      .onConflictDoNothing()
      .returning(),
    auditEvent(
      db,
      ctx,
      'passkey.registered',
      user.id,
      { passkey_id: id, aaguid: attested.aaguid, backup_eligible: attested.backupEligible },
      sql`changes() = 1`,
    ),
  ]);
  if (!row) {
    // Registered already (by anyone: a credential id is unique), or the account is full.
    c.var.log.warn('passkey registration refused', { reason: 'duplicate or too many' });
    throw invalidPasskey(400);
  }
  return row;
}

/**
 * PublicKeyCredentialRequestOptionsJSON. With an email, the challenge is bound to that account
 * (email-first); the answer is the same for an unknown email (bound to nobody), so the options
 * reveal nothing about who has an account or a passkey (THREATS C1). No allowCredentials: every
 * passkey here is discoverable, and listing ids would tell who has one.
 */
export async function authenticationOptions(
  c: Context<AppEnv>,
  email: string | undefined,
  /** Bound to this user instead (the second step after their password). */
  userId?: string,
) {
  let bound: string | null = userId ?? null;
  if (email !== undefined && !userId) {
    const user = await userByEmail(database(c.env.DB), canonicalEmail(email));
    bound = user?.id ?? `nobody:${uuidv7()}`;
  }
  return {
    challenge: await newChallenge(c, 'authenticate', bound),
    rpId: relyingParty(c.var.config).id,
    timeout: TIMEOUT_MS,
    userVerification: 'required' as const,
  };
}

/** What the browser's `PublicKeyCredential.toJSON()` gives for an assertion. */
export type AuthenticationResponse = {
  id: string;
  type: 'public-key';
  response: {
    clientDataJSON: string;
    authenticatorData: string;
    signature: string;
    userHandle?: string | null;
  };
};

/**
 * §7.2: a passkey sign-in, for the API and the pages alike. A passkey with user verification is
 * a phishing-resistant multi-factor proof, so it skips the TOTP step. It is a proof under the
 * one lockout of its account's email: an attempt is claimed before the signature is checked, a
 * failure keeps it, and a locked email is 423 without any check.
 */
export async function signInWithPasskey(
  c: Context<AppEnv>,
  credential: AuthenticationResponse,
): Promise<Extract<SignIn, { kind: 'session' }>> {
  const config = c.var.config;
  const db = database(c.env.DB);
  const ctx = auditContext(c);
  const rp = relyingParty(config);
  const refused = (reason: string) => {
    c.var.log.warn('passkey sign-in refused', { reason });
    return invalidPasskey();
  };

  let clientData: Uint8Array;
  let found: PasskeyRow | undefined;
  try {
    const expected = { ...rp, type: ClientDataType.Get };
    const checked = checkClientData(expected, credential.response.clientDataJSON);
    clientData = checked.bytes;
    const bound = await spendChallenge(c, 'authenticate', checked.challenge);
    [found] = await db.select().from(passkeys).where(eq(passkeys.credentialId, credential.id));
    if (!found) throw new WebAuthnRefusal('unknown credential');
    if (bound.userId !== null && bound.userId !== found.userId) {
      throw new WebAuthnRefusal('credential of another account than the email named');
    }
  } catch (err) {
    if (!(err instanceof WebAuthnRefusal)) throw err;
    // Refused before any account's attempt was claimed: audited all the same (THREATS K9),
    // under the credential's owner when it names a known one.
    await db.batch([
      auditEvent(db, ctx, 'passkey.refused', found?.userId ?? null, {
        passkey_id: found?.id ?? null,
        reason: err.message,
      }),
    ]);
    throw refused(err.message);
  }
  const passkey = found;
  const owner = await userById(db, passkey.userId);
  if (!owner) throw refused('owner gone');
  const handle = credential.response.userHandle;
  if (handle && handle !== userHandle(owner)) throw refused('user handle of another account');

  const now = Date.now();
  const { claim, user = owner } = await claimLoginAttempt(db, config, owner.email, now);
  if (!claim.allowed) throw await refusal(db, config, ctx, user.email, user.id, claim, now);

  const fail = async (reason: string, detail: Record<string, string | number> = {}) => {
    await db.batch([
      auditEvent(db, ctx, 'login.failed', user.id, { via: 'passkey', reason }),
      auditEvent(db, ctx, 'passkey.refused', user.id, {
        passkey_id: passkey.id,
        reason,
        ...detail,
      }),
      ...failureStatements(db, config, ctx, user.email, user.id, claim.attempt, now),
    ]);
    return refused(reason);
  };
  let asserted;
  try {
    asserted = await checkAssertion(
      rp,
      { publicKey: JSON.parse(passkey.publicKey) as JsonWebKey, algorithm: passkey.algorithm },
      credential.response.authenticatorData,
      clientData,
      credential.response.signature,
    );
  } catch (err) {
    if (!(err instanceof WebAuthnRefusal)) throw err;
    throw await fail(err.message);
  }
  // §7.2 step 21: a counter that does not go up (when either side counts) may mean a cloned
  // authenticator. Refused, and audited with both values.
  const counts = asserted.signCount !== 0 || passkey.signCount !== 0;
  if (counts && asserted.signCount <= passkey.signCount) {
    throw await fail('counter_regression', {
      stored: passkey.signCount,
      received: asserted.signCount,
    });
  }

  const clearFailures = clearFailuresStatement(db, user.email, now);
  if (user.disabledAt !== null) {
    await db.batch([clearFailures]);
    throw new ApiError('account_disabled', 'This account is disabled.');
  }
  if (config.REQUIRE_EMAIL_VERIFICATION && user.emailVerifiedAt === null) {
    await db.batch([clearFailures]);
    throw new ApiError('email_not_verified', 'Confirm your email address first.');
  }
  // The counter moves by compare-and-set on the value read above, and the session opens only if
  // it did (changes()): of two parallel assertions carrying the same counter, one signs in. An
  // authenticator that keeps 0 cannot tell its uses apart, so both of its go through.
  const moved = sql`changes() = 1`;
  const session = await openSession(db, config, user, clientMeta(c), now, moved);
  const opened = session.opened;
  const persisting = db
    .batch([
      db
        .update(passkeys)
        .set({ signCount: asserted.signCount, backedUp: asserted.backedUp, lastUsedAt: now })
        .where(and(eq(passkeys.id, passkey.id), eq(passkeys.signCount, passkey.signCount))),
      ...session.statements,
      clearFailuresStatement(db, user.email, now, opened),
      auditEvent(db, ctx, 'passkey.used', user.id, { passkey_id: passkey.id }, opened),
      auditEvent(
        db,
        ctx,
        'login.succeeded',
        user.id,
        { session_id: session.sessionId, via: 'passkey' },
        opened,
      ),
    ])
    .then(async ([, gate]) => {
      if (!(await session.settle(gate))) throw refused('counter raced');
    });
  return { kind: 'session', grant: grantFor(user, session), persisting, now };
}
