// Reads a running worker's local D1, for the checks that a refusal wrote nothing. The documented
// way is `wrangler d1 execute DB --local --persist-to <its state>`, but it costs about 3 s a call
// and the federation phase reads some thirty times; so the same SQLite file that wrangler opens
// is read directly (read-only, Python's sqlite3), and `d1RowsViaWrangler` confirms once that both
// see the same rows. Only while no request of ours is in flight, so the worker's own writes
// never wait on a reader.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root, runProcess } from './harness.mjs';
import { findPython } from './python.mjs';

const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
// Every D1 database under the worker's state: the main one (DB, the one with `users`) and the
// session shards (SESSIONS_n, docs/sharding.md). "main" runs the SELECT on the main database
// only; "all" runs it on each and returns one list of rows, the main database's first.
const READ = `
import json, sqlite3, sys
sql = sys.stdin.read()
found = []
for path in sys.argv[2:]:
    db = sqlite3.connect("file:" + path + "?mode=ro", uri=True, timeout=5)
    db.row_factory = sqlite3.Row
    main = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'users'").fetchone() is not None
    if sys.argv[1] == "main" and not main:
        continue
    rows = [dict(r) for r in db.execute(sql)]
    found = rows + found if main else found + rows
print(json.dumps(found))
`;

/** Miniflare's files for the D1 bindings under the worker's --persist-to directory. */
function databaseFiles(worker) {
  const dir = join(worker.persistTo, 'v3/d1/miniflare-D1DatabaseObject');
  const files = readdirSync(dir).filter((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  assert.ok(files.length >= 1, `a D1 database in ${dir}`);
  return files.map((f) => join(dir, f));
}

/** The rows of one SELECT on the main database (or, with `on: 'all'`, on every database). */
export async function d1Rows(worker, sql, { on = 'main' } = {}) {
  const python = findPython('import sqlite3', 'python3');
  const res = await runProcess(python, ['-c', READ, on, ...databaseFiles(worker)], {
    input: sql,
    timeoutMs: 15_000,
  });
  assert.equal(res.code, 0, `sqlite3: ${res.stderr}`);
  return JSON.parse(res.stdout);
}

/** The same through `wrangler d1 execute --local`, as README "Administration" does it. */
export async function d1RowsViaWrangler(worker, sql) {
  const args = ['d1', 'execute', 'DB', '--local', '--persist-to', worker.persistTo, '--json'];
  const res = await runProcess(process.execPath, [wrangler, ...args, '--command', sql], {
    timeoutMs: 60_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
  });
  assert.equal(res.code, 0, `wrangler d1 execute: ${res.stderr || res.stdout}`);
  return JSON.parse(res.stdout)[0].results;
}

const quote = (text) => `'${text.replace(/'/g, "''")}'`;

/** The user row of an address (no password? verified?) and its identities. */
export async function accountOf(worker, email, read = d1Rows) {
  const [user] = await read(
    worker,
    `SELECT id, password_hash = '' AS no_password, email_verified_at IS NOT NULL AS verified
      FROM users WHERE email = ${quote(email)}`,
  );
  const identities = user
    ? await read(
        worker,
        `SELECT provider, subject, email, email_verified FROM identities
          WHERE user_id = ${quote(user.id)}`,
      )
    : [];
  return { user, identities };
}

// What a sign-in, a new account or a link writes. oauth_states is left out: a refused callback
// spends its state, which is the point. Sessions, refresh tokens and session events may be on any
// session shard (docs/sharding.md), so those are counted over every database.
const WRITTEN = ['users', 'identities', 'mfa_challenges'];
const SHARDED = ['sessions', 'refresh_tokens'];

/** Row counts of the tables a sign-in writes (and `extra` ones), and the audit events by type. */
export async function d1Snapshot(worker, extra = []) {
  const counts = [...WRITTEN, ...extra].map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`);
  const [tables] = await d1Rows(worker, `SELECT ${counts.join(', ')}`);
  const everywhere = await d1Rows(
    worker,
    `SELECT ${SHARDED.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')},
       (SELECT json_group_object(type, n) FROM
         (SELECT type, COUNT(*) AS n FROM audit_events GROUP BY type)) AS audit`,
    { on: 'all' },
  );
  const snapshot = { ...tables };
  for (const { audit, ...rows } of everywhere) {
    for (const [name, n] of Object.entries(rows)) snapshot[name] = (snapshot[name] ?? 0) + n;
    for (const [type, n] of Object.entries(JSON.parse(audit ?? '{}'))) {
      snapshot[`audit:${type}`] = (snapshot[`audit:${type}`] ?? 0) + n;
    }
  }
  return snapshot;
}

/** Fails unless `after` equals `before` but for `changes` ({ name: rows added }). */
export function expectWritten(before, after, changes = {}) {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  const diff = {};
  for (const name of names) {
    const added = (after[name] ?? 0) - (before[name] ?? 0);
    if (added !== 0) diff[name] = added;
  }
  assert.deepEqual(diff, changes, 'rows written (table: rows added)');
  return Object.keys(diff).length
    ? Object.entries(diff)
        .map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`)
        .join(', ')
    : 'nothing written';
}
