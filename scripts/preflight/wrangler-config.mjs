// Reads wrangler.toml for one environment the way wrangler resolves it: `vars` and the D1 and KV
// bindings are not inherited from the top level (each environment repeats them); `triggers`,
// `limits` and `observability` are (wrangler's `inheritable()`: the environment's value, else
// the top level's).
import { readFileSync } from 'node:fs';
import { parse } from 'smol-toml';

export function readWranglerEnv(configPath, envName) {
  const top = parse(readFileSync(configPath, 'utf8'));
  const env = top.env?.[envName];
  if (!env) return { found: false };
  const inherit = (key) => env[key] ?? top[key];
  return {
    found: true,
    name: env.name ?? top.name,
    accountId: env.account_id ?? top.account_id,
    vars: env.vars ?? {},
    d1: env.d1_databases ?? [],
    kv: env.kv_namespaces ?? [],
    crons: inherit('triggers')?.crons ?? [],
    limits: inherit('limits'),
    observability: inherit('observability'),
  };
}
