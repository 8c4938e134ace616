// The breached-password check over real HTTP: a Node server on 127.0.0.1 answers the Pwned
// Passwords range API's documented format (GET /range/{5 hex}, "SUFFIX:COUNT" lines joined by
// CRLF, padded with count-0 lines on `Add-Padding: true`), and a worker started with
// BREACHED_PASSWORD_CHECK=range asks it. Then the server hangs, then it is gone: the worker
// fails open (README "Failure policy"), with a warning in its log.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { check, freePort } from '../lib/harness.mjs';
import { client, expectStatus, uniqueEmail } from '../lib/http.mjs';
import { startAuthWorker } from '../lib/worker.mjs';

const BREACHED = 'purple monkey dishwasher e2e';
const CLEAN = 'a clean passphrase nobody has leaked e2e';
const TIMEOUT_MS = 2_000;
const WARNING = 'breached-password check unavailable; password accepted without it';

const sha1 = (text) => createHash('sha1').update(text).digest('hex').toUpperCase();

/** The range API on 127.0.0.1; `state.hang` makes it take requests and never answer. */
function serveRange(port) {
  const state = { hang: false, requests: [] };
  const breached = sha1(BREACHED);
  const server = createServer((req, res) => {
    const match = /^\/range\/([0-9A-F]{5})$/.exec(req.url ?? '');
    if (state.hang) return;
    if (req.method !== 'GET' || !match) {
      res.writeHead(404).end();
      return;
    }
    state.requests.push({ path: req.url, addPadding: req.headers['add-padding'] });
    const lines = [`${randomBytes(20).toString('hex').slice(5).toUpperCase()}:4`];
    if (breached.startsWith(match[1])) lines.push(`${breached.slice(5)}:7`);
    if (req.headers['add-padding'] === 'true') {
      while (lines.length < 800) lines.push(`${sha1(randomBytes(8)).slice(5)}:0`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(lines.join('\r\n'));
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        state,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

export async function breached(ctx) {
  const port = await freePort();
  const range = await serveRange(port);
  ctx.cleanups.push(() => range.close());
  const worker = await startAuthWorker({
    name: 'breached',
    vars: {
      ...ctx.authVars,
      JWT_SIGNING_KEYS: JSON.stringify({ keys: [ctx.signingKey] }),
      BREACHED_PASSWORD_CHECK: 'range',
      BREACHED_PASSWORD_API_URL: `http://127.0.0.1:${port}`,
      BREACHED_PASSWORD_TIMEOUT_MS: String(TIMEOUT_MS),
    },
  });
  ctx.cleanups.push(() => worker.stop());
  const api = client(worker.url);
  const register = (password) =>
    api.post('/auth/register', { email: uniqueEmail('breached'), password });

  await check(
    'a breached password is refused: 422, and only a padded 5-hex prefix left',
    async () => {
      const res = expectStatus(await register(BREACHED), 422, 'validation_failed');
      assert.deepEqual(res.body.errors, [
        { path: 'password', message: 'has appeared in a data breach' },
      ]);
      assert.deepEqual(range.state.requests, [
        { path: `/range/${sha1(BREACHED).slice(0, 5)}`, addPadding: 'true' },
      ]);
    },
  );

  await check('a clean password registers (201) after the same kind of lookup', async () => {
    expectStatus(await register(CLEAN), 201);
    assert.equal(range.state.requests.at(-1).path, `/range/${sha1(CLEAN).slice(0, 5)}`);
  });

  await check(`a server that never answers: fails open after ${TIMEOUT_MS} ms`, async () => {
    range.state.hang = true;
    const started = Date.now();
    expectStatus(await register(BREACHED), 201);
    const took = Date.now() - started;
    assert.ok(took >= TIMEOUT_MS && took < TIMEOUT_MS + 5_000, `took ${took} ms`);
    return `${took} ms`;
  });

  await check(
    'a dead server: fails open at once; the log warns, without the password',
    async () => {
      await range.close();
      const started = Date.now();
      expectStatus(await register(BREACHED), 201);
      const took = Date.now() - started;
      // wrangler prints the worker's console a moment after the response.
      await new Promise((r) => setTimeout(r, 500));
      const warnings = worker
        .output()
        .split('\n')
        .filter((line) => line.includes(WARNING));
      assert.ok(
        warnings.some((line) => line.includes('"reason":"timeout"')),
        'timeout warned',
      );
      assert.ok(
        warnings.some((line) => line.includes('"reason":"unreachable"')),
        'dead warned',
      );
      assert.ok(!worker.output().includes(BREACHED), 'the password reached the log');
      assert.ok(!worker.output().includes(sha1(BREACHED).slice(5)), 'the hash reached the log');
      return `${took} ms`;
    },
  );
  await worker.stop();
}
