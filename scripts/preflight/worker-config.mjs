// Runs the worker's own config schema (src/config.ts) on an environment's vars, so preflight and
// the worker can never disagree about what is valid: esbuild bundles the TypeScript module (zod
// included) into memory and Node imports it from a data: URL. Secrets cannot be read back, so
// each required one gets a stand-in the schema accepts (secrets.mjs); problems about a secret
// itself are left to the secrets check.
import { build } from 'esbuild';
import { join } from 'node:path';
import { SECRETS } from './secrets.mjs';

const loaded = new Map();

async function loadConfigModule(root) {
  let mod = loaded.get(root);
  if (!mod) {
    mod = build({
      entryPoints: [join(root, 'src/config.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      logLevel: 'silent',
    }).then(({ outputFiles }) => {
      const code = Buffer.from(outputFiles[0].contents).toString('base64');
      return import(`data:text/javascript;base64,${code}`);
    });
    loaded.set(root, mod);
  }
  return mod;
}

/** What loadConfig (src/config.ts) says about an env object exactly as given. */
export async function loadConfigProblems(root, env) {
  const { loadConfig, ConfigError } = await loadConfigModule(root);
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems;
  }
}

/** The problems src/config.ts's loadConfig reports for these vars, as the worker words them. */
export async function workerConfigProblems(root, vars) {
  const env = { ...vars };
  const secretNames = new Set(SECRETS.map((s) => s.name));
  for (const secret of SECRETS) {
    if (secret.required(vars) && env[secret.name] === undefined) {
      env[secret.name] = await secret.standIn(vars);
    }
  }
  const problems = await loadConfigProblems(root, env);
  return problems.filter((p) => !secretNames.has(p.split(/[ .]/)[0]));
}
