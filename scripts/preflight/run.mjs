// preflight: everything checked before a deploy, as problems (one line each), the names of the
// checks that passed, and the checks skipped (and why).
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { migrationProblems } from './migrations.mjs';
import { hasCredentials, missingSecrets, pendingMigrations } from './remote.mjs';
import { configProblems } from './rules.mjs';
import { requiredSecrets } from './secrets.mjs';
import { workerConfigProblems } from './worker-config.mjs';
import { readWranglerEnv } from './wrangler-config.mjs';

/**
 * `remote`: run the account checks even without an API token (wrangler then uses the login of
 * `wrangler login`). `pendingMigrationsOk`: pending remote migrations become notes, not
 * problems (the deploy workflow applies them in its next step).
 */
export async function preflight({
  root,
  envName,
  configPath = 'wrangler.toml',
  env = {},
  remote: forceRemote = false,
  pendingMigrationsOk = false,
}) {
  const problems = [];
  const passed = [];
  const skipped = [];
  const notes = [];
  const step = (name, found) => {
    if (found.length) problems.push(...found);
    else passed.push(name);
  };

  const config = isAbsolute(configPath) ? configPath : join(root, configPath);
  if (!existsSync(config))
    return { problems: [`${configPath} does not exist`], passed, skipped, notes };
  let resolved;
  try {
    resolved = readWranglerEnv(config, envName);
  } catch (err) {
    const why = String(err.message).split('\n')[0];
    return { problems: [`${configPath} is not valid TOML: ${why}`], passed, skipped, notes };
  }
  if (!resolved.found) {
    return { problems: [`${configPath} has no [env.${envName}]`], passed, skipped, notes };
  }

  const rules = configProblems(resolved, envName);
  step(
    'wrangler.toml',
    rules.map((p) => p.text),
  );
  const reported = new Set(rules.flatMap((p) => p.vars));
  const schema = await workerConfigProblems(root, resolved.vars);
  step(
    'src/config.ts accepts the vars',
    schema
      .filter((p) => !reported.has(p.split(/[ .]/)[0]))
      .map((p) => `vars: the worker would refuse its configuration: ${p}`),
  );

  const db = resolved.d1.find((d) => d.binding === 'DB');
  // Relative to the config file, as wrangler reads it. Without a DB binding (reported above)
  // there is no migrations folder to speak of.
  if (db) {
    const migrationsDir = db.migrations_dir ?? 'migrations';
    step(
      'migrations',
      await migrationProblems(root, resolve(dirname(config), migrationsDir), migrationsDir),
    );
  }

  const remote = ['secrets exist', 'remote D1 migrations applied'];
  if (!forceRemote && !hasCredentials(env, resolved.accountId)) {
    skipped.push(
      ...remote.map(
        (name) =>
          `${name} (offline: no CLOUDFLARE_API_TOKEN with CLOUDFLARE_ACCOUNT_ID; or pass --remote)`,
      ),
    );
  } else {
    try {
      const missing = await missingSecrets(root, {
        envName,
        configPath: config,
        required: requiredSecrets(resolved.vars),
        env,
      });
      step(
        remote[0],
        missing.map(
          (name) => `secret ${name} is not set: wrangler secret put ${name} --env ${envName}`,
        ),
      );
    } catch (err) {
      problems.push(`secrets: wrangler secret list failed: ${firstLine(err)}`);
    }
    try {
      const pending = await pendingMigrations(root, { envName, configPath: config, env });
      if (pendingMigrationsOk) {
        notes.push(...pending.map((name) => `remote D1: migration ${name} is pending`));
        pending.length = 0;
      }
      step(
        remote[1],
        pending.map(
          (name) => `remote D1: migration ${name} is not applied: npm run db:migrate:remote`,
        ),
      );
    } catch (err) {
      problems.push(`remote D1: wrangler d1 migrations list failed: ${firstLine(err)}`);
    }
  }
  return { problems, passed, skipped, notes };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** wrangler's error, without its colours, banner and "✘ [ERROR]" prefix. */
const firstLine = (err) =>
  String(err.stderr || err.message)
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.replace(/^✘\s*\[ERROR\]\s*/, '').trim())
    .find((l) => l && !/^[⛅─-]/.test(l)) ?? 'unknown error';
