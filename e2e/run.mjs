#!/usr/bin/env node
// `npm run test:e2e`: the black-box suite. Starts the worker through `npm run dev` (scripts/dev.mjs)
// on free ports with fresh local state, waits for /health/ready, runs every phase over real HTTP,
// and stops every server it started by PID (process group), also on failure or Ctrl-C.
//
// Needs: Debian's `chromium`, `python3-jwt`, `python3-requests`, `python3-bcrypt`,
// `python3-argon2`, `python3-passlib` and `curl` (see README
// "End-to-end tests"). Output (logs, screenshots, summary) goes to test-output/e2e/. Exit code 0
// only if every check passed. `npm run test:e2e -- real-clients vite-app` runs the setup and
// then only the phases named.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, generateSigningKey } from '../scripts/lib/keys.mjs';
import {
  check,
  freePort,
  killAllNow,
  outDir,
  phase,
  root,
  runProcess,
  summary,
} from './lib/harness.mjs';
import { serveGitHub } from './lib/github-server.mjs';
import { client, expectStatus } from './lib/http.mjs';
import { servePage } from './lib/page-server.mjs';
import { startAuthWorker } from './lib/worker.mjs';
import { breached } from './phases/breached.mjs';
import { browser } from './phases/browser.mjs';
import { clientNode } from './phases/client-node.mjs';
import { clientTabs } from './phases/client.mjs';
import { downstream } from './phases/downstream.mjs';
import { example } from './phases/example.mjs';
import { federation } from './phases/federation.mjs';
import { importUsers } from './phases/import.mjs';
import { journey } from './phases/journey.mjs';
import { pages } from './phases/pages.mjs';
import { passkeys } from './phases/passkeys.mjs';
import { realClients } from './phases/real-clients.mjs';
import { keys } from './phases/keys.mjs';
import { rotation } from './phases/rotation.mjs';
import { viteApp } from './phases/vite-app.mjs';

const startedAt = Date.now();
const SUITE_LIMIT_MS = 20 * 60_000;
const PHASES = [
  'journey',
  'downstream',
  'browser',
  'example',
  'vite-app',
  'client',
  'client-node',
  'real-clients',
  'pages',
  'federation',
  'passkeys',
  'rotation',
  'keys',
  'breached',
  'import',
  'example-types',
];
const only = process.argv.slice(2);
if (only.some((key) => !PHASES.includes(key))) {
  console.error(`usage: npm run test:e2e [-- ${PHASES.join(' | ')} ...]`);
  process.exit(2);
}
const wanted = (key) => only.length === 0 || only.includes(key);

const watchdog = setTimeout(() => {
  console.error(`\n[e2e] the suite ran longer than ${SUITE_LIMIT_MS / 60_000} min: aborting`);
  killAllNow();
  process.exit(1);
}, SUITE_LIMIT_MS);
watchdog.unref();

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const AUDIENCE = 'edge-auth-e2e';
const GITHUB_CLIENT = { clientId: 'Iv1.e2e-main', clientSecret: 'github-secret-e2e-main' };
const APP_URL = 'http://127.0.0.1:5173';
const ctx = { cleanups: [], audience: AUDIENCE, appUrl: APP_URL };

async function cleanup() {
  for (const fn of ctx.cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`[e2e] cleanup: ${err.message}`);
    }
  }
}

try {
  await phase(
    'setup: test pages on 127.0.0.1 and the worker via `npm run dev`',
    120_000,
    async () => {
      // The client page's origin is allowed; the other page's origin is not.
      ctx.appPage = await servePage(await freePort());
      ctx.otherPage = await servePage(await freePort());
      ctx.cleanups.push(
        () => ctx.appPage.close(),
        () => ctx.otherPage.close(),
      );
      ctx.appOrigin = ctx.appPage.origin;
      // The Vite example's dev server (phase vite-app), on localhost like Vite's default, and a
      // second one for the client's tabs (phase client).
      ctx.viteOrigin = `http://localhost:${await freePort()}`;
      ctx.clientOrigin = `http://localhost:${await freePort()}`;
      ctx.introspectionClient = { id: 'e2e-downstream', secret: generateSecret() };
      ctx.authVars = {
        ENVIRONMENT: 'development',
        MAIL_TRANSPORT: 'dev-mailbox',
        AUDIENCE,
        APP_URL,
        ALLOWED_ORIGINS: `${ctx.appPage.origin},${ctx.viteOrigin},${ctx.clientOrigin}`,
        LOG_LEVEL: 'info',
        // Every request comes from 127.0.0.1: budgets large enough for the suite.
        RATE_LIMIT_REGISTER: '1000/3600',
        RATE_LIMIT_LOGIN: '1000/300',
        RATE_LIMIT_REFRESH: '1000/60',
        RATE_LIMIT_MFA_VERIFY: '1000/300',
        RATE_LIMIT_FORGOT_PASSWORD: '1000/3600',
        RATE_LIMIT_EMAIL_RESEND: '1000/3600',
        // A downstream service's credential for /oauth/introspect, stored as its hash only
        // (README, "Revocation and introspection for downstream services").
        INTROSPECTION_CLIENTS: JSON.stringify({
          [ctx.introspectionClient.id]:
            `sha256:${createHash('sha256').update(ctx.introspectionClient.secret).digest('hex')}`,
        }),
      };
      ctx.signingKey = await generateSigningKey();
      ctx.signingKid = ctx.signingKey.kid;
      // GitHub's OAuth endpoints on 127.0.0.1, so /auth/oauth/{provider}/… has a provider that
      // needs no discovery (phase real-clients); the phase federation starts its own providers.
      ctx.github = await serveGitHub(await freePort(), GITHUB_CLIENT);
      ctx.cleanups.push(() => ctx.github.close());

      await check('npm run dev: fresh state, migrations applied, /health/ready 200', async () => {
        ctx.worker = await startAuthWorker({
          name: 'auth',
          vars: {
            ...ctx.authVars,
            JWT_SIGNING_KEYS: JSON.stringify({ keys: [ctx.signingKey] }),
            IDENTITY_PROVIDERS: JSON.stringify([
              {
                id: 'github',
                type: 'github',
                client_id: GITHUB_CLIENT.clientId,
                endpoints: ctx.github.endpoints,
              },
            ]),
            IDENTITY_PROVIDER_SECRETS: JSON.stringify({ github: GITHUB_CLIENT.clientSecret }),
          },
        });
        ctx.cleanups.push(() => ctx.worker.stop());
        const api = client(ctx.worker.url);
        const ready = expectStatus(await api.get('/health/ready'), 200);
        assert.deepEqual(ready.body, { status: 'ok', checks: { d1: 'ok', kv: 'ok' } });
        expectStatus(await api.get('/health/live'), 200);
        return `${ctx.worker.url}, pid ${ctx.worker.pid}`;
      });

      await check('discovery: issuer follows the port; jwks_uri under it', async () => {
        const res = expectStatus(
          await client(ctx.worker.url).get('/.well-known/openid-configuration'),
          200,
        );
        assert.equal(res.body.issuer, ctx.worker.url);
        assert.equal(res.body.jwks_uri, `${ctx.worker.url}/.well-known/jwks.json`);
      });

      await check(
        '--var JWT_SIGNING_KEYS overrides .dev.vars: the JWKS is exactly our key',
        async () => {
          const api = client(ctx.worker.url);
          const res = expectStatus(await api.get('/.well-known/jwks.json'), 200);
          assert.deepEqual(
            res.body.keys.map((k) => k.kid),
            [ctx.signingKid],
          );
          for (const key of res.body.keys) {
            assert.deepEqual(Object.keys(key).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
          }
          assert.match(res.headers.get('cache-control') ?? '', /public, max-age=\d+/);
          const etag = res.headers.get('etag');
          assert.ok(etag);
          const again = await api.get('/.well-known/jwks.json', {
            headers: { 'If-None-Match': etag },
          });
          assert.equal(again.status, 304);
        },
      );

      await check(
        '--var ALLOWED_ORIGINS overrides .dev.vars: CORS preflight for the allowed pages only',
        async () => {
          const api = client(ctx.worker.url);
          const preflight = (origin) =>
            api.options('/auth/login', {
              headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
            });
          const allowed = await preflight(ctx.appPage.origin);
          assert.equal(allowed.headers.get('access-control-allow-origin'), ctx.appPage.origin);
          assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
          for (const origin of [ctx.otherPage.origin, 'http://127.0.0.1:5173']) {
            const refused = await preflight(origin);
            assert.equal(refused.headers.get('access-control-allow-origin'), null, origin);
          }
        },
      );
    },
  );

  if (ctx.worker) {
    if (wanted('journey')) await phase('journey over HTTP', 60_000, () => journey(ctx));
    if (wanted('downstream')) {
      await phase(
        'downstream verifiers: jose (Node), PyJWT (Python), hono/jwk (Hono)',
        60_000,
        () => downstream(ctx),
      );
    }
    if (wanted('browser')) {
      await phase('browser: Debian Chromium, headless, via playwright-core', 120_000, () =>
        browser(ctx),
      );
    }
    if (wanted('example')) {
      await phase('downstream example worker (examples/downstream-worker)', 120_000, () =>
        example(ctx),
      );
    }
    if (wanted('vite-app')) {
      await phase('Vite example app: dev-server proxy, Chromium, first-party cookie', 90_000, () =>
        viteApp(ctx),
      );
    }
    if (wanted('client')) {
      await phase(
        '@edge-auth/client: three Chromium tabs of the Vite example, near expiry',
        180_000,
        () => clientTabs(ctx),
      );
    }
    if (wanted('client-node')) {
      await phase('@edge-auth/client in memory mode from a Node script', 120_000, () =>
        clientNode(ctx),
      );
    }
    if (wanted('real-clients')) {
      await phase('real clients: every documented route via curl, fetch, requests', 180_000, () =>
        realClients(ctx),
      );
    }
    if (wanted('import')) {
      await phase(
        'import: Python-made hashes via npm run users:import, then first sign-ins',
        180_000,
        () => importUsers(ctx),
      );
    }
    await ctx.worker.stop();
  }

  if (wanted('pages')) {
    // 240 s since journey 7 (the account lifecycle, with an admin:grant) joined it.
    await phase('pages: every flow clicked through in Chromium, with and without JS', 240_000, () =>
      pages(ctx),
    );
  }

  if (wanted('federation')) {
    await phase(
      'federation: a certified OP, GitHub and forged ID tokens, in Chromium and over HTTP',
      150_000,
      () => federation(ctx),
    );
  }

  if (wanted('passkeys')) {
    await phase(
      'passkeys: a virtual authenticator in Chromium, on /sign-in and /account, and refusals',
      150_000,
      () => passkeys(ctx),
    );
  }

  if (wanted('rotation')) {
    await phase('key rotation: [A] -> [B, A] -> [B]', 240_000, () => rotation(ctx));
  }

  if (wanted('keys')) {
    await phase('keys without humans: made, rotated twice, removed', 300_000, () => keys(ctx));
  }

  if (wanted('breached')) {
    await phase('breached-password check against a local range API', 120_000, () => breached(ctx));
  }

  if (wanted('example-types')) {
    await phase('downstream example typechecks on its own', 60_000, async () => {
      await check('tsc -p examples/downstream-worker', async () => {
        const out = await runProcess(
          process.execPath,
          [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'examples/downstream-worker'],
          { timeoutMs: 60_000 },
        );
        assert.equal(out.code, 0, out.stdout + out.stderr);
      });
    });
  }
} finally {
  await cleanup();
  killAllNow();
}

const { text, ok, report } = summary(startedAt);
console.log(text);
writeFileSync(join(outDir, 'summary.txt'), `${text}\n`);
// For .ci/run: {"passed": N, "failed": M, "seconds": S, "checks": [...]}.
writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
process.exit(ok ? 0 : 1);
