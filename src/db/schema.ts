import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

// Times are Unix epoch milliseconds (integers); ids are UUIDv7 strings (time-ordered).

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    /** Canonical form only (trimmed, NFC, lower-cased in code: SQLite folds ASCII only). */
    email: text('email').notNull(),
    name: text('name'),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    emailVerifiedAt: integer('email_verified_at'),
    disabledAt: integer('disabled_at'),
    /** AES-GCM sealed TOTP secret (see crypto/secret-box.ts) and the key version that sealed it. */
    totpSecret: text('totp_secret'),
    totpKeyVersion: integer('totp_key_version'),
    /** Null while enrolment is pending: MFA is on only once a code has been confirmed. */
    totpEnabledAt: integer('totp_enabled_at'),
    /** The last accepted time step: a code is accepted only for a later step (RFC 6238 §5.2). */
    totpLastStep: integer('totp_last_step'),
    /**
     * The session shard (docs/sharding.md) of this user's sessions, fixed at their first sign-in
     * and never changed, so adding shards moves nobody. Null until then.
     */
    sessionShard: integer('session_shard'),
    /** The session a sign-in last opened: what its batch's later statements are gated on. */
    lastSessionId: text('last_session_id'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email)],
);

/** A session is the chain of refresh tokens that started at one login; its id is the `sid`. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at').notNull(),
    /** Absolute expiry, fixed at login: rotation never extends it. */
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    revokeReason: text('revoke_reason'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user_idx').on(t.userId, t.revokedAt)],
);

export const refreshTokens = sqliteTable(
  'refresh_tokens',
  {
    id: text('id').primaryKey(),
    sessionId: text('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull(),
    parentId: text('parent_id'),
    /** Set, with `usedAt`, by the one statement that rotates this token. */
    replacedBy: text('replaced_by'),
    createdAt: integer('created_at').notNull(),
    usedAt: integer('used_at'),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_unique').on(t.tokenHash),
    index('refresh_tokens_session_idx').on(t.sessionId),
    index('refresh_tokens_expiry_idx').on(t.expiresAt),
  ],
);

export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;

/**
 * Failed logins per canonical email, whether or not an account exists (a lock reveals
 * nothing). Exact, so in D1: KV cannot count under concurrency.
 */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    email: text('email').primaryKey(),
    /** Attempts claimed in the current window, counted before the password is checked. */
    failures: integer('failures').notNull(),
    windowStartedAt: integer('window_started_at').notNull(),
    lockedUntil: integer('locked_until'),
  },
  (t) => [index('login_failures_window_idx').on(t.windowStartedAt)],
);

export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    at: integer('at').notNull(),
    type: text('type').notNull(),
    userId: text('user_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    /** JSON object of ids, codes and counts: never a password, token or secret. */
    detail: text('detail').notNull(),
  },
  (t) => [
    index('audit_events_user_idx').on(t.userId, t.id),
    index('audit_events_type_idx').on(t.type, t.id),
    index('audit_events_at_idx').on(t.at),
  ],
);

/**
 * Mailed single-use tokens (email verification, password reset, email change, invitation):
 * SHA-256 only, one user, one purpose.
 */
export const oneTimeTokens = sqliteTable(
  'one_time_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose', {
      enum: ['verify_email', 'reset_password', 'email_change', 'invite'],
    }).notNull(),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    /** A per-request marker set by the one statement that consumes the token. */
    consumedBy: text('consumed_by'),
    /** email_change: the address asked for, and the account's address when it was asked. */
    newEmail: text('new_email'),
    oldEmail: text('old_email'),
  },
  (t) => [
    uniqueIndex('one_time_tokens_hash_unique').on(t.tokenHash),
    index('one_time_tokens_user_idx').on(t.userId, t.purpose),
    index('one_time_tokens_expiry_idx').on(t.expiresAt),
  ],
);

/** Messages of the development mail transport, shown at /dev/mailbox. Never used in production. */
export const devMailbox = sqliteTable('dev_mailbox', {
  id: text('id').primaryKey(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  text: text('text').notNull(),
  html: text('html').notNull(),
  sentAt: integer('sent_at').notNull(),
});

/** One-time recovery codes, stored as keyed hashes only. */
export const recoveryCodes = sqliteTable(
  'mfa_recovery_codes',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [uniqueIndex('mfa_recovery_codes_user_hash').on(t.userId, t.codeHash)],
);

/** The pending second step of a login: an opaque, short-lived, single-use mfa_token. */
export const mfaChallenges = sqliteTable(
  'mfa_challenges',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    attempts: integer('attempts').notNull().default(0),
    usedAt: integer('used_at'),
  },
  (t) => [
    uniqueIndex('mfa_challenges_hash_unique').on(t.tokenHash),
    index('mfa_challenges_expiry_idx').on(t.expiresAt),
  ],
);

/** The most common passwords (data/README.md), seeded by migration 0004. */
export const commonPasswords = sqliteTable('common_passwords', {
  password: text('password').primaryKey(),
});

/** An account at an identity provider linked to a user: one (provider, subject) is one user. */
export const identities = sqliteTable(
  'identities',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The configured provider id (IDENTITY_PROVIDERS), not its type. */
    provider: text('provider').notNull(),
    /** The provider's stable user id (`sub`, GitHub's numeric id). */
    subject: text('subject').notNull(),
    /** The email as the provider asserted it at the last sign-in, and whether it said verified. */
    email: text('email'),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at').notNull(),
  },
  (t) => [
    uniqueIndex('identities_provider_subject_unique').on(t.provider, t.subject),
    index('identities_user_idx').on(t.userId),
  ],
);

/**
 * A sign-in started at an identity provider: the `state`, `nonce` and PKCE verifier, bound to the
 * browser that started it, single-use (a conditional UPDATE spends it) and short-lived.
 */
export const oauthStates = sqliteTable(
  'oauth_states',
  {
    id: text('id').primaryKey(),
    /** SHA-256 of the `state` sent to the provider. */
    stateHash: text('state_hash').notNull(),
    provider: text('provider').notNull(),
    /** SHA-256 of the random value in the browser's binding cookie. */
    browserHash: text('browser_hash').notNull(),
    nonce: text('nonce').notNull(),
    codeVerifier: text('code_verifier').notNull(),
    returnTo: text('return_to').notNull(),
    /** Set when a signed-in user links this identity from /account. */
    linkUserId: text('link_user_id'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [
    uniqueIndex('oauth_states_state_unique').on(t.stateHash),
    index('oauth_states_expiry_idx').on(t.expiresAt),
  ],
);

export type IdentityRow = typeof identities.$inferSelect;

/** A WebAuthn credential (passkey) registered by a signed-in user. */
export const passkeys = sqliteTable(
  'passkeys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The credential id as the authenticator gave it, base64url. */
    credentialId: text('credential_id').notNull(),
    /** The COSE public key, base64url, and its algorithm (-7 ES256, -257 RS256, -8 EdDSA). */
    publicKey: text('public_key').notNull(),
    algorithm: integer('algorithm').notNull(),
    /** The last signature counter seen; 0 for authenticators that do not count. */
    signCount: integer('sign_count').notNull(),
    backupEligible: integer('backup_eligible', { mode: 'boolean' }).notNull(),
    backedUp: integer('backed_up', { mode: 'boolean' }).notNull(),
    /** JSON array of the transports the browser reported, for allowCredentials hints. */
    transports: text('transports'),
    aaguid: text('aaguid'),
    name: text('name').notNull(),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [
    uniqueIndex('passkeys_credential_unique').on(t.credentialId),
    index('passkeys_user_idx').on(t.userId),
  ],
);

/**
 * A WebAuthn challenge, single-use, five minutes, bound to its ceremony: `register` to the
 * signed-in user, `authenticate` to nothing (discoverable) or to the user an email names.
 */
export const webauthnChallenges = sqliteTable(
  'webauthn_challenges',
  {
    id: text('id').primaryKey(),
    challengeHash: text('challenge_hash').notNull(),
    ceremony: text('ceremony', { enum: ['register', 'authenticate'] }).notNull(),
    userId: text('user_id'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [
    uniqueIndex('webauthn_challenges_hash_unique').on(t.challengeHash),
    index('webauthn_challenges_expiry_idx').on(t.expiresAt),
  ],
);

/** A one-time sign-in code sent by mail: stored hashed, 10 minutes, 5 attempts, single use. */
export const emailCodes = sqliteTable(
  'email_codes',
  {
    id: text('id').primaryKey(),
    /** The canonical email it was sent to (the account's address). */
    email: text('email').notNull(),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [
    index('email_codes_email_idx').on(t.email, t.createdAt),
    index('email_codes_expiry_idx').on(t.expiresAt),
  ],
);

export type PasskeyRow = typeof passkeys.$inferSelect;

/**
 * A signing key the worker made (or imported from JWT_SIGNING_KEYS), see src/keys/. At most one
 * `next` and one `current` (partial unique indexes), so racing rotations cannot make two. A key
 * that left service stays as a `gone` row without any key material: its kid is never reused and
 * never imported again.
 */
export const signingKeys = sqliteTable(
  'signing_keys',
  {
    kid: text('kid').primaryKey(),
    state: text('state', { enum: ['next', 'current', 'retiring', 'gone'] }).notNull(),
    /** The public JWK's `n` and `e` (JSON); null once gone. */
    publicJwk: text('public_jwk'),
    /** The private JWK, AES-GCM sealed under KEY_ENCRYPTION_KEY with the kid bound; null once gone. */
    privateSealed: text('private_sealed'),
    sealingVersion: integer('sealing_version'),
    /** `generated` by the worker or `imported` from JWT_SIGNING_KEYS. */
    origin: text('origin', { enum: ['generated', 'imported'] }).notNull(),
    createdAt: integer('created_at').notNull(),
    /** When it signs first (a `next` key: the earliest moment every JWKS cache has it). */
    activatesAt: integer('activates_at').notNull(),
    /** When it stopped signing (set when it becomes `retiring`). */
    retiredAt: integer('retired_at'),
    /** When it left the JWKS: retired and expired, or removed by an admin. */
    goneAt: integer('gone_at'),
    /** True when an admin removed it (emergency removal), not the schedule. */
    removed: integer('removed', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [
    uniqueIndex('signing_keys_one_next')
      .on(t.state)
      .where(sql`state = 'next'`),
    uniqueIndex('signing_keys_one_current')
      .on(t.state)
      .where(sql`state = 'current'`),
  ],
);
export type SigningKeyRow = typeof signingKeys.$inferSelect;
