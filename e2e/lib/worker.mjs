// Starting and stopping the auth worker (through `npm run dev`, i.e. scripts/dev.mjs) and the
// downstream example worker, each on 127.0.0.1 with fresh local state in a temp directory.
import { join } from 'node:path';
import {
  freePort,
  makeTempDir,
  portInUse,
  removeTempDir,
  root,
  startProcess,
  waitFor,
} from './harness.mjs';

const offlineEnv = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  // No colours or spinners in the logs.
  NO_COLOR: '1',
  FORCE_COLOR: '0',
};

const wranglerBin = join(root, 'node_modules/wrangler/bin/wrangler.js');

async function startWrangler({ name, port, args, vars, ready, startTimeoutMs = 90_000 }) {
  port ??= await freePort();
  // A restart on the same port must wait until the previous server let go of it.
  await waitFor(`port ${port} to be free`, async () => !(await portInUse(port)), {
    timeoutMs: 15_000,
  });
  const inspectorPort = await freePort();
  const persistTo = makeTempDir(`edge-auth-e2e-${name}-`);
  const varArgs = Object.entries(vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]);
  const proc = startProcess(
    name,
    process.execPath,
    [
      ...args,
      '--port',
      String(port),
      '--ip',
      '127.0.0.1',
      '--inspector-port',
      String(inspectorPort),
      '--inspector-ip',
      '127.0.0.1',
      '--persist-to',
      persistTo,
      '--show-interactive-dev-session=false',
      ...varArgs,
    ],
    { env: { ...process.env, ...offlineEnv, CI: 'true' } },
  );
  const url = `http://127.0.0.1:${port}`;
  const handle = {
    name,
    url,
    port,
    pid: proc.pid,
    logFile: proc.logFile,
    persistTo,
    output: proc.output,
    async stop() {
      await proc.stop();
      removeTempDir(persistTo);
    },
  };
  try {
    let exited = false;
    proc.exited.then(() => (exited = true));
    await waitFor(
      `${name} at ${url}${ready}`,
      async () => {
        if (exited) throw new Error(`${name} exited early; see ${proc.logFile}`);
        const res = await fetch(url + ready, { signal: AbortSignal.timeout(3_000) });
        const body = await res.text();
        return res.status === 200 && body;
      },
      { timeoutMs: startTimeoutMs, intervalMs: 250 },
    );
  } catch (err) {
    await handle.stop();
    err.message += `\n--- last lines of ${proc.logFile} ---\n${tail(proc.output(), 30)}`;
    throw err;
  }
  return handle;
}

/**
 * `npm run dev -- --port P --persist-to <fresh> --var ...`: migrations applied, .dev.vars created
 * if missing, then `wrangler dev`. Resolves once `/health/ready` answers 200.
 */
export function startAuthWorker({ name = 'auth', port, vars, devArgs = [] } = {}) {
  return startWrangler({
    name,
    port,
    args: [join(root, 'scripts/dev.mjs'), ...devArgs],
    vars,
    ready: '/health/ready',
  });
}

/** The downstream example (examples/downstream-worker) under `wrangler dev`. */
export function startExampleWorker({ name = 'downstream', port, vars } = {}) {
  return startWrangler({
    name,
    port,
    args: [wranglerBin, 'dev', '--config', join(root, 'examples/downstream-worker/wrangler.toml')],
    vars,
    ready: '/health',
  });
}

export function tail(text, lines) {
  return text.split('\n').slice(-lines).join('\n');
}

/**
 * Counts the JWKS requests the auth worker has served so far, from wrangler's request log
 * (`[wrangler:info] GET /.well-known/jwks.json 200 OK`). The log trails the responses by a few
 * milliseconds, so it waits a moment first.
 */
export const jwksFetches = (worker, settleMs) =>
  requestsSeen(worker, /GET \/\.well-known\/jwks\.json /g, settleMs);

/** Requests for the discovery document, counted the same way. */
export const discoveryFetches = (worker, settleMs) =>
  requestsSeen(worker, /GET \/\.well-known\/openid-configuration /g, settleMs);

/** Requests matching `pattern` (global) in wrangler's request log so far. */
export async function requestsSeen(worker, pattern, settleMs = 400) {
  await new Promise((r) => setTimeout(r, settleMs));
  return worker.output().match(pattern)?.length ?? 0;
}
