#!/usr/bin/env node
// Makes an existing user an admin: the bootstrap for the first admin (there is no default admin
// and no default password).
//
//   npm run admin:grant -- ana@example.com              local D1 (what `npm run dev` uses)
//   npm run admin:grant -- ana@example.com --remote     the deployed D1 (env.production)
//   extra options go to `wrangler d1 execute` (e.g. --persist-to DIR)
//
// `wrangler d1 execute` has no bound parameters, so the email reaches SQL only as a hex blob
// literal (X'...', cast to text): whatever the address holds, the SQL text contains nothing but
// hex digits where it goes. The change and its audit row run as one command.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { offlineEnv } from './lib/keys.mjs';

const [email, ...rest] = process.argv.slice(2);
if (!email || email.startsWith('-')) {
  console.error('usage: npm run admin:grant -- <email> [--remote] [wrangler d1 execute options]');
  process.exit(2);
}

// The worker's canonical form (src/policy/email.ts): trimmed, NFC, lower-cased.
const canonical = email.trim().normalize('NFC').toLowerCase().normalize('NFC');
const hex = (text) => Buffer.from(text, 'utf8').toString('hex').toUpperCase();
const literal = (text) => `CAST(X'${hex(text)}' AS TEXT)`;

// A UUIDv7 for the audit row, as the worker makes them.
const id = (() => {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
})();
const now = Date.now();

const sql = [
  `UPDATE users SET role = 'admin', updated_at = ${now} WHERE email = ${literal(canonical)} AND role != 'admin';`,
  `INSERT INTO audit_events (id, at, type, user_id, ip, user_agent, request_id, detail)
   SELECT '${id}', ${now}, 'user.role_changed', id, NULL, 'admin:grant', NULL,
          '{"by":"admin:grant","from":"user","to":"admin"}'
   FROM users WHERE email = ${literal(canonical)} AND changes() = 1;`,
  `SELECT id, email, role FROM users WHERE email = ${literal(canonical)};`,
].join('\n');

const remote = rest.includes('--remote');
const wrangler = new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url).pathname;
const args = ['d1', 'execute', 'DB', remote ? '--remote' : '--local', '--json', '--command', sql];
if (remote) args.push('--env', 'production');
args.push(...rest.filter((a) => a !== '--remote'));

const run = spawnSync(process.execPath, [wrangler, ...args], {
  env: remote ? process.env : { ...process.env, ...offlineEnv },
  encoding: 'utf8',
});
if (run.status !== 0) {
  console.error(run.stderr || run.stdout);
  process.exit(run.status ?? 1);
}
const results = JSON.parse(run.stdout);
const user = results.at(-1)?.results?.[0];
if (!user) {
  console.error(`No user with the email ${canonical}. Register first, then grant.`);
  process.exit(1);
}
console.log(
  `${user.email} (${user.id}) is now ${user.role} in the ${remote ? 'remote' : 'local'} database.`,
);
