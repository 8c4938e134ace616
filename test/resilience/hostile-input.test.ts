// Issue 9, "Hostile input, generated": property-based tests (fast-check) that throw arbitrary JSON,
// strings, numbers, nested objects, huge arrays, `__proto__` keys, invalid UTF-8, NUL bytes, emoji
// and very long values at every JSON route and at every request header the worker reads.
// For every request: never a 5xx; every non-2xx is problem+json whose `status` is the HTTP status
// and whose `code` is a string; and a rejected request (>= 400) changes no row of the watched tables.
//
// Replaying a failure: fast-check prints `{ seed, path }`; put them in REPLAY below.
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ORIGIN, PASSWORD, call, login, register, uniqueEmail, type Tokens } from '../helpers';
import { ourKey, signOurs, validClaims } from '../tokens';

/** Runs per property. Each JSON route and each header gets its own property. */
const RUNS = 60;
/** Paste fast-check's `{ seed: ..., path: "..." }` here to replay one counterexample. */
const REPLAY: { seed?: number; path?: string } = {};
const SEED = REPLAY.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) & 0x7fffffff;
console.log(`hostile-input: base seed ${SEED}, ${RUNS} runs per property`);
let propertyIndex = 0;
const params = () => ({
  numRuns: RUNS,
  // Each property gets its own seed, derived from the base seed (printed above) and its position.
  seed: REPLAY.seed ?? SEED + propertyIndex++,
  ...(REPLAY.path ? { path: REPLAY.path } : {}),
  endOnFailure: false,
});
/** Keeps the output readable: expected warnings (a KV key that is not valid, say) are not shown. */
const QUIET = { LOG_LEVEL: 'error' };

// ---------------------------------------------------------------------------------------------
// The database must not change when a request is refused.
// audit_events and login_failures are deliberately NOT watched: a refused login, a wrong MFA code
// or a failed password check is supposed to leave a trace there (the audit trail, the lockout
// counter). For the same reason the `attempts` column of mfa_challenges is left out: every wrong
// second-step code claims one of the challenge's five attempts, by design (src/mfa/challenge.ts).
// dev_mailbox (the development mail transport) is not state of the service.
const WATCHED: Record<string, string[]> = {
  users: [],
  sessions: [],
  refresh_tokens: [],
  one_time_tokens: [],
  mfa_recovery_codes: [],
  mfa_challenges: ['attempts'],
};

type Snapshot = { counts: Record<string, number>; hashes: Record<string, string> };

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function snapshot(): Promise<Snapshot> {
  const tables = Object.keys(WATCHED);
  const results = await env.DB.batch(
    tables.map((t) => env.DB.prepare(`SELECT * FROM ${t} ORDER BY rowid`)),
  );
  const counts: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  for (const [i, table] of tables.entries()) {
    const rows = (results[i]!.results as Record<string, unknown>[]).map((row) => {
      const kept: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) {
        if (WATCHED[table]!.includes(k)) continue;
        kept[k] = v instanceof ArrayBuffer ? [...new Uint8Array(v)] : v;
      }
      return kept;
    });
    counts[table] = rows.length;
    hashes[table] = await sha256Hex(JSON.stringify(rows));
  }
  return { counts, hashes };
}

// ---------------------------------------------------------------------------------------------
// The one check every generated request goes through.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Stack frames, SQL engine and JS error names must never reach a client (API.md, Conventions).
const LEAK =
  /\n\s+at |SQLITE_|D1_ERROR|no such table|TypeError|RangeError|SyntaxError|ReferenceError/;

type Outcome = { status: number; text: string; res: Response };

/**
 * Sends the request and checks the three properties; returns the response for state tracking.
 * Returns null when the runtime itself refuses to build the request (a header value the Fetch
 * API does not accept): that input can never reach a deployed worker.
 */
async function hostileCall(
  path: string,
  init: RequestInit,
  options: { allow304?: boolean } = {},
): Promise<Outcome | null> {
  let sentRequestId: string | null;
  try {
    sentRequestId = new Request(`https://auth.test${path}`, init).headers.get('X-Request-Id');
  } catch {
    return null;
  }
  const before = await snapshot();
  const res = await call(path, init, QUIET);
  const text = await res.text();
  const where = `${init.method ?? 'GET'} ${path} -> ${res.status} ${text.slice(0, 300)}`;

  expect(res.status, `never a 5xx: ${where}`).toBeLessThan(500);
  expect(text, `no internals leak: ${where}`).not.toMatch(LEAK);

  const echoed = res.headers.get('X-Request-Id');
  expect(echoed, `X-Request-Id on every response: ${where}`).toBeTruthy();
  if (echoed !== sentRequestId) {
    expect(echoed, `a refused X-Request-Id is replaced by a UUID: ${where}`).toMatch(UUID);
  } else {
    expect(echoed!.length, `an echoed X-Request-Id is at most 128 chars`).toBeLessThanOrEqual(128);
    expect(echoed, `an echoed X-Request-Id is a plain token`).toMatch(/^[\x21-\x7e]+$/);
  }

  const ok = res.status >= 200 && res.status < 300;
  if (!ok && !(options.allow304 && res.status === 304)) {
    expect(res.headers.get('Content-Type'), `problem+json: ${where}`).toBe(
      'application/problem+json',
    );
    let problem: { status?: unknown; code?: unknown; request_id?: unknown };
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      throw new Error(`the problem body is not JSON: ${where}`);
    }
    expect(problem.status, `problem.status = HTTP status: ${where}`).toBe(res.status);
    expect(typeof problem.code, `problem.code is a string: ${where}`).toBe('string');
    if (problem.request_id !== undefined) expect(problem.request_id).toBe(echoed);
  }

  if (res.status >= 400) {
    const after = await snapshot();
    expect(after.counts, `a refused request adds or removes no row: ${where}`).toEqual(
      before.counts,
    );
    expect(after.hashes, `a refused request changes no row: ${where}`).toEqual(before.hashes);
  }
  return { status: res.status, text, res };
}

// ---------------------------------------------------------------------------------------------
// Generators: strings.
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const SPECIAL = [
  '\u0000',
  'a\u0000b',
  '\uFEFF',
  '\u202E', // RIGHT-TO-LEFT OVERRIDE
  '\u202Dadmin\u202C',
  '\u2066\u2067\u2068\u2069',
  '\u200B',
  '\u200F',
  '\u2028\u2029',
  '😀',
  '👩🏽‍💻',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  'Z̸̢̛̰͎a̵̡̛l̶̨g̷o̴',
  'ﬁ',
  'Ａｄｍｉｎ',
  'İı',
  'ß',
  'ǅ',
  '\u0301',
  'e\u0301',
  '\r\n',
  '\t',
  '\u001b[31m',
  '\\',
  '"',
  "'",
  '`',
  '%00',
  '%ZZ',
  '&#0;',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '${jndi:ldap://x}',
  '{{7*7}}',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'admin',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '1e999',
  '',
  ' ',
  '\u00A0',
  'ana@example.com',
  ' ANA@Example.COM ',
  'ana@example.com\u0000',
  'ana\u202E@example.com',
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDFFF',
  '\uDC00\uD800',
];
const piece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.constantFrom(...SPECIAL) },
  { weight: 2, arbitrary: loneSurrogate },
);
const shortHostile = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
/** Up to ~20 K code units: both sides of the 16 KiB body limit once JSON-escaped and encoded. */
const longHostile = fc
  .tuple(
    piece.filter((p) => p.length > 0),
    fc.integer({ min: 100, max: 20_000 }),
  )
  .map(([p, n]) => p.repeat(Math.ceil(n / p.length)).slice(0, n));
const emailish = fc
  .tuple(
    shortHostile,
    fc.constantFrom('example.com', 'EXAMPLE.COM', 'xn--80ak6aa92e.com', 'localhost', '', 'a..b'),
  )
  .map(([local, domain]) => `${local}@${domain}`);
const hostileString = fc.oneof(
  { weight: 6, arbitrary: shortHostile },
  { weight: 1, arbitrary: longHostile },
  { weight: 2, arbitrary: emailish },
);

// Numbers as JSON text: NaN and Infinity cannot be JSON, but 1e999 parses to Infinity.
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom(
    '1e999',
    '-1e999',
    '-0',
    '0e0',
    '5e-324',
    '1E+308',
    '0.0000000000000000000000001',
    '123456789012345678901234567890',
    '9007199254740993',
  ),
);

// ---------------------------------------------------------------------------------------------
// Generators: JSON trees, serialised by hand so that keys may repeat and `__proto__` is a real key.
type Node =
  | { t: 'raw'; v: string }
  | { t: 'arr'; v: Node[] }
  | { t: 'obj'; v: [string, Node][] }
  | { t: 'live'; k: string };
type Live = Record<string, string>;

const raw = (v: string): Node => ({ t: 'raw', v });
const str = (s: string): Node => raw(JSON.stringify(s));
const live = (k: string): Node => ({ t: 'live', k });
const ABSENT = Symbol('absent');

function serialize(node: Node, values: Live): string {
  switch (node.t) {
    case 'raw':
      return node.v;
    case 'live':
      return JSON.stringify(values[node.k] ?? '');
    case 'arr':
      return `[${node.v.map((n) => serialize(n, values)).join(',')}]`;
    case 'obj':
      return `{${node.v.map(([k, n]) => `${JSON.stringify(k)}:${serialize(n, values)}`).join(',')}}`;
  }
}

function liveKeys(node: Node, into = new Set<string>()): Set<string> {
  if (node.t === 'live') into.add(node.k);
  if (node.t === 'arr') node.v.forEach((n) => liveKeys(n, into));
  if (node.t === 'obj') node.v.forEach(([, n]) => liveKeys(n, into));
  return into;
}

const leaf: fc.Arbitrary<Node> = fc.oneof(
  { weight: 5, arbitrary: hostileString.map(str) },
  { weight: 2, arbitrary: numberText.map(raw) },
  { weight: 1, arbitrary: fc.constantFrom('true', 'false', 'null').map(raw) },
);
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'then'];
const key = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) },
  { weight: 1, arbitrary: shortHostile },
);
const tree = fc.letrec<{ node: Node; arr: Node; obj: Node }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('node'), { maxLength: 5 }).map((v): Node => ({ t: 'arr', v })),
  obj: fc.array(fc.tuple(key, tie('node')), { maxLength: 5 }).map((v): Node => ({ t: 'obj', v })),
}));
const hostileNode = tree.node;

// ---------------------------------------------------------------------------------------------
// Generators: whole bodies.
type Body =
  | { kind: 'node'; node: Node }
  | { kind: 'pad'; node: Node; bytes: number }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array };

type FieldSpec = Record<string, fc.Arbitrary<Node>>;

/** An object with the route's own fields (each valid, hostile or missing) and dangerous extras. */
function shaped(fields: FieldSpec): fc.Arbitrary<Node> {
  const names = Object.keys(fields);
  const perField = names.map((name) =>
    fc.oneof(
      { weight: 3, arbitrary: fields[name]! },
      { weight: 3, arbitrary: leaf },
      { weight: 1, arbitrary: hostileNode },
      { weight: 1, arbitrary: fc.constant(ABSENT) },
    ),
  );
  const protoPayload = fc
    .subarray(names)
    .chain((picked) =>
      fc
        .tuple(...picked.map((n) => fields[n]!))
        .map((values) => picked.map((n, i): [string, Node] => [n, values[i]!])),
    )
    .map((entries): Node => ({ t: 'obj', v: [...entries, ['role', str('admin')]] }));
  const extra = fc.tuple(
    fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...DANGEROUS_KEYS) },
      { weight: 1, arbitrary: fc.constantFrom(...names, 'role', 'email_verified', 'id') },
      { weight: 1, arbitrary: shortHostile },
    ),
    fc.oneof(hostileNode, protoPayload),
  );
  return fc
    .record({
      values: fc.tuple(...perField),
      before: fc.array(extra, { maxLength: 2 }),
      after: fc.array(extra, { maxLength: 2 }),
    })
    .map(({ values, before, after }): Node => {
      const own = names.flatMap((n, i): [string, Node][] =>
        values[i] === ABSENT ? [] : [[n, values[i] as Node]],
      );
      return { t: 'obj', v: [...before, ...own, ...after] };
    });
}

const ASCII = new TextEncoder();
/** Bodies close to the 16 KiB limit on either side: huge arrays, many keys, deep nesting. */
function hugeBody(fieldNames: string[]): fc.Arbitrary<Body> {
  return fc
    .record({
      field: fc.constantFrom(...fieldNames, '__proto__', 'junk'),
      target: fc.integer({ min: 15 * 1024, max: 17 * 1024 + 512 }),
      shape: fc.constantFrom('digits', 'strings', 'objects', 'nested', 'keys', 'toplevel'),
    })
    .map(({ field, target, shape }): Body => {
      const wrap = (inner: string) => `{${JSON.stringify(field)}:${inner}}`;
      const room = target - wrap('').length;
      let text: string;
      switch (shape) {
        case 'digits':
          text = wrap(
            `[${Array(Math.max(1, Math.floor(room / 2)))
              .fill('0')
              .join(',')}]`,
          );
          break;
        case 'strings':
          text = wrap(
            `[${Array(Math.max(1, Math.floor(room / 4)))
              .fill('"a"')
              .join(',')}]`,
          );
          break;
        case 'objects':
          text = wrap(
            `[${Array(Math.max(1, Math.floor(room / 3)))
              .fill('{}')
              .join(',')}]`,
          );
          break;
        case 'nested': {
          const depth = Math.max(1, Math.floor(room / 2));
          text = wrap('['.repeat(depth) + ']'.repeat(depth));
          break;
        }
        case 'keys': {
          const n = Math.max(1, Math.floor(room / 12));
          text = wrap(`{${Array.from({ length: n }, (_, i) => `"k${i}":0`).join(',')}}`);
          break;
        }
        default:
          text = `[${Array(Math.max(1, Math.floor(target / 2)))
            .fill('0')
            .join(',')}]`;
      }
      return { kind: 'text', text };
    });
}

const RAW_TEXTS = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":-Infinity}',
  "{'a':1}",
  '{"a":1,}',
  '{"a":1',
  '{a:1}',
  '{"a":undefined}',
  '\uFEFF{}',
  '{}garbage',
  '{} {}',
  '{"a":"\\u00"}',
  '{"a":"\t"}',
  '{"a":01}',
  '{"a":.5}',
  '{"a":0x10}',
  '{"a":"\\x41"}',
  '/*c*/{}',
  '{"__proto__":null}',
  '{"__proto__":[]}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"a":"\u0000"}',
  '{"\u0000":1}',
  'null',
  '[]',
  '"text"',
  '42',
  'true',
  '{"a":1}\u0000',
];
const rawText: fc.Arbitrary<Body> = fc
  .oneof(
    fc.constantFrom(...RAW_TEXTS),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 50 }).map((s) => `{"email":${s}}`),
    numberText,
  )
  .map((text): Body => ({ kind: 'text', text }));

// Invalid UTF-8: bytes a string body could never carry (the Request encodes strings as UTF-8).
const INVALID_UTF8 = [
  [0xff],
  [0xfe],
  [0xc0, 0xaf], // overlong '/'
  [0xe0, 0x80, 0xaf], // overlong
  [0xed, 0xa0, 0x80], // an encoded surrogate
  [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
  [0xc3], // truncated
  [0x80], // lone continuation byte
  [0xef, 0xbb, 0xbf], // BOM
  [0x00],
  [0xf8, 0x88, 0x80, 0x80, 0x80], // five-byte form
];
function concatBytes(parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
function rawBytes(fieldNames: string[]): fc.Arbitrary<Body> {
  const bad = fc.array(fc.constantFrom(...INVALID_UTF8), { minLength: 1, maxLength: 4 });
  return fc
    .oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc
        .tuple(fc.constantFrom(...fieldNames), bad, fc.string({ maxLength: 8 }), bad)
        .map(([field, a, s, b]) =>
          concatBytes([
            ASCII.encode(`{"${field}":"`),
            ...a,
            ASCII.encode(s.replace(/["\\]/g, '')),
            ...b,
            ASCII.encode('"}'),
          ]),
        ),
      // UTF-16 with a BOM, which RFC 8259 does not allow on the wire.
      fc.constantFrom(...fieldNames).map((field) => {
        const text = `{"${field}":"x"}`;
        const out = new Uint8Array(2 + text.length * 2);
        out.set([0xff, 0xfe]);
        for (let i = 0; i < text.length; i++) out[2 + i * 2] = text.charCodeAt(i);
        return out;
      }),
    )
    .map((bytes): Body => ({ kind: 'bytes', bytes }));
}

/** A body in every style the issue names, for a route with these fields. */
function bodyFor(fields: FieldSpec): fc.Arbitrary<Body> {
  const names = Object.keys(fields);
  const own = shaped(fields);
  return fc.oneof(
    { weight: 6, arbitrary: own.map((node): Body => ({ kind: 'node', node })) },
    { weight: 2, arbitrary: tree.obj.map((node): Body => ({ kind: 'node', node })) },
    { weight: 1, arbitrary: hostileNode.map((node): Body => ({ kind: 'node', node })) },
    { weight: 1, arbitrary: fc.json().map((text): Body => ({ kind: 'text', text })) },
    {
      weight: 1,
      arbitrary: fc
        .anything({ stringUnit: 'binary', withNullPrototype: true, key: key })
        .map((v): Body => {
          let text: string | undefined;
          try {
            text = JSON.stringify(v);
          } catch {
            text = undefined;
          }
          return { kind: 'text', text: text ?? 'undefined' };
        }),
    },
    { weight: 2, arbitrary: hugeBody(names) },
    {
      // Right at the 16 KiB boundary: a plausible body padded to 16384 +/- 64 bytes.
      weight: 2,
      arbitrary: fc
        .tuple(own, fc.integer({ min: 16 * 1024 - 64, max: 16 * 1024 + 64 }))
        .map(([node, bytes]): Body => ({ kind: 'pad', node, bytes })),
    },
    { weight: 2, arbitrary: rawText },
    { weight: 2, arbitrary: rawBytes(names) },
  );
}

async function resolveLive(nodes: Node[], resolvers: Record<string, () => Promise<string>>) {
  const values: Live = {};
  const keys = new Set<string>();
  nodes.forEach((n) => liveKeys(n, keys));
  for (const k of keys) {
    const resolve = resolvers[k];
    if (!resolve) throw new Error(`no resolver for live value ${k}`);
    values[k] = await resolve();
  }
  return values;
}

/** The wire form of a body, and its text (for state tracking after a success). */
async function build(
  body: Body,
  resolvers: Record<string, () => Promise<string>>,
): Promise<{ payload: string | Uint8Array; text: string | null }> {
  if (body.kind === 'text') return { payload: body.text, text: body.text };
  if (body.kind === 'bytes') return { payload: body.bytes, text: null };
  const values = await resolveLive([body.node], resolvers);
  const text = serialize(body.node, values);
  if (body.kind === 'node') return { payload: text, text };
  // Pad an object (or wrap anything else) with one filler member up to the wanted byte count.
  const inner = body.node.t === 'obj' ? text.slice(1, -1) : `"value":${text}`;
  const base = ASCII.encode(`{"_pad":"",${inner}}`).length - (inner ? 0 : 1);
  const filler = 'x'.repeat(Math.max(0, body.bytes - base));
  const padded = inner ? `{"_pad":"${filler}",${inner}}` : `{"_pad":"${filler}"}`;
  return { payload: padded, text: padded };
}

const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant<string | null>('application/json') },
  { weight: 1, arbitrary: fc.constant<string | null>('application/json; charset=utf-8') },
  { weight: 1, arbitrary: fc.constant<string | null>('text/plain') },
  { weight: 1, arbitrary: fc.constant<string | null>(null) },
);

// ---------------------------------------------------------------------------------------------
// Fixtures: real users, signed in, in this file's isolated D1 and KV.
type Account = { email: string; password: string; id: string; tokens: Tokens };

async function account(tag: string): Promise<Account> {
  const { email, user } = await register(uniqueEmail(tag));
  return { email, password: PASSWORD, id: user.id, tokens: await login(email) };
}

type Message = { to: string; text: string };
async function tokenFrom(to: string, page: 'verify-email' | 'reset-password') {
  const { messages } = (await (await call('/dev/mailbox.json')).json()) as {
    messages: Message[];
  };
  const message = messages.find((m) => m.to === to && m.text.includes(`/${page}?token=`));
  return message ? /token=([A-Za-z0-9_-]+)/.exec(message.text)![1]! : null;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), what an authenticator app would show. */
async function totp(secret: string, at = Date.now()): Promise<string> {
  let bits = 0;
  let value = 0;
  const bytes: number[] = [];
  for (const ch of secret) {
    value = (value << 5) | BASE32.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  const k = await crypto.subtle.importKey(
    'raw',
    new Uint8Array(bytes),
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setUint32(4, Math.floor(at / 30_000));
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', k, counter));
  const o = mac[19]! & 15;
  const n = ((mac[o]! & 0x7f) << 24) | (mac[o + 1]! << 16) | (mac[o + 2]! << 8) | mac[o + 3]!;
  return String(n % 1_000_000).padStart(6, '0');
}

const authJson = (token: string, extra: Record<string, string> = {}) => ({
  Authorization: `Bearer ${token}`,
  'Content-Type': 'application/json',
  ...extra,
});

type Fixtures = {
  profile: Account;
  passwordChange: Account;
  enrolling: Account;
  mfa: Account & { secret: string };
  admin: Account;
  target: Account;
  loginUser: Account;
  refresher: Account & { current: string };
  logoutUser: Account;
  verifyUser: { email: string; token: string };
  resetUser: { email: string; token: string };
  resendUser: { email: string };
  forgotUser: { email: string };
  headers: Account & { current: string };
};
const fx = {} as Fixtures;

async function clearLockouts() {
  const emails = [
    fx.loginUser,
    fx.passwordChange,
    fx.enrolling,
    fx.mfa,
    fx.logoutUser,
    fx.headers,
  ].map((a) => a.email);
  await env.DB.prepare(
    `DELETE FROM login_failures WHERE email IN (${emails.map(() => '?').join(',')})`,
  )
    .bind(...emails)
    .run();
}

async function mfaChallenge(): Promise<string> {
  await clearLockouts();
  const res = await call(
    '/auth/login',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: fx.mfa.email, password: fx.mfa.password }),
    },
    QUIET,
  );
  const body = (await res.json()) as { mfa_token?: string };
  if (!body.mfa_token) throw new Error(`no MFA challenge: ${res.status} ${JSON.stringify(body)}`);
  return body.mfa_token;
}

beforeAll(async () => {
  [fx.profile, fx.passwordChange, fx.enrolling, fx.admin, fx.target, fx.loginUser, fx.logoutUser] =
    await Promise.all([
      account('profile'),
      account('pwchange'),
      account('enrolling'),
      account('admin'),
      account('target'),
      account('login'),
      account('logout'),
    ]);
  const refresher = await account('refresher');
  fx.refresher = { ...refresher, current: refresher.tokens.refresh_token };
  const headerUser = await account('headers');
  fx.headers = { ...headerUser, current: headerUser.tokens.refresh_token };

  // A pending TOTP secret, so /enable checks the hostile code against a real secret.
  const setup = await call('/users/me/mfa/totp/setup', {
    method: 'POST',
    headers: authJson(fx.enrolling.tokens.access_token),
    body: JSON.stringify({ password: fx.enrolling.password }),
  });
  expect(setup.status).toBe(200);

  // A user with TOTP on, for /auth/mfa/verify and /users/me/mfa/totp/disable.
  const mfa = await account('mfa');
  const { secret } = (await (
    await call('/users/me/mfa/totp/setup', {
      method: 'POST',
      headers: authJson(mfa.tokens.access_token),
      body: JSON.stringify({ password: mfa.password }),
    })
  ).json()) as { secret: string };
  const enabled = await call('/users/me/mfa/totp/enable', {
    method: 'POST',
    headers: authJson(mfa.tokens.access_token),
    body: JSON.stringify({ code: await totp(secret) }),
  });
  expect(enabled.status, 'the test-side TOTP matches the worker').toBe(200);
  fx.mfa = { ...mfa, secret };

  // An admin (promoted in D1, then signed in again so the token carries the role).
  await env.DB.prepare(`UPDATE users SET role = 'admin' WHERE id = ?`).bind(fx.admin.id).run();
  fx.admin.tokens = await login(fx.admin.email);

  // Real one-time tokens, so the deeper checks behind them see the hostile fields.
  const verifyEmail = uniqueEmail('verify');
  await register(verifyEmail);
  fx.verifyUser = { email: verifyEmail, token: (await tokenFrom(verifyEmail, 'verify-email'))! };
  const resetEmail = uniqueEmail('reset');
  await register(resetEmail);
  await call('/auth/password/forgot', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: resetEmail }),
  });
  fx.resetUser = { email: resetEmail, token: (await tokenFrom(resetEmail, 'reset-password'))! };
  expect(fx.verifyUser.token && fx.resetUser.token).toBeTruthy();
  fx.resendUser = { email: (await register(uniqueEmail('resend'))).email };
  fx.forgotUser = { email: (await register(uniqueEmail('forgot'))).email };
}, 60_000);

// ---------------------------------------------------------------------------------------------
// Every JSON route, with the fields its contract names.
type Route = {
  name: string;
  method: 'POST' | 'PATCH';
  path: string | fc.Arbitrary<string>;
  bearer?: () => string;
  fields: FieldSpec;
  live?: Record<string, () => Promise<string>>;
  /** Keeps a fixture usable after a request that succeeded (a rotated token, a new password). */
  after?: (outcome: Outcome, sentText: string | null) => Promise<void>;
};

const validPassword = fc.constantFrom(
  PASSWORD,
  'another long passphrase ✓',
  'ﬁne ＰＡＳＳ phrase 😀',
);
const code6 = fc.oneof(
  fc.stringMatching(/^\d{6}$/),
  fc.stringMatching(/^[A-Za-z0-9-]{8,20}$/),
  fc.constantFrom('000000', '999999', '0000000', '00000', ' 123456', '123 456', '١٢٣٤٥٦'),
);
const b64url43 = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);

function parsed(text: string | null): Record<string, unknown> {
  try {
    const value: unknown = text === null ? null : JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const ROUTES: Route[] = [
  {
    name: 'POST /auth/register',
    method: 'POST',
    path: '/auth/register',
    fields: {
      email: fc.oneof(fc.constant(live('fresh_email')), emailish.map(str)),
      password: validPassword.map(str),
      name: fc.constantFrom('Ana', 'Ana María', '李小龍', '😀').map(str),
    },
    live: { fresh_email: async () => uniqueEmail('hostile') },
  },
  {
    name: 'POST /auth/login',
    method: 'POST',
    path: '/auth/login',
    fields: {
      email: fc.constant(live('email')),
      password: fc.constant(live('password')),
    },
    live: {
      email: async () => fx.loginUser.email,
      password: async () => fx.loginUser.password,
    },
  },
  {
    name: 'POST /auth/mfa/verify',
    method: 'POST',
    path: '/auth/mfa/verify',
    fields: {
      mfa_token: fc.oneof(fc.constant(live('mfa_token')), b64url43.map(str)),
      code: fc.oneof({ weight: 4, arbitrary: code6.map(str) }, fc.constant(live('totp'))),
    },
    live: { mfa_token: mfaChallenge, totp: () => totp(fx.mfa.secret) },
  },
  {
    name: 'POST /auth/refresh',
    method: 'POST',
    path: '/auth/refresh',
    fields: {
      refresh_token: fc.oneof(fc.constant(live('refresh_token')), b64url43.map(str)),
    },
    live: { refresh_token: async () => fx.refresher.current },
    after: async ({ status, text }) => {
      if (status === 200) fx.refresher.current = (JSON.parse(text) as Tokens).refresh_token;
    },
  },
  {
    name: 'POST /auth/logout',
    method: 'POST',
    path: '/auth/logout',
    fields: {
      refresh_token: fc.oneof(fc.constant(live('fresh_session')), b64url43.map(str)),
    },
    live: {
      fresh_session: async () => {
        await clearLockouts();
        return (await login(fx.logoutUser.email)).refresh_token;
      },
    },
  },
  {
    name: 'POST /auth/email/verify',
    method: 'POST',
    path: '/auth/email/verify',
    fields: { token: fc.oneof(fc.constant(live('token')), b64url43.map(str)) },
    live: { token: async () => fx.verifyUser.token },
  },
  {
    name: 'POST /auth/email/resend',
    method: 'POST',
    path: '/auth/email/resend',
    fields: { email: fc.oneof(fc.constant(live('email')), emailish.map(str)) },
    live: { email: async () => fx.resendUser.email },
  },
  {
    name: 'POST /auth/password/forgot',
    method: 'POST',
    path: '/auth/password/forgot',
    fields: { email: fc.oneof(fc.constant(live('email')), emailish.map(str)) },
    live: { email: async () => fx.forgotUser.email },
  },
  {
    name: 'POST /auth/password/reset',
    method: 'POST',
    path: '/auth/password/reset',
    fields: {
      token: fc.oneof(fc.constant(live('token')), b64url43.map(str)),
      new_password: validPassword.map(str),
    },
    live: { token: async () => fx.resetUser.token },
    after: async ({ status }) => {
      // The token is spent: ask for another one (the per-address mail budget may say no).
      if (status !== 204) return;
      await call('/auth/password/forgot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: fx.resetUser.email }),
      });
      fx.resetUser.token = (await tokenFrom(fx.resetUser.email, 'reset-password')) ?? '';
    },
  },
  {
    name: 'PATCH /users/me',
    method: 'PATCH',
    path: '/users/me',
    bearer: () => fx.profile.tokens.access_token,
    fields: { name: fc.constantFrom('Ana', 'Zoë', '李小龍', '😀 emoji').map(str) },
  },
  {
    name: 'POST /users/me/password',
    method: 'POST',
    path: '/users/me/password',
    bearer: () => fx.passwordChange.tokens.access_token,
    fields: {
      current_password: fc.constant(live('current')),
      new_password: validPassword.map(str),
    },
    live: {
      current: async () => {
        await clearLockouts();
        return fx.passwordChange.password;
      },
    },
    after: async ({ status }, sent) => {
      const next = parsed(sent).new_password;
      if (status === 204 && typeof next === 'string') fx.passwordChange.password = next;
    },
  },
  {
    name: 'POST /users/me/mfa/totp/setup',
    method: 'POST',
    path: '/users/me/mfa/totp/setup',
    bearer: () => fx.enrolling.tokens.access_token,
    fields: { password: fc.constant(live('password')) },
    live: {
      password: async () => {
        await clearLockouts();
        return fx.enrolling.password;
      },
    },
  },
  {
    name: 'POST /users/me/mfa/totp/enable',
    method: 'POST',
    path: '/users/me/mfa/totp/enable',
    bearer: () => fx.enrolling.tokens.access_token,
    fields: { code: code6.map(str) },
  },
  {
    name: 'POST /users/me/mfa/totp/disable',
    method: 'POST',
    path: '/users/me/mfa/totp/disable',
    bearer: () => fx.mfa.tokens.access_token,
    fields: { password: fc.constant(live('password')), code: code6.map(str) },
    live: {
      password: async () => {
        await clearLockouts();
        return fx.mfa.password;
      },
    },
  },
  {
    name: 'PATCH /admin/users/{id}',
    method: 'PATCH',
    // TARGET_ID is replaced by the id of a real user; the others are hostile ids.
    path: fc.oneof(
      { weight: 6, arbitrary: fc.constant('/admin/users/TARGET_ID') },
      {
        weight: 1,
        arbitrary: hostileString
          .filter((s) => s.length < 400)
          .map((s) => `/admin/users/${percentEncode(s)}`),
      },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('%', '%ZZ', '%00', '%2F', '..', '%2e%2e', 'a'.repeat(65), '__proto__')
          .map((s) => `/admin/users/${s}`),
      },
    ),
    bearer: () => fx.admin.tokens.access_token,
    fields: {
      role: fc.constantFrom('user', 'admin').map(str),
      disabled: fc.constantFrom('true', 'false').map(raw),
    },
  },
];

/** Percent-encodes the UTF-8 bytes (a lone surrogate becomes U+FFFD, as on the wire). */
function percentEncode(s: string): string {
  return [...ASCII.encode(s)]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

it('the row snapshot notices a one-column change (so the "nothing changed" check is not vacuous)', async () => {
  const before = await snapshot();
  const bump = (by: number) =>
    env.DB.prepare('UPDATE users SET updated_at = updated_at + ? WHERE id = ?')
      .bind(by, fx.target.id)
      .run();
  await bump(1);
  expect((await snapshot()).hashes.users).not.toBe(before.hashes.users);
  await bump(-1);
  expect(await snapshot()).toEqual(before);
});

describe('hostile JSON bodies on every JSON route', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))(
    '%s: never 5xx, always problem+json, nothing changed on refusal',
    async (_name, route) => {
      const pathArb = typeof route.path === 'string' ? fc.constant(route.path) : route.path;
      await fc.assert(
        fc.asyncProperty(
          bodyFor(route.fields),
          contentType,
          pathArb,
          fc.boolean(),
          async (body, type, path, unlock) => {
            if (unlock) await clearLockouts();
            const { payload, text } = await build(body, route.live ?? {});
            const headers: Record<string, string> = {};
            if (type !== null) headers['Content-Type'] = type;
            if (route.bearer) headers.Authorization = `Bearer ${route.bearer()}`;
            const outcome = await hostileCall(path.replace('TARGET_ID', fx.target.id), {
              method: route.method,
              headers,
              body: payload,
            });
            if (outcome && route.after) await route.after(outcome, text);
          },
        ),
        params(),
      );
    },
    60_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Every header the worker reads (src/middleware/*, src/request-meta.ts, src/sessions/cookie.ts,
// src/routes/well-known.ts), alone and in combination, on representative routes.
const LIVE_ACCESS = '{{LIVE_ACCESS}}';
const LIVE_REFRESH = '{{LIVE_REFRESH}}';

const asciiChar = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const headerChar = fc.oneof(
  { weight: 12, arbitrary: asciiChar },
  { weight: 3, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\u0001', '\u007f', '\u001b', '\u000b') },
  // Not every runtime accepts these in a header; the request is skipped when it does not.
  { weight: 1, arbitrary: fc.constantFrom('😀', '\u202E', 'é', '\u0000', '\r', '\n', '\uD800') },
);
// Mostly printable ASCII; one value in five also has obs-text, controls or non-Latin-1 characters.
const headerText = (maxLength: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: asciiChar, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: headerChar, maxLength }) },
  );
const longHeader = fc
  .tuple(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: asciiChar, minLength: 1, maxLength: 8 }) },
      { weight: 1, arbitrary: fc.string({ unit: headerChar, minLength: 1, maxLength: 8 }) },
    ),
    fc.integer({ min: 100, max: 12_000 }),
  )
  .map(([p, n]) => p.repeat(Math.ceil(n / p.length)).slice(0, n));
const tokenChars = fc.string({
  unit: fc.constantFrom(...'ABCxyz019._~+/-='.split('')),
  maxLength: 400,
});
/** base64url without padding, in chunks (a spread of 60 K bytes would overflow the stack). */
function b64(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? ASCII.encode(input) : input;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Hand-made JWS-shaped strings with hostile headers and claims, unsigned or badly signed. */
const forgedJwt = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(
        { alg: 'none', typ: 'at+jwt' },
        { alg: 'RS256', typ: 'at+jwt', kid: '__proto__' },
        { alg: 'RS256', typ: 'at+jwt', kid: 'constructor' },
        { alg: 'HS256', typ: 'at+jwt', kid: 'KID' },
        { alg: 'RS256', typ: 'at+jwt', kid: 'KID', crit: ['exp'] },
        { alg: 'RS256', typ: 'at+jwt', kid: 'KID', b64: false, crit: ['b64'] },
        { alg: 'RS256', typ: 'at+jwt', kid: 'KID', jku: 'https://evil.example/jwks' },
        { alg: 'RS256', typ: 'at+jwt', kid: { $ne: null } },
        { alg: ['RS256'], kid: 'KID' },
      ),
      fc.record({ alg: hostileString, typ: hostileString, kid: hostileString }),
    ),
    fc.oneof(
      hostileNode.map((n) => serialize(n, {})),
      fc.constant(JSON.stringify(validClaims())),
    ),
    fc.uint8Array({ maxLength: 300 }),
    fc.boolean(),
  )
  .map(([header, payload, sig, rawHeader]) => {
    const head = rawHeader
      ? `{"__proto__":{"alg":"RS256"},"alg":"RS256","kid":"KID","typ":"at+jwt"}`
      : JSON.stringify(header);
    const sigText = b64(sig);
    return `${b64(head.replaceAll('KID', ourKey().kid))}.${b64(payload)}.${sigText}`;
  });

const HEADERS: Record<string, fc.Arbitrary<string>> = {
  Authorization: fc.oneof(
    headerText(200),
    tokenChars.map((t) => `Bearer ${t}`),
    tokenChars.map((t) => `bearer    ${t}`),
    forgedJwt.map((t) => `Bearer ${t}`),
    fc.integer({ min: 4000, max: 4200 }).map((n) => `Bearer ${'A'.repeat(n - 7)}`),
    longHeader.map((t) => `Bearer ${t}`),
    headerText(40).map((junk) => `Bearer ${LIVE_ACCESS}${junk}`),
    headerText(40).map((junk) => `${junk}Bearer ${LIVE_ACCESS}`),
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      `Bearer ${LIVE_ACCESS}, Bearer ${LIVE_ACCESS}`,
      `Bearer ${LIVE_ACCESS} ${LIVE_ACCESS}`,
      `Basic ${btoa('admin:admin')}`,
      `Bearer\t${LIVE_ACCESS}`,
      `BEARER ${LIVE_ACCESS}`,
      'Bearer null',
      'Bearer undefined',
      'Bearer ==',
    ),
  ),
  Cookie: fc.oneof(
    headerText(300),
    headerText(200).map((v) => `__Host-refresh_token=${v}`),
    tokenChars.map((v) => `__Host-refresh_token=${v}`),
    headerText(60).map((v) => `__Host-refresh_token=${LIVE_REFRESH}; __Host-refresh_token=${v}`),
    headerText(60).map((v) => `__Host-refresh_token=${v}; __Host-refresh_token=${LIVE_REFRESH}`),
    headerText(60).map((v) => `__Host-refresh_token=${LIVE_REFRESH}${v}`),
    fc.integer({ min: 1, max: 2000 }).map((n) => `${'a=b; '.repeat(n)}__Host-refresh_token=x`),
    longHeader.map((v) => `__Host-refresh_token=${v}`),
    fc.constantFrom(
      `__Host-refresh_token="${LIVE_REFRESH}"`,
      `__Host-refresh_token=${LIVE_REFRESH.replace(/./g, (c) => c)}`,
      `refresh_token=${LIVE_REFRESH}`,
      '__Host-refresh_token=',
      '__Host-refresh_token',
      '__Host-refresh_token=%',
      '__Host-refresh_token=%E0%A4%A',
      '__Host-refresh_token=%00',
      '__Host-refresh_token=%F0%9F%98%80',
      '__Host-refresh_token=%ED%A0%80',
      '__proto__=1; constructor=2; __Host-refresh_token=x',
      ';;;;;;',
      '=',
    ),
  ),
  'X-Request-Id': fc.oneof(
    headerText(300),
    fc.stringMatching(/^[A-Za-z0-9._:-]{120,140}$/),
    fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/),
    longHeader,
    fc.constantFrom('<script>', 'a b', '../../x', '%0d%0aSet-Cookie: x=1', '__proto__', 'null'),
  ),
  Origin: fc.oneof(
    headerText(200),
    shortHostile.map((h) => `https://${h}`),
    longHeader,
    fc.constantFrom(
      'null',
      ORIGIN,
      `${ORIGIN}/`,
      ORIGIN.toUpperCase(),
      `${ORIGIN}.evil.com`,
      `${ORIGIN}:443`,
      ORIGIN.replace('https', 'http'),
      ` ${ORIGIN} `,
      `${ORIGIN}, https://evil.example`,
      'https://evil.example',
      'file://',
      '*',
    ),
  ),
  'CF-Connecting-IP': fc.oneof(
    headerText(100),
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4Extended(),
    longHeader,
    fc.constantFrom(
      ':::',
      '::',
      '::ffff:999.999.999.999',
      '::ffff:1.2.3.4',
      '1::2::3',
      'fe80::1%eth0',
      '[::1]',
      '1:2:3:4:5:6:7:8:9',
      '0'.repeat(200),
      'unknown',
      '127.0.0.1, 10.0.0.1',
      '__proto__',
    ),
  ),
  'Content-Type': fc.oneof(
    headerText(200),
    // JSON media types spelled every way RFC 9110 allows (case, optional whitespace around `;`
    // and `=`, quoted or bare charset) and a few charsets that are not UTF-8.
    {
      weight: 4,
      arbitrary: fc
        .record({
          type: fc.constantFrom('application/json', 'APPLICATION/JSON', 'Application/Json'),
          charset: fc.option(
            fc.record({
              ws: fc.array(fc.constantFrom('', '', ' ', '\t', '  '), {
                minLength: 4,
                maxLength: 4,
              }),
              name: fc.constantFrom('charset', 'CHARSET', 'Charset'),
              value: fc.oneof(
                { weight: 4, arbitrary: fc.constantFrom('utf-8', 'UTF-8') },
                { weight: 1, arbitrary: fc.constantFrom('utf8', 'utf-16', 'latin1') },
              ),
              quoted: fc.boolean(),
            }),
          ),
        })
        .map(({ type, charset }) => {
          if (!charset) return type;
          const [a, b, c, d] = charset.ws as [string, string, string, string];
          const q = charset.quoted ? '"' : '';
          return `${type}${a};${b}${charset.name}${c}=${d}${q}${charset.value}${q}`;
        }),
    },
    fc.integer({ min: 1, max: 5000 }).map((n) => `application/json${' '.repeat(n)}x`),
    fc.integer({ min: 1, max: 500 }).map((n) => `application/json; ${'a=b; '.repeat(n)}`),
    fc.constantFrom(
      'application/json',
      'APPLICATION/JSON',
      'application/json; charset=utf-8',
      'application/json;charset="UTF-8"',
      'application/json ; charset = "utf-8"',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/jsonx',
      'application/json, text/plain',
      'application/json; charset=utf-8; boundary=x',
      'application/problem+json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----x',
      'text/json',
      '*/*',
      '',
    ),
  ),
  'User-Agent': fc.oneof(headerText(700), longHeader),
  'Sec-Fetch-Site': fc.oneof(
    headerText(40),
    fc.constantFrom('cross-site', 'CROSS-SITE', 'same-origin', 'same-site', 'none', ' cross-site'),
  ),
  'If-None-Match': fc.oneof(
    headerText(200),
    longHeader,
    fc.integer({ min: 1, max: 1000 }).map((n) => Array(n).fill('W/"x"').join(', ')),
    fc.constantFrom('*', 'W/"x"', '""', '"', 'W/', '"a", *'),
  ),
  'Content-Length': fc.oneof(
    headerText(30),
    fc.constantFrom('0', '-1', '1', '99999999999999999999', '1e3', '0x10', ' 2', '2, 2'),
  ),
};
const HEADER_NAMES = Object.keys(HEADERS);

type Target = {
  name: string;
  method: string;
  path: string;
  base: () => Record<string, string>;
  body?: () => string;
  allow304?: boolean;
  after?: (outcome: Outcome) => void;
  /** The live tokens a hostile Authorization or Cookie may carry (logout ends that session). */
  live?: () => { access: string; refresh: string };
};

const json = 'application/json';
const TARGETS: Target[] = [
  {
    name: 'GET /users/me',
    method: 'GET',
    path: '/users/me',
    base: () => ({ Authorization: `Bearer ${fx.headers.tokens.access_token}` }),
  },
  {
    name: 'PATCH /users/me',
    method: 'PATCH',
    path: '/users/me',
    base: () => authJson(fx.headers.tokens.access_token),
    body: () => JSON.stringify({ name: 'Header Tester' }),
  },
  {
    name: 'POST /auth/refresh (cookie)',
    method: 'POST',
    path: '/auth/refresh',
    base: () => ({
      'Content-Type': json,
      Origin: ORIGIN,
      Cookie: `__Host-refresh_token=${fx.headers.current}`,
    }),
    body: () => '{}',
    after: ({ status, text }) => {
      if (status === 200) fx.headers.current = (JSON.parse(text) as Tokens).refresh_token;
    },
  },
  {
    name: 'POST /auth/login',
    method: 'POST',
    path: '/auth/login',
    base: () => ({ 'Content-Type': json }),
    body: () => JSON.stringify({ email: fx.headers.email, password: fx.headers.password }),
  },
  {
    name: 'POST /auth/logout (cookie)',
    method: 'POST',
    path: '/auth/logout',
    base: () => ({
      'Content-Type': json,
      Origin: ORIGIN,
      Cookie: `__Host-refresh_token=${'A'.repeat(43)}`,
    }),
    body: () => '{}',
    // A live Bearer or cookie on logout ends that session: a user of its own, so that the other
    // targets stay signed in.
    live: () => ({
      access: fx.logoutUser.tokens.access_token,
      refresh: fx.logoutUser.tokens.refresh_token,
    }),
  },
  {
    name: 'POST /auth/password/forgot',
    method: 'POST',
    path: '/auth/password/forgot',
    base: () => ({ 'Content-Type': json }),
    body: () => JSON.stringify({ email: fx.headers.email }),
  },
  {
    name: 'GET /admin/stats',
    method: 'GET',
    path: '/admin/stats',
    base: () => ({ Authorization: `Bearer ${fx.admin.tokens.access_token}` }),
  },
  {
    name: 'GET /.well-known/jwks.json',
    method: 'GET',
    path: '/.well-known/jwks.json',
    base: () => ({}),
    allow304: true,
  },
  { name: 'GET /health/live', method: 'GET', path: '/health/live', base: () => ({}) },
  { name: 'GET /nope', method: 'GET', path: '/nope', base: () => ({}) },
  {
    name: 'OPTIONS /auth/login',
    method: 'OPTIONS',
    path: '/auth/login',
    base: () => ({ Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' }),
  },
];

const withLive = (value: string, live: { access: string; refresh: string }) =>
  value.replaceAll(LIVE_ACCESS, live.access).replaceAll(LIVE_REFRESH, live.refresh);

/** Header names arrive in any case; an attacker can send them as they like. */
const spelled = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());

const TARGET_NAMES = TARGETS.map((t) => t.name);

async function headerRun(targetName: string, hostile: [string, string][]): Promise<void> {
  const target = TARGETS.find((t) => t.name === targetName)!;
  await clearLockouts();
  const headers = new Headers();
  const live = target.live?.() ?? {
    access: fx.headers.tokens.access_token,
    refresh: fx.headers.current,
  };
  try {
    for (const [name, value] of Object.entries(target.base())) headers.set(name, value);
    for (const [name, value] of hostile) headers.set(name, withLive(value, live));
  } catch {
    return; // not a header value the Fetch API accepts: it cannot reach a worker
  }
  const init: RequestInit = { method: target.method, headers };
  if (target.body) init.body = target.body();
  const outcome = await hostileCall(target.path, init, { allow304: target.allow304 ?? false });
  if (outcome && target.after) target.after(outcome);
}

describe('hostile values in every header the worker reads', () => {
  it.each(HEADER_NAMES)(
    '%s: never 5xx, always problem+json, nothing changed on refusal',
    async (name) => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...TARGET_NAMES),
          fc.tuple(spelled(name), HEADERS[name]!),
          async (target, hostile) => headerRun(target, [hostile]),
        ),
        params(),
      );
    },
    60_000,
  );

  it('several hostile headers at once: same properties', async () => {
    const pair = fc
      .constantFrom(...HEADER_NAMES)
      .chain((name) => fc.tuple(fc.constant(name), HEADERS[name]!));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...TARGET_NAMES),
        fc.array(pair, { minLength: 2, maxLength: 5 }),
        async (target, hostile) => headerRun(target, hostile),
      ),
      params(),
    );
  }, 60_000);
});

describe('hostile JSON bodies with a signed token carrying hostile claims', () => {
  // Tokens our own key signed but with claims we never mint: the claim schema must refuse
  // them as 401, never 5xx. (An attacker cannot produce these; a key leak or a bug could.)
  it('GET /users/me and PATCH /users/me', async () => {
    const claimValue = fc.oneof(
      hostileString.filter((s) => s.length < 2000).map((s): unknown => s),
      fc.constantFrom<unknown>(null, true, 0, -1, 1.5, 1e300, [], {}, ['user'], { admin: true }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.constantFrom('sub', 'sid', 'jti', 'role', 'email_verified', 'aud', 'iat', 'exp'),
          claimValue,
          { maxKeys: 3 },
        ),
        fc.constantFrom('GET', 'PATCH'),
        async (claims, method) => {
          // A real user and session underneath, so only the hostile claims can make it fail.
          const claimsObject = validClaims({
            sub: fx.headers.id,
            sid: fx.headers.tokens.session_id,
          });
          for (const [k, v] of Object.entries(claims)) {
            Object.defineProperty(claimsObject, k, { value: v, enumerable: true, writable: true });
          }
          let token: string;
          try {
            token = await signOurs(claimsObject);
          } catch {
            return; // jose refuses to sign it: cannot be a token
          }
          await hostileCall('/users/me', {
            method,
            headers: authJson(token),
            ...(method === 'PATCH' ? { body: '{"name":"x"}' } : {}),
          });
        },
      ),
      { ...params(), numRuns: Math.ceil(RUNS / 2) },
    );
  }, 60_000);
});
