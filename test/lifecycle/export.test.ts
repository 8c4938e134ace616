import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailedToken,
  uniqueEmail,
  withBearer,
} from '../helpers';
import { enrolled } from '../totp';
import { post, requestChange } from './helpers';

/**
 * Every column of the live schema, classified. EXPORTED columns may appear in the export (the
 * user's own data); WITHHELD ones hold secrets or proofs (hashes, ciphertexts, verifiers) or are
 * not about a user, and none of their values may appear. A column in neither list fails the
 * first test: whoever adds one decides.
 */
const EXPORTED: Record<string, string[]> = {
  users: [
    'id',
    'email',
    'name',
    'role',
    'email_verified_at',
    'disabled_at',
    'totp_enabled_at',
    'created_at',
    'updated_at',
  ],
  sessions: [
    'id',
    'user_id',
    'created_at',
    'last_used_at',
    'expires_at',
    'revoked_at',
    'revoke_reason',
    'ip',
    'user_agent',
  ],
  login_failures: ['email', 'failures', 'window_started_at', 'locked_until'],
  audit_events: ['id', 'at', 'type', 'user_id', 'ip', 'user_agent', 'request_id', 'detail'],
  one_time_tokens: [
    'id',
    'user_id',
    'purpose',
    'created_at',
    'expires_at',
    'used_at',
    'new_email',
    'old_email',
  ],
  mfa_recovery_codes: ['user_id', 'used_at'],
  mfa_challenges: ['id', 'user_id', 'created_at', 'expires_at', 'attempts', 'used_at'],
  identities: [
    'id',
    'user_id',
    'provider',
    'subject',
    'email',
    'email_verified',
    'created_at',
    'last_used_at',
  ],
  passkeys: [
    'id',
    'user_id',
    'algorithm',
    'sign_count',
    'backup_eligible',
    'backed_up',
    'transports',
    'aaguid',
    'name',
    'created_at',
    'last_used_at',
  ],
  email_codes: ['id', 'email', 'attempts', 'created_at', 'expires_at', 'used_at'],
};
const WITHHELD: Record<string, string[]> = {
  // Where the user's sessions are stored, and the last one a sign-in opened (docs/sharding.md).
  users: [
    'password_hash',
    'totp_secret',
    'totp_key_version',
    'totp_last_step',
    'session_shard',
    'last_session_id',
  ],
  refresh_tokens: [
    'id',
    'session_id',
    'token_hash',
    'parent_id',
    'replaced_by',
    'created_at',
    'used_at',
    'expires_at',
  ],
  one_time_tokens: ['token_hash', 'consumed_by'],
  mfa_recovery_codes: ['id', 'code_hash', 'created_at'],
  mfa_challenges: ['token_hash'],
  passkeys: ['credential_id', 'public_key'],
  email_codes: ['code_hash'],
  webauthn_challenges: [
    'id',
    'challenge_hash',
    'ceremony',
    'user_id',
    'created_at',
    'expires_at',
    'used_at',
  ],
  oauth_states: [
    'id',
    'state_hash',
    'provider',
    'browser_hash',
    'nonce',
    'code_verifier',
    'return_to',
    'link_user_id',
    'created_at',
    'expires_at',
    'used_at',
  ],
  // Development only; its messages hold live links.
  dev_mailbox: ['id', 'to', 'subject', 'text', 'html', 'sent_at'],
  common_passwords: ['password'],
  // The worker's own signing keys (src/keys): about no user.
  signing_keys: [
    'kid',
    'state',
    'public_jwk',
    'private_sealed',
    'sealing_version',
    'origin',
    'created_at',
    'activates_at',
    'retired_at',
    'gone_at',
    'removed',
  ],
};
/** Columns whose values are secrets: hashes, ciphertexts, verifiers, sealed or derived values. */
const SECRET =
  /hash|secret|verifier|nonce|public_key|credential_id|consumed_by|replaced_by|parent_id|^text$|^html$/;

async function schema() {
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name != 'd1_migrations'",
  ).all<{ name: string }>();
  const columns: [string, string][] = [];
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`PRAGMA table_info(${JSON.stringify(name)})`).all<{
      name: string;
    }>();
    for (const col of results) columns.push([name, col.name]);
  }
  return columns;
}

/** A user with every kind of record: two-factor, a pending reset, an email change, a code. */
async function fullUser() {
  const account = await enrolled();
  const token = account.tokens.access_token;
  const verify = await mailedToken(account.email, 'verify-email');
  await call('/auth/email/verify', json({ token: verify }));
  await login(account.email).catch(() => undefined); // an MFA challenge row
  await call('/auth/password/forgot', json({ email: account.email }));
  await mailedToken(account.email, 'reset-password');
  await requestChange(token, uniqueEmail('next'));
  await call('/auth/email-code/send', json({ email: account.email }));
  await call('/auth/login', json({ email: account.email, password: 'a wrong password!!' }));
  return account;
}

async function exportOf(token: string) {
  const res = await call('/users/me/export', withBearer(token));
  expect(res.status).toBe(200);
  return { res, text: await res.text() };
}

describe('GET /users/me/export', () => {
  it('classifies every column of the schema as exported or withheld', async () => {
    const unclassified = (await schema()).filter(
      ([table, column]) => !EXPORTED[table]?.includes(column) && !WITHHELD[table]?.includes(column),
    );
    expect(unclassified).toEqual([]);
    for (const [table, column] of await schema()) {
      if (SECRET.test(column)) expect(WITHHELD[table], `${table}.${column}`).toContain(column);
    }
  });

  it('holds no value of a withheld column, no password, no TOTP secret, no recovery code', async () => {
    const account = await fullUser();
    const { text } = await exportOf(account.tokens.access_token);
    for (const [table, column] of await schema()) {
      if (!WITHHELD[table]?.includes(column) || !SECRET.test(column)) continue;
      const { results } = await env.DB.prepare(
        `SELECT DISTINCT "${column}" AS v FROM "${table}" WHERE "${column}" IS NOT NULL`,
      ).all<{ v: unknown }>();
      for (const { v } of results) {
        if (typeof v !== 'string' || v.length < 8) continue;
        expect(text.includes(v), `${table}.${column} leaked`).toBe(false);
      }
    }
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(account.secret);
    for (const code of account.recoveryCodes) expect(text).not.toContain(code);
  });

  it('holds the profile, sessions, two-factor state, links, codes and audit events', async () => {
    const account = await fullUser();
    const { res, text } = await exportOf(account.tokens.access_token);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Disposition')).toBe(
      'attachment; filename="account-export.json"',
    );
    const data = JSON.parse(text) as {
      profile: { id: string; email: string; has_password: boolean };
      two_factor: { totp_enabled: boolean; recovery_codes: { total: number; unused: number } };
      sessions: { id: string }[];
      mailed_links: { purpose: string }[];
      email_codes: unknown[];
      sign_in_failures: { failures: number }[];
      audit_events: { type: string }[];
    };
    expect(data.profile).toMatchObject({
      id: account.user.id,
      email: account.email,
      has_password: true,
    });
    expect(data.two_factor).toMatchObject({
      totp_enabled: true,
      recovery_codes: { total: 10, unused: 10 },
    });
    expect(data.sessions.map((s) => s.id)).toContain(account.tokens.session_id);
    expect(data.mailed_links.map((l) => l.purpose).sort()).toEqual(
      expect.arrayContaining(['email_change', 'reset_password', 'verify_email']),
    );
    expect(data.email_codes.length).toBeGreaterThanOrEqual(1);
    expect(data.sign_in_failures[0]!.failures).toBeGreaterThanOrEqual(1);
    const types = data.audit_events.map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(['user.registered', 'mfa.enabled', 'login.failed']),
    );
    expect(types).toContain('account.exported');
  });

  it('holds nothing of another user', async () => {
    const a = await fullUser();
    const b = await fullUser();
    const { text } = await exportOf(a.tokens.access_token);
    expect(text).not.toContain(b.user.id);
    expect(text).not.toContain(b.email);
  });

  it('answers 401 without an access token', async () => {
    await expectProblem(await call('/users/me/export'), 401, 'unauthorized');
  });

  it('is audited', async () => {
    const account = await fullUser();
    await exportOf(account.tokens.access_token);
    await post(account.tokens.access_token, '/users/me/delete', {}); // refused: still there
    const row = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'account.exported'",
    )
      .bind(account.user.id)
      .first<{ n: number }>();
    expect(row!.n).toBe(1);
  });
});
