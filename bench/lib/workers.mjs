// The workers of a run, each on its own snapshot and free port: the worker, the same worker
// without its access log (LOG_LEVEL=warn, one row), bench/micro/ and bench/bare/ (the bare-runtime
// row, served like the worker: `bareConfig`). Each is served on workerd
// through Miniflare by serve.mjs (BENCH_RUNTIME=workerd, the default) or by `wrangler dev`
// (BENCH_RUNTIME=wrangler-dev); bench/README.md "Runtime" says why the default is the former.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { generateSecret, generateSigningKey } from '../../scripts/lib/keys.mjs';
import { log } from './log.mjs';
import { freePort, runWrangler, startNode, startWrangler, waitReady } from './processes.mjs';
import { BARE_CONFIG, LOG_LEVEL, MICRO_CONFIG, ROOT, RUNTIME } from './settings.mjs';
import { TREE, snapshot, tmp } from './workspace.mjs';

// The rate-limit format allows at most six digits: far above what one client IP sends here.
const GENEROUS = '999999/60';
const LIMITED = ['REGISTER', 'LOGIN', 'REFRESH', 'FORGOT_PASSWORD', 'EMAIL_RESEND', 'MFA_VERIFY'];

/** Fresh secrets for every worker of the run, in a file for `--env-file`; its path. */
export async function writeEnvFile() {
  const key = await generateSigningKey();
  const envFile = join(tmp, 'bench.env');
  writeFileSync(
    envFile,
    [
      'ENVIRONMENT=development',
      'MAIL_TRANSPORT=dev-mailbox',
      `JWT_SIGNING_KEYS='${JSON.stringify({ keys: [key] })}'`,
      `PASSWORD_PEPPER='${generateSecret()}'`,
      `TOTP_ENCRYPTION_KEY='1:${generateSecret()}'`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return envFile;
}

/**
 * One worker on workerd through Miniflare: wrangler builds the bundle `wrangler deploy` would
 * upload (the top-level environment, as `wrangler dev` builds it) and serve.mjs serves it with the
 * bindings wrangler derives from `config`, state under `persist`.
 */
export function serveDirect(name, { tree, config, envFile, persist, port, vars }) {
  const bundle = join(tmp, `bundle-${name}`);
  runWrangler(['deploy', '--dry-run', '-c', config, '--outdir', bundle], `${name}: build`, tree);
  const options = join(tmp, `${name}.json`);
  writeFileSync(
    options,
    JSON.stringify({ config: join(tree, config), bundle, envFile, persist, port, vars }),
  );
  return startNode(name, [join(ROOT, 'bench/lib/serve.mjs'), options], tree);
}

/** One worker on `wrangler dev`, its inspector on a free port of its own. */
async function serveWithWranglerDev(name, { tree, config, envFile, persist, port, vars }) {
  const args = [
    'dev',
    '-c',
    config,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-ip',
    '127.0.0.1',
    '--inspector-port',
    String(await freePort()),
    '--log-level=warn',
    '--show-interactive-dev-session=false',
    '--persist-to',
    persist,
    '--env-file',
    envFile,
    ...Object.entries(vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ];
  log(`${name}: wrangler ${args.join(' ').replaceAll(tmp, '<tmp>')}`);
  return startWrangler(name, args, tree);
}

/**
 * The bare worker's config in `tree`, served exactly like the worker: bench/bare/wrangler.toml
 * with the top-level wrangler.toml's compatibility date and flags and its `[assets]` block (the
 * same directory and `run_worker_first`), so both go through the same asset layer, or neither.
 * Returns its path relative to `tree`.
 */
export function bareConfig(tree) {
  const ours = parse(readFileSync(join(tree, 'wrangler.toml'), 'utf8'));
  const bare = parse(readFileSync(join(tree, BARE_CONFIG), 'utf8'));
  for (const key of ['compatibility_date', 'compatibility_flags']) {
    if (ours[key] !== undefined) bare[key] = ours[key];
  }
  if (ours.assets) {
    const directory = resolve(tree, ours.assets.directory);
    bare.assets = {
      ...ours.assets,
      directory: relative(dirname(join(tree, BARE_CONFIG)), directory),
    };
  }
  const config = join(dirname(BARE_CONFIG), 'wrangler.served.toml');
  writeFileSync(join(tree, config), stringify(bare));
  return config;
}

const serve = RUNTIME === 'wrangler-dev' ? serveWithWranglerDev : serveDirect;

/**
 * Starts the workers, the main one on `state` (migrated), and waits until each answers.
 * Resolves their base URLs and the milliseconds the main worker took to answer its first request.
 */
export async function startWorkers(envFile, state) {
  const [port, quietPort, microPort, barePort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const base = `http://127.0.0.1:${port}`;
  const quietBase = `http://127.0.0.1:${quietPort}`;
  const microBase = `http://127.0.0.1:${microPort}`;
  const bareBase = `http://127.0.0.1:${barePort}`;
  const workerVars = (origin) => ({
    ISSUER: origin,
    ...(LOG_LEVEL ? { LOG_LEVEL } : {}),
    ...Object.fromEntries(LIMITED.map((name) => [`RATE_LIMIT_${name}`, GENEROUS])),
  });
  log(`runtime: ${RUNTIME}`);
  const worker = await serve('worker', {
    tree: TREE,
    config: 'wrangler.toml',
    envFile,
    persist: state,
    port,
    vars: workerVars(base),
  });
  const readyMs = await waitReady(worker, `${base}/health/live`);
  log(`worker answered its first request ${readyMs.toFixed(0)} ms after spawn`);
  const quiet = await serve('worker-quiet', {
    tree: snapshot(join(tmp, 'tree-quiet'), TREE),
    config: 'wrangler.toml',
    envFile,
    persist: join(tmp, 'state-quiet'),
    port: quietPort,
    vars: { ...workerVars(quietBase), LOG_LEVEL: 'warn' },
  });
  const micro = await serve('micro', {
    tree: snapshot(join(tmp, 'tree-micro'), TREE),
    config: MICRO_CONFIG,
    envFile,
    persist: join(tmp, 'micro-state'),
    port: microPort,
    vars: {},
  });
  const bareTree = snapshot(join(tmp, 'tree-bare'), TREE);
  const bare = await serve('bare', {
    tree: bareTree,
    config: bareConfig(bareTree),
    envFile,
    persist: join(tmp, 'bare-state'),
    port: barePort,
    vars: {},
  });
  await Promise.all([
    waitReady(quiet, `${quietBase}/health/live`),
    waitReady(micro, `${microBase}/noop`),
    waitReady(bare, `${bareBase}/health/live`),
  ]);
  return { base, quietBase, microBase, bareBase, readyMs };
}
