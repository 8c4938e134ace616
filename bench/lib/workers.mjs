// The three `wrangler dev` processes of a run, each on its own snapshot and free ports: the
// worker, the same worker without its access log (LOG_LEVEL=warn, one row) and bench/micro/.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, generateSigningKey } from '../../scripts/lib/keys.mjs';
import { log } from './log.mjs';
import { freePort, startWrangler, waitReady } from './processes.mjs';
import { LOG_LEVEL, MICRO_CONFIG } from './settings.mjs';
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
 * Starts the three workers, the main one on `state` (migrated), and waits until each answers.
 * Resolves their base URLs and the milliseconds the main worker took to answer its first request.
 */
export async function startWorkers(envFile, state) {
  const ports = await Promise.all(Array.from({ length: 6 }, freePort));
  const base = `http://127.0.0.1:${ports[0]}`;
  const quietBase = `http://127.0.0.1:${ports[2]}`;
  const microBase = `http://127.0.0.1:${ports[4]}`;
  const dev = (port, inspector, persist, ...more) => [
    'dev',
    ...more,
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-ip',
    '127.0.0.1',
    '--inspector-port',
    String(inspector),
    '--log-level=warn',
    '--show-interactive-dev-session=false',
    '--persist-to',
    persist,
    '--env-file',
    envFile,
  ];
  const workerVars = (origin) => [
    '--var',
    `ISSUER:${origin}`,
    ...(LOG_LEVEL ? ['--var', `LOG_LEVEL:${LOG_LEVEL}`] : []),
    ...LIMITED.flatMap((name) => ['--var', `RATE_LIMIT_${name}:${GENEROUS}`]),
  ];
  const shown = (args) => `wrangler ${args.join(' ').replaceAll(tmp, '<tmp>')}`;

  const workerArgs = [...dev(ports[0], ports[1], state), ...workerVars(base)];
  log(`worker: ${shown(workerArgs)}`);
  const worker = startWrangler('worker', workerArgs);
  const readyMs = await waitReady(worker, `${base}/health/live`);
  log(`worker answered its first request ${readyMs.toFixed(0)} ms after spawn`);
  const quietArgs = [
    ...dev(ports[2], ports[3], join(tmp, 'state-quiet')),
    ...workerVars(quietBase),
    '--var',
    'LOG_LEVEL:warn',
  ];
  const microArgs = dev(ports[4], ports[5], join(tmp, 'micro-state'), '-c', MICRO_CONFIG);
  log(`micro: ${shown(microArgs)}`);
  const quiet = startWrangler('worker-quiet', quietArgs, snapshot(join(tmp, 'tree-quiet'), TREE));
  const micro = startWrangler('micro', microArgs, snapshot(join(tmp, 'tree-micro'), TREE));
  await Promise.all([
    waitReady(quiet, `${quietBase}/health/live`),
    waitReady(micro, `${microBase}/noop`),
  ]);
  return { base, quietBase, microBase, readyMs };
}
