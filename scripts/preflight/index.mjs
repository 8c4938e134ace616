// What test/node/preflight.test.ts (and anyone scripting a deploy) uses; types in index.d.mts.
export { preflight } from './run.mjs';
export { SECRETS, requiredSecrets } from './secrets.mjs';
export { registrableDomain, sameSite } from './site.mjs';
export { parseMigrationsList, parseSecretList, pendingMigrations } from './remote.mjs';
export { loadConfigProblems } from './worker-config.mjs';
export { MIN_CPU_MS } from './rules.mjs';
