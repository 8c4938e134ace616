import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { existsSync, readFileSync } from 'node:fs';
import { defineConfig, defineProject } from 'vitest/config';
// A fresh signing key per test run, made exactly as `npm run keys:generate` makes one.
import { generateSecret, generateSigningKey } from './scripts/lib/keys.mjs';
import { IDP_HOSTS, identityProviderStandIn } from './test/stand-in/identity-provider.ts';
import { pythonHashes } from './test/import/python-hashes.mjs';
import { mailStandIn } from './test/stand-in/mail-provider.ts';
import { RANGE_STAND_IN_HOST, rangeStandIn } from './test/stand-in/range-api.ts';

// The pool loads a developer's `.dev.vars` too; blank its keys so tests never depend on it
// (an empty var means "unset" to src/config.ts).
const localVars = existsSync('.dev.vars')
  ? (readFileSync('.dev.vars', 'utf8').match(/^[A-Z_][A-Z0-9_]*(?==)/gm) ?? [])
  : [];

// Hashes for test/import, made by Python's bcrypt, argon2-cffi and passlib (workerd cannot run
// Python). Without them the import tests fail with how to install them; the rest still run.
const LEGACY_PASSWORD = 'pässwörd ✓ correct horse';
function importFixtures(): string {
  try {
    return JSON.stringify({ password: LEGACY_PASSWORD, hashes: pythonHashes(LEGACY_PASSWORD) });
  } catch (error) {
    return JSON.stringify({ error: String(error) });
  }
}

const workers = defineProject({
  // tsconfig.json's "paths": where the pages' JSX runtime is (src/pages/jsx), as wrangler's
  // esbuild finds it, so the tests render pages with the runtime production runs.
  resolve: { tsconfigPaths: true },
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Every outbound fetch of the worker goes to a local stand-in, never to the internet.
        outboundService: (request: Request) => {
          const host = new URL(request.url).hostname;
          if (host === RANGE_STAND_IN_HOST) return rangeStandIn(request);
          if (IDP_HOSTS.has(host)) return identityProviderStandIn(request);
          return mailStandIn(request);
        },
        bindings: {
          ...Object.fromEntries(localVars.map((name) => [name, ''])),
          ENVIRONMENT: 'test',
          MAIL_TRANSPORT: 'dev-mailbox',
          APP_URL: 'https://app.example.com',
          ALLOWED_ORIGINS: 'https://app.example.com',
          LOG_LEVEL: 'warn',
          // Tests share one client IP; the rate-limit tests set their own limits and IPs.
          RATE_LIMIT_REGISTER: '100000/60',
          RATE_LIMIT_LOGIN: '100000/60',
          RATE_LIMIT_REFRESH: '100000/60',
          RATE_LIMIT_FORGOT_PASSWORD: '100000/60',
          RATE_LIMIT_EMAIL_RESEND: '100000/60',
          RATE_LIMIT_MFA_VERIFY: '100000/60',
          JWT_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
          PASSWORD_PEPPER: 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
          TOTP_ENCRYPTION_KEY: `1:${generateSecret()}`,
          KEY_ENCRYPTION_KEY: `1:${generateSecret()}`,
          TEST_MIGRATIONS: await readD1Migrations('./migrations'),
          TEST_SHARD_MIGRATIONS: await readD1Migrations('./migrations-sessions'),
          IMPORT_FIXTURES: importFixtures(),
        },
      },
    })),
  ],
  test: {
    name: 'workers',
    include: ['test/**/*.test.ts'],
    exclude: ['test/node/**'],
    setupFiles: ['./test/setup.ts'],
    testTimeout: 30_000,
  },
});

// The project's Node scripts (admin:grant, keys), run against real local wrangler state.
const node = defineProject({
  test: {
    name: 'node',
    include: ['test/node/**/*.test.ts'],
    environment: 'node',
    // Each step starts wrangler: seconds, more on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});

// packages/client and packages/verify: their own unit tests, in Node.
const packages = defineProject({
  test: {
    name: 'packages',
    include: ['packages/*/test/**/*.test.ts'],
    environment: 'node',
    // `npm pack --dry-run` builds the package first (prepack): a few seconds of tsc.
    testTimeout: 60_000,
  },
});

// `npm test` prints what helps find a failure; a failure's diff must be on the first screen.
// Expected output is dropped: workerd's warnings about the non-ASCII header values the
// hostile-input tests send on purpose, and its notice when a test's socket closes (both written
// straight to this process's streams by the pool). VERBOSE_TESTS=1 shows everything.
const EXPECTED_RUNTIME_NOISE = [
  /^A header value for "[^"]*" contains non-ASCII characters/,
  /disconnected: WebSocket peer disconnected/,
];
if (!process.env.VERBOSE_TESTS) {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : String(chunk);
      if (EXPECTED_RUNTIME_NOISE.some((noise) => noise.test(text))) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

export default defineConfig({
  test: {
    projects: [workers, node, packages],
    // The worker's own JSON log lines (the access log, expected warnings of the tests that
    // provoke them): tests that care about a line spy on console. VERBOSE_TESTS=1 shows them.
    onConsoleLog: (log) =>
      process.env.VERBOSE_TESTS || !/^\{"level":"(debug|info|warn|error)"/.test(log)
        ? undefined
        : false,
    // `.ci/run` reads the totals from the JSON report; people read the default one.
    reporters: ['default', 'json'],
    outputFile: { json: './test-output/vitest.json' },
  },
});
