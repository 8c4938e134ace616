// The checks that need the Cloudflare account: the Worker's secrets exist, and the remote D1 has
// every local migration. Both ask wrangler itself and read its output.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
// This repo's wrangler (a devDependency), whatever folder the config is in.
const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve('wrangler/package.json')),
  'bin/wrangler.js',
);
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * Credentials wrangler can use without a browser: an API token (CI) and the account, from
 * CLOUDFLARE_ACCOUNT_ID or wrangler.toml's account_id.
 */
export const hasCredentials = (env, accountId) =>
  Boolean(env.CLOUDFLARE_API_TOKEN && (env.CLOUDFLARE_ACCOUNT_ID || accountId));

/** `wrangler secret list` prints JSON by default: `[{"name": "X", "type": "secret_text"}]`. */
export function parseSecretList(stdout) {
  const start = stdout.indexOf('[');
  const list = JSON.parse(stdout.slice(start));
  if (!Array.isArray(list)) throw new Error('wrangler secret list did not print a JSON array');
  return list.map((s) => s.name);
}

/**
 * `wrangler d1 migrations list` prints "No migrations to apply!" or "Migrations to be applied:"
 * and a table with one file name per row. Returns the pending names.
 */
export function parseMigrationsList(stdout) {
  const text = stdout.replace(ANSI, '');
  if (/No migrations to apply/.test(text)) return [];
  const at = text.indexOf('Migrations to be applied');
  if (at < 0) throw new Error('wrangler d1 migrations list printed neither known answer');
  return [...text.slice(at).matchAll(/\b(\d{4}_[A-Za-z0-9_-]+\.sql)\b/g)].map((m) => m[1]);
}

async function wrangler(root, args, env) {
  const { stdout } = await run(process.execPath, [WRANGLER, ...args], {
    cwd: root,
    env: { ...env, WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_COLOR: '1' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export async function missingSecrets(root, { envName, configPath, required, env }) {
  const stdout = await wrangler(
    root,
    ['secret', 'list', '--env', envName, '--config', configPath, '--format', 'json'],
    env,
  );
  const present = new Set(parseSecretList(stdout));
  return required.filter((name) => !present.has(name));
}

/** `where` is `--remote` in a deploy; the tests use `--local` against wrangler's local D1. */
export async function pendingMigrations(root, { envName, configPath, env, where = '--remote' }) {
  const args = ['d1', 'migrations', 'list', 'DB', where, '--config', configPath];
  if (envName) args.push('--env', envName);
  return parseMigrationsList(await wrangler(root, args, env));
}
