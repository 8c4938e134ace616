import { and, asc, eq, isNull, or, sql } from 'drizzle-orm';
import { NO_PASSWORD } from '../crypto/password';
import type { Database } from '../db/client';
import {
  auditEvents,
  emailCodes,
  identities,
  loginFailures,
  mfaChallenges,
  oneTimeTokens,
  passkeys,
  recoveryCodes,
  sessions,
  type UserRow,
} from '../db/schema';
import { auditEventJson } from '../audit/json';
import { iso } from '../users/users';
import { allShards } from '../shards';

const at = (ms: number | null) => (ms === null ? null : iso(ms));

/**
 * Every record the worker holds about `user`, in one document (one D1 round trip). Nothing that
 * proves identity leaves: no password hash, TOTP secret, token, code or challenge hash, and of a
 * passkey neither its public key nor its credential id (which the authenticator already holds).
 * test/lifecycle/export.test.ts walks the live schema and fails for any column that is neither
 * exported here nor listed as withheld, so a new column needs a decision.
 */
export async function personalData(db: Database, user: UserRow, now: number) {
  const aboutAddress = and(
    isNull(auditEvents.userId),
    sql`instr(${auditEvents.detail}, json_quote(${user.email})) > 0`,
  );
  const [
    mainSessions,
    passkeyRows,
    identityRows,
    codes,
    links,
    mailCodes,
    failures,
    challenges,
    mainAudit,
  ] = await db.batch([
    db.select().from(sessions).where(eq(sessions.userId, user.id)).orderBy(asc(sessions.id)),
    db.select().from(passkeys).where(eq(passkeys.userId, user.id)).orderBy(asc(passkeys.id)),
    db.select().from(identities).where(eq(identities.userId, user.id)),
    db
      .select({ usedAt: recoveryCodes.usedAt })
      .from(recoveryCodes)
      .where(eq(recoveryCodes.userId, user.id)),
    db.select().from(oneTimeTokens).where(eq(oneTimeTokens.userId, user.id)),
    db.select().from(emailCodes).where(eq(emailCodes.email, user.email)),
    db.select().from(loginFailures).where(eq(loginFailures.email, user.email)),
    db.select().from(mfaChallenges).where(eq(mfaChallenges.userId, user.id)),
    db
      .select()
      .from(auditEvents)
      .where(or(eq(auditEvents.userId, user.id), aboutAddress))
      .orderBy(asc(auditEvents.id)),
  ]);
  // The sessions and session events on the other shards (docs/sharding.md), in parallel.
  const sharded = await Promise.all(
    allShards(db.$client)
      .filter((shard) => shard.index !== 0)
      .map(({ db: source }) =>
        source.batch([
          source.select().from(sessions).where(eq(sessions.userId, user.id)),
          source.select().from(auditEvents).where(eq(auditEvents.userId, user.id)),
        ]),
      ),
  );
  const sessionRows = [...mainSessions, ...sharded.flatMap(([rows]) => rows)].sort(
    (a, b) => a.createdAt - b.createdAt,
  );
  const audit = [...mainAudit, ...sharded.flatMap(([, rows]) => rows)].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  return {
    exported_at: iso(now),
    profile: {
      id: user.id,
      email: user.email,
      name: user.name,
      role: user.role,
      email_verified: user.emailVerifiedAt !== null,
      email_verified_at: at(user.emailVerifiedAt),
      disabled_at: at(user.disabledAt),
      has_password: user.passwordHash !== NO_PASSWORD,
      created_at: iso(user.createdAt),
      updated_at: iso(user.updatedAt),
    },
    two_factor: {
      totp_enabled: user.totpEnabledAt !== null,
      totp_enabled_at: at(user.totpEnabledAt),
      recovery_codes: {
        total: codes.length,
        unused: codes.filter((r) => r.usedAt === null).length,
      },
      pending_sign_in_steps: challenges.map((ch) => ({
        id: ch.id,
        created_at: iso(ch.createdAt),
        expires_at: iso(ch.expiresAt),
        used_at: at(ch.usedAt),
        attempts: ch.attempts,
      })),
    },
    sessions: sessionRows.map((s) => ({
      id: s.id,
      created_at: iso(s.createdAt),
      last_used_at: iso(s.lastUsedAt),
      expires_at: iso(s.expiresAt),
      revoked_at: at(s.revokedAt),
      revoke_reason: s.revokeReason,
      ip: s.ip,
      user_agent: s.userAgent,
    })),
    passkeys: passkeyRows.map((p) => ({
      id: p.id,
      name: p.name,
      algorithm: p.algorithm,
      aaguid: p.aaguid,
      sign_count: p.signCount,
      backup_eligible: p.backupEligible,
      backed_up: p.backedUp,
      transports: p.transports ? (JSON.parse(p.transports) as string[]) : [],
      created_at: iso(p.createdAt),
      last_used_at: at(p.lastUsedAt),
    })),
    identities: identityRows.map((i) => ({
      id: i.id,
      provider: i.provider,
      subject: i.subject,
      email: i.email,
      email_verified: i.emailVerified,
      created_at: iso(i.createdAt),
      last_used_at: iso(i.lastUsedAt),
    })),
    mailed_links: links.map((t) => ({
      id: t.id,
      purpose: t.purpose,
      new_email: t.newEmail,
      old_email: t.oldEmail,
      created_at: iso(t.createdAt),
      expires_at: iso(t.expiresAt),
      used_at: at(t.usedAt),
    })),
    email_codes: mailCodes.map((m) => ({
      id: m.id,
      email: m.email,
      created_at: iso(m.createdAt),
      expires_at: iso(m.expiresAt),
      used_at: at(m.usedAt),
      attempts: m.attempts,
    })),
    sign_in_failures: failures.map((f) => ({
      email: f.email,
      failures: f.failures,
      window_started_at: iso(f.windowStartedAt),
      locked_until: at(f.lockedUntil),
    })),
    audit_events: audit.map(auditEventJson),
  };
}
