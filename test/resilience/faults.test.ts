// Issue 9, "Fault-injection tests": every storage call of register, login, refresh, logout,
// password change, password reset and MFA verify is made to fail, and then to hang, one at a
// time, against the real worker with real D1 and KV (test/resilience/faulty-bindings.ts).
//
// The spec is README.md, "Failure policy". After each request:
// - the response is the documented one: 503 service_unavailable with Retry-After, except where
//   the failing call is work the response does not wait for (the rate limiter's KV read falls
//   back to memory, its KV write and the mail run in waitUntil): then the normal answer;
// - D1 (scoped to the fixture's user, volatile values normalised) is exactly as before the
//   request or exactly as after a successful run of it on an identical fresh fixture, or, for
//   the deliberate intermediate commits the README names, before + the attempts counted so far;
// - KV revocation keys may be ahead of D1 (written first), never behind it, and never more than
//   a successful run writes;
// - refresh, logout, password change and reset complete when the client retries without faults,
//   and a refresh retry never leaves two valid successors.
//
// The call indexes come from a counting run of each flow, so a refactor that adds, drops or
// reorders a storage call changes the cases, not this file. Fixtures are written straight into
// D1 with the worker's own helpers (no PBKDF2 in setup: only the requests under test pay for it).
import { env } from 'cloudflare:workers';
import type { BatchItem } from 'drizzle-orm/batch';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { signAccessToken } from '../../src/crypto/jwt';
import { hashPassword } from '../../src/crypto/password';
import { seal } from '../../src/crypto/secret-box';
import { uuidv7 } from '../../src/crypto/tokens';
import { hotp, newTotpSecret, stepAt } from '../../src/crypto/totp';
import { database } from '../../src/db/client';
import { loginFailures, users } from '../../src/db/schema';
import { createChallenge } from '../../src/mfa/challenge';
import { openSession } from '../../src/sessions/store';
import { issueToken } from '../../src/tokens/one-time';
import { PASSWORD, call, uniqueEmail } from '../helpers';
import {
  describeCall,
  faultyBindings,
  type Fault,
  type FaultMode,
  type StorageCall,
} from './faulty-bindings';

const MODES: FaultMode[] = ['fail', 'hang'];
/** Short enough that 30-odd hangs stay cheap; the guard accepts 50 ms and up. */
const HANG_DEADLINE = { STORAGE_DEADLINE_MS: '200' };
const NEW_PASSWORD = 'quiet meadow lantern 7319';

// ---------------------------------------------------------------------------------------------
// Fixtures: a fresh user per case, written directly (the same rows the routes would write).

const config = () => loadConfig(env);
let passwordHash: string;

beforeAll(async () => {
  passwordHash = await hashPassword(PASSWORD.normalize('NFKC'), config().PASSWORD_PEPPER);
});

type Session = { id: string; refreshToken: string; accessToken: string };
type Fixture = {
  email: string;
  sessions: Session[];
  resetToken?: string;
  mfaToken?: string;
  totpSecret?: Uint8Array;
};

async function fixture(
  options: { sessions?: number; reset?: boolean; mfa?: boolean; user?: boolean } = {},
): Promise<Fixture> {
  const email = uniqueEmail('fault');
  const fx: Fixture = { email, sessions: [] };
  if (options.user === false) return fx;
  const cfg = config();
  const db = database(env.DB);
  // A minute ago: a request's own timestamps can never coincide with the fixture's.
  const now = Date.now() - 60_000;
  const userId = uuidv7(now);
  let totp = {};
  if (options.mfa) {
    fx.totpSecret = newTotpSecret();
    const sealed = await seal(cfg.TOTP_ENCRYPTION_KEY, fx.totpSecret, userId);
    totp = { totpSecret: sealed.ciphertext, totpKeyVersion: sealed.version, totpEnabledAt: now };
  }
  const statements: BatchItem<'sqlite'>[] = [
    db
      .insert(users)
      // On the main database's session shard: the faults here are those of DB's calls (the
      // failures between DB and another shard are test/shards/'s).
      .values({
        id: userId,
        email,
        passwordHash,
        sessionShard: 0,
        createdAt: now,
        updatedAt: now,
        ...totp,
      }),
  ];
  for (let i = 0; i < (options.sessions ?? 0); i++) {
    const meta = { ip: '192.0.2.1', userAgent: 'fixture' };
    const opened = await openSession(db, cfg, { id: userId, sessionShard: 0 }, meta, now);
    statements.push(...opened.statements);
    const grant = { userId, sessionId: opened.sessionId, role: 'user' as const };
    fx.sessions.push({
      id: opened.sessionId,
      refreshToken: opened.refreshToken,
      accessToken: await signAccessToken(cfg, { ...grant, emailVerified: false }, now),
    });
  }
  if (options.reset) {
    const issued = await issueToken(db, userId, 'reset_password', cfg.RESET_PASSWORD_TTL, now);
    statements.push(...issued.statements);
    fx.resetToken = issued.token;
  }
  if (options.mfa) {
    // Where a real password step leaves things: its attempt counted and given back (the count
    // row stays at zero), and a pending challenge.
    const challenge = await createChallenge(db, userId, now);
    statements.push(
      challenge.statement,
      db.insert(loginFailures).values({ email, failures: 0, windowStartedAt: now }),
    );
    fx.mfaToken = challenge.token;
  }
  await db.batch(statements as [BatchItem<'sqlite'>, ...BatchItem<'sqlite'>[]]);
  return fx;
}

// ---------------------------------------------------------------------------------------------
// Requests: each from its own client address, so every request gets fresh rate-limit keys and
// makes the same calls (a KV read, then the once-a-second background write).

let ipCounter = Math.floor(Math.random() * 2 ** 20);
function nextIp() {
  const k = ++ipCounter;
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}`;
}

type Req = { path: string; body: unknown; bearer?: string };
type Answer = { status: number; code?: string; retryAfter: string | null; body: string };

async function send(req: Req, overrides: Record<string, unknown> = {}): Promise<Answer> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'CF-Connecting-IP': nextIp(),
    'User-Agent': 'fault-injection',
  };
  if (req.bearer) headers.Authorization = `Bearer ${req.bearer}`;
  const init = { method: 'POST', headers, body: JSON.stringify(req.body) };
  // The isolate reads its signing-key ring from D1 at most once per ring TTL (src/keys/ring.ts),
  // not per request: read it now, so that read never lands inside the request whose storage
  // calls are indexed and faulted.
  await call('/.well-known/jwks.json');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 10 s')), 10_000);
  });
  try {
    const res = await Promise.race([
      call(req.path, init, { LOG_LEVEL: 'silent', ...overrides }),
      timeout,
    ]);
    const body = await res.text();
    let code: string | undefined;
    if (res.headers.get('Content-Type') === 'application/problem+json') {
      code = (JSON.parse(body) as { code?: string }).code;
    }
    return { status: res.status, code, retryAfter: res.headers.get('Retry-After'), body };
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// State: the fixture user's rows in every table that decides access, and its revocation keys.

const BY_USER = (userId: string) => [userId];
/** Per table: its rows of the fixture's user (or its email), and what to bind. */
const TABLES = {
  users: ['SELECT * FROM users WHERE id = ?', BY_USER],
  sessions: ['SELECT * FROM sessions WHERE user_id = ?', BY_USER],
  refresh_tokens: [
    'SELECT * FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)',
    BY_USER,
  ],
  one_time_tokens: ['SELECT * FROM one_time_tokens WHERE user_id = ?', BY_USER],
  mfa_recovery_codes: ['SELECT * FROM mfa_recovery_codes WHERE user_id = ?', BY_USER],
  mfa_challenges: ['SELECT * FROM mfa_challenges WHERE user_id = ?', BY_USER],
  login_failures: ['SELECT * FROM login_failures WHERE email = ?', (_, email) => [email]],
  // By email too: an event about the address (before the user exists) must not escape.
  audit_events: [
    'SELECT * FROM audit_events WHERE user_id = ? OR instr(detail, ?) > 0',
    (userId, email) => [userId, email],
  ],
} satisfies Record<string, [string, (userId: string, email: string) => string[]]>;
type Table = keyof typeof TABLES;
type Row = Record<string, unknown>;
type Raw = {
  email: string;
  userId: string | null;
  rows: Record<Table, Row[]>;
  /** Revocation keys that exist: `revoked:user:<id>`, `revoked:session:<id>` → value. */
  kv: Record<string, string>;
};

async function capture(email: string): Promise<Raw> {
  const user = await env.DB.prepare('SELECT id FROM users WHERE email = ?')
    .bind(email)
    .first<{ id: string }>();
  const userId = user?.id ?? null;
  const names = Object.keys(TABLES) as Table[];
  const results = await env.DB.batch(
    names.map((t) =>
      env.DB.prepare(`${TABLES[t][0]} ORDER BY rowid`).bind(...TABLES[t][1](userId ?? '', email)),
    ),
  );
  const rows = Object.fromEntries(
    names.map((t, i) => [t, results[i]!.results as Row[]]),
  ) as Raw['rows'];
  const keys = [
    ...(userId ? [`revoked:user:${userId}`] : []),
    ...rows.sessions.map((s) => `revoked:session:${String(s.id)}`),
  ];
  const values = await Promise.all(keys.map((k) => env.KV.get(k)));
  const kv: Record<string, string> = {};
  keys.forEach((k, i) => {
    if (values[i] !== null) kv[k] = values[i]!;
  });
  return { email, userId, rows, kv };
}

const ID_COLUMNS = new Set(['id', 'user_id', 'session_id', 'parent_id', 'replaced_by']);
const TIME_COLUMNS = new Set([
  'created_at',
  'updated_at',
  'last_used_at',
  'expires_at',
  'revoked_at',
  'used_at',
  'window_started_at',
  'locked_until',
  'at',
  'email_verified_at',
  'disabled_at',
  'totp_enabled_at',
]);
/** Secrets, hashes and per-request values: only "unchanged" or "changed" is comparable. */
const OPAQUE_COLUMNS = new Set([
  'password_hash',
  'token_hash',
  'code_hash',
  'totp_secret',
  'totp_last_step',
  'consumed_by',
  'request_id',
  'ip',
]);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

type Norm = { d1: Record<Table, string[]>; kv: string[] };

/**
 * `raw` with every volatile value replaced by a stable placeholder, relative to `base` (the
 * state before the request): ids of rows that existed become `<table>#<n>`, other ids "new";
 * times "same-as-before" or "new"; hashes "unchanged", "changed" or "new". Two identical fresh
 * fixtures put through the same request normalise to the same value.
 */
function normalise(raw: Raw, base: Raw): Norm {
  const labels = new Map<string, string>();
  for (const [table, rows] of Object.entries(base.rows)) {
    rows.forEach((r, i) => {
      if (typeof r.id === 'string') labels.set(r.id, `${table}#${i + 1}`);
    });
  }
  const label = (v: unknown) => (v === null ? null : (labels.get(String(v)) ?? 'new'));
  const text = (s: string) =>
    s
      .replaceAll(raw.email, '<email>')
      .replace(UUID, (id) => labels.get(id) ?? 'new')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>');
  const d1 = {} as Norm['d1'];
  for (const table of Object.keys(TABLES) as Table[]) {
    const identity = table === 'login_failures' ? 'email' : 'id';
    d1[table] = raw.rows[table]
      .map((row) => {
        const was = base.rows[table].find((b) => b[identity] === row[identity]);
        const out: Row = {};
        for (const [col, v] of Object.entries(row)) {
          const before = was?.[col];
          if (ID_COLUMNS.has(col)) out[col] = label(v);
          else if (TIME_COLUMNS.has(col))
            out[col] = v === null ? null : was && before === v ? 'same-as-before' : 'new';
          else if (OPAQUE_COLUMNS.has(col))
            out[col] = v === null ? null : !was ? 'new' : before === v ? 'unchanged' : 'changed';
          else if (typeof v === 'string') out[col] = text(v);
          else out[col] = v;
        }
        return JSON.stringify(out);
      })
      .sort();
  }
  const kv = Object.entries(raw.kv)
    .map(([key, value]) => {
      const k = text(key);
      if (!key.startsWith('revoked:user:')) return k;
      const cutoff = JSON.parse(value) as { keep: string | null };
      return `${k} keep=${cutoff.keep === null ? 'none' : label(cutoff.keep)}`;
    })
    .sort();
  return { d1, kv };
}

/** Sessions revoked in D1 by this request whose access tokens KV does not refuse. */
function revokedWithoutKv(after: Raw, before: Raw): string[] {
  const cutoff = after.userId ? after.kv[`revoked:user:${after.userId}`] : undefined;
  const keep = cutoff ? (JSON.parse(cutoff) as { keep: string | null }).keep : undefined;
  return after.rows.sessions
    .filter((s) => s.revoked_at !== null)
    .filter((s) => before.rows.sessions.find((b) => b.id === s.id)?.revoked_at === null)
    .filter((s) => {
      const id = String(s.id);
      const bySession = `revoked:session:${id}` in after.kv;
      const byUser = cutoff !== undefined && keep !== id;
      return !bySession && !byUser;
    })
    .map((s) => String(s.id));
}

// ---------------------------------------------------------------------------------------------
// The flows.

type Flow = {
  name: string;
  ok: number;
  /** Fault modes beyond fail and hang. */
  extraModes?: FaultMode[];
  setup: () => Promise<Fixture>;
  request: (fx: Fixture) => Promise<Req> | Req;
  /**
   * The README's deliberate intermediate commits, in the order the flow makes them: each the
   * normalised state with the attempts counted so far.
   */
  attempts?: ((before: Norm) => Norm)[];
  /** Checks a retry without faults, after a request that failed; returns problems. */
  retry?: (fx: Fixture, first: Answer, refAfter: Norm, before: Raw) => Promise<string[]>;
};

const withLoginAttempt = (before: Norm): Norm => {
  const d1 = { ...before.d1 };
  if (d1.login_failures.length === 0) {
    d1.login_failures = [
      JSON.stringify({
        email: '<email>',
        failures: 1,
        window_started_at: 'new',
        locked_until: null,
      }),
    ];
  } else {
    d1.login_failures = d1.login_failures.map((r) => {
      const row = JSON.parse(r) as Row;
      return JSON.stringify({ ...row, failures: (row.failures as number) + 1 });
    });
  }
  return { ...before, d1 };
};

const withChallengeAttempt = (before: Norm): Norm => ({
  ...before,
  d1: {
    ...before.d1,
    mfa_challenges: before.d1.mfa_challenges.map((r) => {
      const row = JSON.parse(r) as Row;
      return JSON.stringify({ ...row, attempts: (row.attempts as number) + 1 });
    }),
  },
});

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Retrying the same request without faults completes it, exactly as one successful run. */
function retryCompletes(
  ok: number,
  request: (fx: Fixture) => Req,
  extra: (fx: Fixture, after: Raw) => Promise<string[]> | string[] = () => [],
) {
  return async (fx: Fixture, first: Answer, refAfter: Norm, before: Raw) => {
    if (first.status === ok) return [];
    const again = await send(request(fx));
    if (again.status !== ok) return [`retry answered ${again.status} ${again.body}`];
    const after = await capture(fx.email);
    const problems = await extra(fx, after);
    const norm = normalise(after, before);
    if (!same(norm, refAfter)) {
      problems.push(
        `after the retry the state is not the one of a successful run: ${diff(norm, refAfter)}`,
      );
    }
    return problems;
  };
}

const refreshRequest = (fx: Fixture): Req => ({
  path: '/auth/refresh',
  body: { refresh_token: fx.sessions[0]!.refreshToken },
});
const logoutRequest = (fx: Fixture): Req => ({
  path: '/auth/logout',
  body: { refresh_token: fx.sessions[0]!.refreshToken },
  bearer: fx.sessions[0]!.accessToken,
});
const passwordChangeRequest = (fx: Fixture): Req => ({
  path: '/users/me/password',
  body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
  bearer: fx.sessions[0]!.accessToken,
});
const resetRequest = (fx: Fixture): Req => ({
  path: '/auth/password/reset',
  body: { token: fx.resetToken, new_password: NEW_PASSWORD },
});

const FLOWS: Flow[] = [
  {
    name: 'register',
    ok: 201,
    setup: () => fixture({ user: false }),
    request: (fx) => ({ path: '/auth/register', body: { email: fx.email, password: PASSWORD } }),
  },
  {
    name: 'login',
    ok: 200,
    setup: () => fixture(),
    request: (fx) => ({ path: '/auth/login', body: { email: fx.email, password: PASSWORD } }),
    attempts: [withLoginAttempt],
  },
  {
    name: 'refresh',
    ok: 200,
    setup: () => fixture({ sessions: 1 }),
    request: refreshRequest,
    // A rotation whose answer is lost: the retry must get the same successor, not a second one.
    extraModes: ['lost'],
    // Always retried: also after a normal answer whose rate-limit call failed (then the retry is
    // answered with the same successor within the grace window).
    retry: async (fx, _first, refAfter, before) => {
      const again = await send(refreshRequest(fx));
      const problems: string[] = [];
      if (again.status !== 200) problems.push(`retry answered ${again.status} ${again.body}`);
      const { n } = (await env.DB.prepare(
        'SELECT COUNT(*) AS n FROM refresh_tokens WHERE session_id = ? AND used_at IS NULL',
      )
        .bind(fx.sessions[0]!.id)
        .first<{ n: number }>())!;
      if (n !== 1) problems.push(`after the retry the session has ${n} unused refresh tokens`);
      const norm = normalise(await capture(fx.email), before);
      if (!same(norm, refAfter))
        problems.push(`after the retry the state is not one rotation: ${diff(norm, refAfter)}`);
      return problems;
    },
  },
  {
    name: 'logout',
    ok: 204,
    setup: () => fixture({ sessions: 1 }),
    request: logoutRequest,
    retry: retryCompletes(204, logoutRequest, (fx, after) => {
      const sid = fx.sessions[0]!.id;
      const problems: string[] = [];
      if (after.rows.sessions.find((s) => s.id === sid)?.revoked_at === null)
        problems.push('after the retry the session is not revoked in D1');
      if (!(`revoked:session:${sid}` in after.kv))
        problems.push('after the retry the session is not revoked in KV');
      return problems;
    }),
  },
  {
    name: 'password change',
    ok: 204,
    setup: () => fixture({ sessions: 2 }),
    request: passwordChangeRequest,
    attempts: [withLoginAttempt],
    retry: retryCompletes(204, passwordChangeRequest, (fx, after) => {
      const [current, other] = fx.sessions;
      const problems: string[] = [];
      if (after.rows.sessions.find((s) => s.id === other!.id)?.revoked_at === null)
        problems.push('after the retry the other session is not revoked in D1');
      const cutoffs = after.kv[`revoked:user:${after.userId}`];
      const last = cutoffs && (JSON.parse(cutoffs) as { keep: string }[]).at(-1);
      if (!last || last.keep !== current!.id)
        problems.push(`after the retry KV has no cut-off keeping the current session: ${cutoffs}`);
      return problems;
    }),
  },
  {
    name: 'password reset',
    ok: 204,
    setup: () => fixture({ sessions: 1, reset: true }),
    request: resetRequest,
    retry: retryCompletes(204, resetRequest, (fx, after) => {
      const problems: string[] = [];
      if (after.rows.sessions.some((s) => s.revoked_at === null))
        problems.push('after the retry a session is still live in D1');
      if (!(`revoked:user:${after.userId}` in after.kv))
        problems.push('after the retry KV has no cut-off for the user');
      return problems;
    }),
  },
  {
    name: 'MFA verify',
    ok: 200,
    setup: () => fixture({ mfa: true }),
    request: async (fx) => ({
      path: '/auth/mfa/verify',
      body: { mfa_token: fx.mfaToken, code: await hotp(fx.totpSecret!, stepAt(Date.now())) },
    }),
    // The challenge's attempt, then the email's lockout attempt, each before the code is checked.
    attempts: [withChallengeAttempt, (before) => withLoginAttempt(withChallengeAttempt(before))],
  },
];

// ---------------------------------------------------------------------------------------------
// Which failing calls the policy lets the request survive.

/**
 * Work the response does not depend on: the rate limiter's KV read (falls back to the in-memory
 * count) and write (waitUntil), and the mail (waitUntil; the dev-mailbox transport writes D1).
 */
function survivable(call: StorageCall): string | null {
  if (call.store === 'KV' && call.detail.every((k) => k.startsWith('ratelimit:')))
    return call.op === 'get' ? 'rate-limit read' : 'rate-limit background write';
  if (call.store === 'D1' && call.detail.some((sql) => /\bdev_mailbox\b/.test(sql)))
    return 'mail (after the response)';
  return null;
}

/** A call's identity across runs: no ids, client addresses or rate-limit windows. */
const signature = (call: StorageCall) =>
  describeCall(call).replace(/ratelimit:([a-z_]+):[^\] ;]*/g, 'ratelimit:$1:…');

/** Column by column: "users[users#1].totp_last_step: null → changed", extra and missing rows. */
function diff(actual: Norm, expected: Norm): string {
  const parts: string[] = [];
  const keyOf = (row: Row) => String(row.id ?? row.email);
  for (const table of Object.keys(TABLES) as Table[]) {
    const a = actual.d1[table].map((r) => JSON.parse(r) as Row);
    const e = expected.d1[table].map((r) => JSON.parse(r) as Row);
    if (same(a, e)) continue;
    const unmatched = [...e];
    for (const row of a) {
      const i = unmatched.findIndex((x) => keyOf(x) === keyOf(row) && keyOf(row) !== 'new');
      if (i < 0) {
        if (!unmatched.some((x) => same(x, row)))
          parts.push(`${table}: extra row ${JSON.stringify(row)}`);
        else
          unmatched.splice(
            unmatched.findIndex((x) => same(x, row)),
            1,
          );
        continue;
      }
      const [want] = unmatched.splice(i, 1);
      for (const col of Object.keys(row)) {
        if (!same(row[col], want![col]))
          parts.push(
            `${table}[${keyOf(row)}].${col}: ${JSON.stringify(want![col])} → ${JSON.stringify(row[col])}`,
          );
      }
    }
    for (const row of unmatched) parts.push(`${table}: missing row ${JSON.stringify(row)}`);
  }
  if (!same(actual.kv, expected.kv))
    parts.push(`kv: ${JSON.stringify(actual.kv)} instead of ${JSON.stringify(expected.kv)}`);
  return parts.join('; ') || '(no difference)';
}

/** A case's outcome, for the summary printed per flow. */
type Outcome = { n: number; mode: FaultMode; call: string; status: number; state: string };

async function walk(flow: Flow) {
  // The counting run: how many storage calls, which ones, and the state a success leaves.
  const refFx = await flow.setup();
  const refBefore = await capture(refFx.email);
  const counting = faultyBindings(env);
  const refAnswer = await send(await flow.request(refFx), counting.bindings);
  expect(refAnswer.status, refAnswer.body).toBe(flow.ok);
  const refCalls = counting.calls;
  const before0 = normalise(refBefore, refBefore);
  const refAfter = normalise(await capture(refFx.email), refBefore);
  expect(refAfter, 'a successful run changes something').not.toEqual(before0);

  const problems: string[] = [];
  const outcomes: Outcome[] = [];
  for (const template of refCalls) {
    for (const mode of [...MODES, ...(flow.extraModes ?? [])]) {
      const fault: Fault = { at: template.n, mode };
      const fx = await flow.setup();
      const before = await capture(fx.email);
      const faulty = faultyBindings(env, fault);
      const overrides = { ...faulty.bindings, ...(mode === 'fail' ? {} : HANG_DEADLINE) };
      const where = `${flow.name}: ${mode} at ${signature(template)}`;
      let answer: Answer;
      try {
        answer = await send(await flow.request(fx), overrides);
      } catch (err) {
        problems.push(`${where}: ${String(err)}`);
        continue;
      }
      const faulted = faulty.calls[template.n - 1];
      const prefix = faulty.calls.slice(0, template.n).map(signature);
      if (!faulted?.faulted || !same(prefix, refCalls.slice(0, template.n).map(signature))) {
        problems.push(
          `${where}: the request made other calls than the counting run: ${JSON.stringify(prefix)}`,
        );
        continue;
      }

      // The response.
      const survives = survivable(template);
      if (survives) {
        if (answer.status !== flow.ok)
          problems.push(
            `${where} (${survives}): expected the normal ${flow.ok}, got ${answer.status} ${answer.body}`,
          );
      } else if (
        answer.status !== 503 ||
        answer.code !== 'service_unavailable' ||
        answer.retryAfter === null
      ) {
        problems.push(
          `${where}: expected 503 service_unavailable with Retry-After, got ${answer.status} ` +
            `(Retry-After: ${answer.retryAfter}) ${answer.body}`,
        );
      }

      // The state.
      const afterRaw = await capture(fx.email);
      const after = normalise(afterRaw, before);
      const beforeNorm = normalise(before, before);
      if (!same(beforeNorm, before0)) {
        problems.push(
          `${where}: the fixture is not the counting run's: ${diff(beforeNorm, before0)}`,
        );
        continue;
      }
      // A normal answer must have done everything; a 503 may have done nothing or everything
      // (or, where the README says so, the attempts counted before a check).
      const allowed = new Map<string, Norm['d1']>([['after', refAfter.d1]]);
      const counted = survives ? [] : (flow.attempts ?? []).map((attempt) => attempt(beforeNorm));
      if (!survives) {
        allowed.set('before', beforeNorm.d1);
        counted.forEach((state, i) =>
          allowed.set(`before + ${i + 1} counted attempt${i ? 's' : ''}`, state.d1),
        );
      }
      const match = [...allowed].find(([, d1]) => same(after.d1, d1));
      if (!match) {
        const closest = counted.at(-1) ?? beforeNorm;
        problems.push(
          `${where}: answered ${answer.status} and left D1 neither ${[...allowed.keys()].join(' nor ')}; ` +
            `vs ${counted.length ? 'before + every attempt' : 'before'}: ${diff({ ...after, kv: closest.kv }, closest)}`,
        );
      }
      // KV: revocations may be ahead of D1, never behind, and never more than a success writes.
      const behind = revokedWithoutKv(afterRaw, before);
      if (behind.length > 0)
        problems.push(`${where}: sessions revoked in D1 but not in KV: ${behind.join(', ')}`);
      const possible = new Set([...beforeNorm.kv, ...refAfter.kv]);
      const unexpected = after.kv.filter((k) => !possible.has(k));
      if (unexpected.length > 0)
        problems.push(`${where}: KV holds what no successful run writes: ${unexpected.join(', ')}`);
      if (match?.[0] === 'after' && !same(after.kv, refAfter.kv))
        problems.push(`${where}: D1 is done but KV is not: ${diff(after, refAfter)}`);

      outcomes.push({
        n: template.n,
        mode,
        call: signature(template),
        status: answer.status,
        state: match?.[0] ?? 'NEITHER',
      });

      if (flow.retry) {
        for (const p of await flow.retry(fx, answer, refAfter, before))
          problems.push(`${where}: ${p}`);
      }
    }
  }
  const table =
    `${flow.name}: ${refCalls.length} storage calls, ${outcomes.length} faults injected\n` +
    outcomes.map((o) => `  ${o.mode.padEnd(4)} ${o.call} → ${o.status}, ${o.state}`).join('\n');
  return { calls: refCalls, problems, table };
}

describe('fault injection: every storage call of every flow fails, then hangs', () => {
  for (const flow of FLOWS) {
    it(`${flow.name}`, { timeout: 60_000 }, async () => {
      const { calls, problems, table } = await walk(flow);
      expect(calls.length).toBeGreaterThan(0);
      expect(problems, table).toEqual([]);
    });
  }
});
