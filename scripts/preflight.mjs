// `npm run preflight -- --env production [--config wrangler.toml] [--remote]
// [--pending-migrations-ok]`: checks a deploy before it happens (docs/deploy.md). Exit 1 with
// one line per problem; exit 0 with a summary.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { preflight } from './preflight/run.mjs';

const { values } = parseArgs({
  options: {
    env: { type: 'string' },
    config: { type: 'string', default: 'wrangler.toml' },
    remote: { type: 'boolean', default: false },
    'pending-migrations-ok': { type: 'boolean', default: false },
  },
});
if (!values.env) {
  console.error(
    'usage: npm run preflight -- --env <production|staging> [--config wrangler.toml] [--remote]',
  );
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const { problems, passed, skipped, notes } = await preflight({
  root,
  envName: values.env,
  configPath: values.config,
  env: process.env,
  remote: values.remote,
  pendingMigrationsOk: values['pending-migrations-ok'],
});
for (const line of skipped) console.log(`skipped: ${line}`);
for (const line of notes) console.log(`note: ${line}`);
for (const line of problems) console.error(`problem: ${line}`);
if (problems.length) {
  console.error(
    `preflight --env ${values.env}: ${problems.length} problem(s); not ready to deploy`,
  );
  process.exit(1);
}
console.log(
  `preflight --env ${values.env}: ready (${passed.length} checks passed: ${passed.join(', ')}${skipped.length ? `; ${skipped.length} skipped` : ''})`,
);
