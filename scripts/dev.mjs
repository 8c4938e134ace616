#!/usr/bin/env node
// `npm run dev [-- wrangler dev options]`: the worker on http://127.0.0.1:8787 with local D1 and
// KV, fully offline. On every start it
//   1. creates `.dev.vars` from `.dev.vars.example` if missing, and fills in a development
//      signing key, pepper and sealing keys where they are empty (an existing value is never overwritten);
//   2. applies `migrations/` to the local D1 (the same state directory wrangler dev uses), and
//      `migrations-sessions/` to each session shard's (docs/sharding.md);
//   3. starts `wrangler dev`, passing through any extra options (`--port 9000`, `--persist-to`),
//      and restarts it when `.dev.vars` changes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { generateSecret, generateSigningKey, offlineEnv } from './lib/keys.mjs';

const args = process.argv.slice(2);
const env = { ...process.env, ...offlineEnv };
const wrangler = new URL('../node_modules/wrangler/bin/wrangler.js', import.meta.url).pathname;

function option(name) {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i === -1) return undefined;
  return args[i].includes('=') ? args[i].split('=').slice(1).join('=') : args[i + 1];
}

async function ensureDevVars(path = '.dev.vars') {
  const created = !existsSync(path);
  const original = created ? '' : readFileSync(path, 'utf8');
  let text = created ? readFileSync('.dev.vars.example', 'utf8') : original;
  const fill = async (name, make) => {
    const line = new RegExp(`^${name}=(.*)$`, 'm');
    const current = text.match(line);
    if (current && current[1].trim() !== '') return;
    const value = await make();
    text = current
      ? text.replace(line, `${name}=${value}`)
      : `${text.trimEnd()}\n${name}=${value}\n`;
    console.log(`[dev] created a development ${name} in ${path}`);
  };
  // Settings added to the example since this .dev.vars was made are appended, never changed.
  for (const [, name, value] of readFileSync('.dev.vars.example', 'utf8').matchAll(
    /^([A-Z_][A-Z0-9_]*)=(.+)$/gm,
  )) {
    if (!new RegExp(`^${name}=`, 'm').test(text)) {
      text = `${text.trimEnd()}\n${name}=${value}\n`;
      console.log(`[dev] added ${name} from .dev.vars.example to ${path}`);
    }
  }
  await fill('JWT_SIGNING_KEYS', async () =>
    JSON.stringify({ keys: [await generateSigningKey()] }),
  );
  await fill('PASSWORD_PEPPER', generateSecret);
  await fill('TOTP_ENCRYPTION_KEY', () => `1:${generateSecret()}`);
  await fill('KEY_ENCRYPTION_KEY', () => `1:${generateSecret()}`);
  // Written only when something changed: wrangler dev reloads on any write to .dev.vars, which
  // would restart every other running dev server mid-request.
  if (created || text !== original) writeFileSync(path, text, { mode: 0o600 });
  if (created) console.log(`[dev] wrote ${path} (git-ignored; never commit it)`);
}

await ensureDevVars();

const persist = option('--persist-to');
// The main database, then every session shard (docs/sharding.md), each with its own folder of
// migrations (wrangler.toml's migrations_dir).
for (const binding of ['DB', ...sessionShardBindings()]) {
  const migrate = spawnSync(
    process.execPath,
    [
      wrangler,
      'd1',
      'migrations',
      'apply',
      binding,
      '--local',
      ...(persist ? ['--persist-to', persist] : []),
    ],
    // CI=true makes wrangler apply without asking for confirmation.
    { stdio: 'inherit', env: { ...env, CI: 'true' } },
  );
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);
}

/** The SESSIONS_n bindings of wrangler.toml's top level. */
function sessionShardBindings() {
  const top = readFileSync('wrangler.toml', 'utf8').split(/^\[env\./m)[0];
  return [...top.matchAll(/^binding = "(SESSIONS_[0-9]+)"/gm)].map((m) => m[1]);
}

const port = option('--port') ?? '8787';

/** wrangler dev's options: ours, then the caller's (which win). */
function wranglerArgs(devVars) {
  const extra = [];
  if (!option('--port')) extra.push('--port', port);
  if (!option('--ip')) extra.push('--ip', '127.0.0.1');
  // The issuer (and so the discovery document's jwks_uri) follows the port actually served,
  // unless the caller or .dev.vars sets one.
  if (!args.some((a) => a.startsWith('ISSUER:')) && !/^ISSUER=/m.test(devVars)) {
    extra.push('--var', `ISSUER:http://127.0.0.1:${port}`);
  }
  return [wrangler, 'dev', ...extra, ...args];
}

let devVars = readFileSync('.dev.vars', 'utf8');
let child;
let restarting = false;
function start() {
  child = spawn(process.execPath, wranglerArgs(devVars), { stdio: 'inherit', env });
  child.on('exit', (code, signal) => {
    if (!restarting) process.exit(code ?? (signal ? 1 : 0));
    restarting = false;
    start();
  });
}
start();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));

// wrangler dev reloads on a wrangler.toml change but not on a .dev.vars change
// (cloudflare/workers-sdk#4894): restart it when the file's content changes, so an edited
// setting takes effect on the next request instead of silently later. Watched through its
// directory, because editors often replace the file rather than write to it.
let pending;
watch('.', (_event, name) => {
  if (name !== '.dev.vars') return;
  clearTimeout(pending);
  pending = setTimeout(() => {
    const now = existsSync('.dev.vars') ? readFileSync('.dev.vars', 'utf8') : devVars;
    if (now === devVars) return;
    devVars = now;
    console.log('[dev] .dev.vars changed: restarting wrangler dev');
    restarting = true;
    child.kill('SIGTERM');
  }, 300);
});
