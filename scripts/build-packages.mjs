#!/usr/bin/env node
// Builds packages/* (ESM and declarations into each dist/, with tsc) so that a fresh clone's
// `npm install` leaves them importable by the examples, the e2e suite and the bench. Runs on every
// `npm install` (postinstall) and as `npm run build:packages`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const tsc = new URL('node_modules/typescript/bin/tsc', root).pathname;
if (!existsSync(tsc)) {
  // `npm install --omit=dev`: nothing to build with, and nothing here needs the packages.
  console.log('build-packages: typescript is not installed; packages/* not built');
  process.exit(0);
}
const packages = new URL('packages/', root);
for (const name of readdirSync(packages)) {
  const dir = new URL(`${name}/`, packages);
  if (!existsSync(new URL('tsconfig.build.json', dir))) continue;
  // A file removed from src/ must not linger in dist/ (and in `npm pack`).
  rmSync(new URL('dist', dir), { recursive: true, force: true });
  const run = spawnSync(
    process.execPath,
    [tsc, '-p', new URL('tsconfig.build.json', dir).pathname],
    {
      stdio: 'inherit',
    },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}
