#!/usr/bin/env node
// Brings existing users in from a JSONL file, one user a line, through POST /admin/users/import
// (README, "Bringing existing users in").
//
//   npm run users:import -- users.jsonl                       the local dev worker (npm run dev)
//   npm run users:import -- users.jsonl --remote              the deployed worker: the ISSUER of
//                                                             [env.production.vars] in wrangler.toml
//   npm run users:import -- users.jsonl --url https://auth.example.com
//
// The admin's access token comes from --token or, better (a command line is visible to other
// users of the machine), the EDGE_AUTH_TOKEN environment variable. Batches of at most 1,000 users
// (--batch N) and 900 KiB. After each batch the state file (<file>.import-state.json) records the
// last line done and a digest of the lines before it: run the same command again after an
// interruption and it carries on from there (it refuses if those lines changed). A batch that was
// sent but not recorded is simply sent again: the worker skips existing emails as `exists`.
// Every skipped user is appended to <file>.skipped.jsonl; the summary counts them by reason.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

const USAGE =
  'usage: npm run users:import -- <file.jsonl> [--remote | --url <worker url>] [--token <admin token>] [--batch <n>]';
const MAX_USERS = 1000;
const MAX_BYTES = 900 * 1024;

function options(argv) {
  const opts = {
    file: undefined,
    remote: false,
    url: undefined,
    token: undefined,
    batch: MAX_USERS,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === '--remote') opts.remote = true;
    else if (arg === '--url') opts.url = value();
    else if (arg === '--token') opts.token = value();
    else if (arg === '--batch') opts.batch = Number(value());
    else if (arg.startsWith('-') || opts.file) fail(`unexpected argument ${arg}`);
    else opts.file = arg;
  }
  if (!opts.file) fail('no file given');
  if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > MAX_USERS) {
    fail(`--batch must be 1..${MAX_USERS}`);
  }
  opts.token ??= process.env.EDGE_AUTH_TOKEN;
  if (!opts.token) fail('no admin access token: set EDGE_AUTH_TOKEN (or pass --token)');
  opts.url = (opts.url ?? (opts.remote ? productionIssuer() : 'http://127.0.0.1:8787')).replace(
    /\/+$/,
    '',
  );
  return opts;
}

function fail(message) {
  console.error(`users:import: ${message}\n${USAGE}`);
  process.exit(2);
}

/** The deployed worker's own URL: ISSUER in [env.production.vars] of wrangler.toml. */
function productionIssuer() {
  const toml = readFileSync(new URL('../wrangler.toml', import.meta.url), 'utf8');
  const section = toml.split(/^\[/m).find((s) => s.startsWith('env.production.vars]'));
  const issuer = section && /^ISSUER\s*=\s*"([^"]+)"/m.exec(section)?.[1];
  if (!issuer) fail('no ISSUER in [env.production.vars] of wrangler.toml: pass --url');
  return issuer;
}

function loadState(path) {
  if (!existsSync(path)) return { line: 0, digest: '', created: 0, skipped: {} };
  return JSON.parse(readFileSync(path, 'utf8'));
}

function saveState(path, state) {
  // Written whole, then renamed: an interruption leaves the old state or the new one.
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}

const progress = (() => {
  const tty = process.stdout.isTTY;
  return (done, total, state) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const skipped = Object.values(state.skipped).reduce((a, b) => a + b, 0);
    const counts = `${done}/${total} lines, ${state.created} created, ${skipped} skipped`;
    if (tty) {
      const width = 30;
      const bar = '#'.repeat(Math.round((pct / 100) * width)).padEnd(width, '.');
      process.stdout.write(`\r[${bar}] ${String(pct).padStart(3)}% ${counts}`);
    } else {
      console.log(`progress: ${pct}% ${counts}`);
    }
  };
})();

async function send(opts, users) {
  for (let attempt = 1; ; attempt++) {
    let res;
    try {
      res = await fetch(`${opts.url}/admin/users/import`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${opts.token}` },
        body: JSON.stringify({ users }),
      });
    } catch (error) {
      if (attempt < 4) {
        await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        continue;
      }
      throw new Error(`cannot reach ${opts.url}: ${error.cause?.message ?? error.message}`);
    }
    // The endpoint is idempotent, so a busy or failing worker is simply asked again.
    if ((res.status === 429 || res.status >= 500) && attempt < 4) {
      const wait = Number(res.headers.get('Retry-After')) * 1000 || 500 * 2 ** attempt;
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    const text = await res.text();
    if (res.status !== 200) {
      let problem = text;
      try {
        const p = JSON.parse(text);
        problem = `${p.code}: ${p.detail}${p.errors ? ` ${JSON.stringify(p.errors)}` : ''}`;
      } catch {}
      throw new Error(`the worker answered ${res.status} (${problem})`);
    }
    return JSON.parse(text);
  }
}

async function main() {
  const opts = options(process.argv.slice(2));
  const statePath = `${opts.file}.import-state.json`;
  const skippedPath = `${opts.file}.skipped.jsonl`;
  const lines = readFileSync(opts.file, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const state = loadState(statePath);
  const digestOf = (n) => createHash('sha256').update(lines.slice(0, n).join('\n')).digest('hex');
  if (state.line > 0) {
    if (state.line > lines.length || digestOf(state.line) !== state.digest) {
      throw new Error(
        `${opts.file} changed in its first ${state.line} lines since the last run: ` +
          `remove ${statePath} to start again`,
      );
    }
    console.log(`resuming after line ${state.line} of ${lines.length} (${statePath})`);
  }
  console.log(`importing into ${opts.url}`);
  let next = state.line;
  progress(next, lines.length, state);
  while (next < lines.length) {
    const batch = [];
    let bytes = 0;
    let end = next;
    for (; end < lines.length && batch.length < opts.batch; end++) {
      const text = lines[end].trim();
      if (text === '') continue;
      let user;
      try {
        user = JSON.parse(text);
      } catch {
        throw new Error(`line ${end + 1} is not JSON: fix it and run the same command again`);
      }
      const size = Buffer.byteLength(text);
      if (batch.length > 0 && bytes + size > MAX_BYTES) break;
      batch.push(user);
      bytes += size + 1;
    }
    if (batch.length > 0) {
      let result;
      try {
        result = await send(opts, batch);
      } catch (error) {
        throw new Error(`lines ${next + 1}..${end}: ${error.message}`);
      }
      state.created += result.created;
      for (const s of result.skipped) {
        state.skipped[s.reason] = (state.skipped[s.reason] ?? 0) + 1;
        appendFileSync(skippedPath, `${JSON.stringify(s)}\n`);
      }
    }
    next = end;
    Object.assign(state, { line: next, digest: digestOf(next) });
    saveState(statePath, state);
    progress(next, lines.length, state);
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const skipped = Object.entries(state.skipped);
  console.log(`done: ${state.created} created, ${skipped.reduce((a, [, n]) => a + n, 0)} skipped`);
  for (const [reason, n] of skipped.sort()) console.log(`  skipped ${n} ${reason}`);
  if (skipped.length > 0) console.log(`skipped users, with reasons: ${skippedPath}`);
}

main().catch((error) => {
  if (process.stdout.isTTY) process.stdout.write('\n');
  console.error(`users:import: ${error.message}`);
  process.exit(1);
});
