// Bringing existing users in, over real HTTP against `npm run dev`: a JSONL file whose password
// hashes Debian's python3-bcrypt, python3-argon2 and python3-passlib made, sent by
// `npm run users:import` (killed halfway, then run again to resume), then every user signs in,
// the stored hash is read from D1 (now the worker's own), and signs in again.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pythonHashes } from '../../test/import/python-hashes.mjs';
import { d1Rows } from '../lib/d1.mjs';
import { check, makeTempDir, root, runProcess, sleep, startProcess } from '../lib/harness.mjs';
import { client, expectStatus, uniqueEmail } from '../lib/http.mjs';
import { fixtureKit } from '../lib/route-fixtures.mjs';

const PASSWORD = 'imported pässword ✓ e2e';
const OWN = /^\$pbkdf2-sha512\$i=100000,l=64\$/;
const script = join(root, 'scripts/users-import.mjs');

export async function importUsers(ctx) {
  const worker = ctx.worker;
  const api = client(worker.url);
  const kit = fixtureKit({ base: worker.url, appUrl: ctx.appOrigin, persistTo: worker.persistTo });
  const token = await kit.admin();
  const dir = makeTempDir('edge-auth-e2e-import-');
  const file = join(dir, 'users.jsonl');
  const state = `${file}.import-state.json`;
  const env = { ...process.env, EDGE_AUTH_TOKEN: token };
  const run = (...args) =>
    runProcess(process.execPath, [script, file, '--url', worker.url, ...args], {
      env,
      timeoutMs: 120_000,
    });

  const hashes = pythonHashes(PASSWORD);
  // The JavaScript PBKDF2 path (above 100,000 iterations) costs seconds: test/import has it.
  delete hashes['django-pbkdf2-js'];
  const hashed = Object.entries(hashes).map(([kind, hash]) => ({
    kind,
    email: uniqueEmail(`import-${kind}`),
    hash,
  }));
  const passwordless = Array.from({ length: 30 }, () => uniqueEmail('import-none'));
  const twice = uniqueEmail('import-twice');
  const lines = [
    ...hashed.map((u) => ({ email: u.email, name: u.kind, password_hash: u.hash })),
    ...passwordless.map((email) => ({ email, email_verified: true })),
    { email: 'not an address' },
    { email: uniqueEmail('import-md5'), password_hash: '$1$saltsalt$0123456789abcdefghijkl' },
    // At the end, so the resumed run (one batch) sends both: the second is a duplicate.
    { email: twice },
    { email: `  ${twice.toUpperCase()}` },
  ];
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

  await check('npm run users:import refuses a token without the admin role (403)', async () => {
    const user = await kit.login(await kit.user('not-admin'));
    const out = await runProcess(process.execPath, [script, file, '--url', worker.url], {
      env: { ...process.env, EDGE_AUTH_TOKEN: user.access_token },
    });
    assert.equal(out.code, 1, out.stdout + out.stderr);
    assert.match(out.stderr, /answered 403 \(forbidden/);
    assert.equal(existsSync(state), false);
  });

  let firstRun;
  await check('users:import killed halfway keeps its place in the state file', async () => {
    const proc = startProcess(
      'users-import',
      process.execPath,
      [script, file, '--url', worker.url, '--batch', '1'],
      { env },
    );
    // Killed (SIGKILL, no chance to tidy up) once a few batches are recorded.
    for (let i = 0; i < 1000 && !existsSync(state); i++) await sleep(5);
    while (JSON.parse(readFileSync(state, 'utf8')).line < 5) await sleep(5);
    process.kill(-proc.pid, 'SIGKILL');
    const { signal } = await proc.exited;
    await proc.stop();
    assert.equal(signal, 'SIGKILL', 'the import ended before it could be interrupted');
    firstRun = JSON.parse(readFileSync(state, 'utf8'));
    assert.ok(firstRun.line < lines.length, `interrupted at line ${firstRun.line}`);
    assert.match(proc.output(), /progress: \d+% \d+\/\d+ lines/);
    return `interrupted after line ${firstRun.line} of ${lines.length}`;
  });

  await check('run again, it resumes there and prints a summary with reasons', async () => {
    const out = await run();
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, new RegExp(`resuming after line ${firstRun.line} of ${lines.length}`));
    const valid = hashed.length + passwordless.length + 1;
    const done = JSON.parse(readFileSync(state, 'utf8'));
    // A batch sent but not yet recorded when the script was killed is skipped as `exists`.
    assert.equal(done.created + (done.skipped.exists ?? 0), valid, out.stdout);
    assert.ok((done.skipped.exists ?? 0) <= 1, out.stdout);
    assert.equal(done.skipped.invalid_email, 1);
    assert.equal(done.skipped.duplicate, 1);
    assert.equal(done.skipped.unsupported_hash, 1);
    assert.match(out.stdout, /skipped 1 unsupported_hash/);
    assert.match(out.stdout, /done: \d+ created, \d+ skipped/);
    const skippedFile = readFileSync(`${file}.skipped.jsonl`, 'utf8');
    assert.match(skippedFile, /"reason":"invalid_email"/);
    assert.doesNotMatch(skippedFile, /\$1\$/, 'the skipped list holds emails and reasons only');
    const rows = await d1Rows(
      worker,
      `SELECT count(*) AS n FROM users WHERE email LIKE 'e2e-import-%'`,
    );
    assert.equal(rows[0].n, valid);
  });

  await check('the endpoint is idempotent: the whole file again creates nothing', async () => {
    const out = await runProcess(process.execPath, [script, file, '--url', worker.url], {
      env: { ...env },
      timeoutMs: 60_000,
    });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /done:/, 'a finished state file: nothing left to send');
    const again = expectStatus(
      await api.post('/admin/users/import', { users: lines.slice(0, 3) }, { bearer: token }),
      200,
    );
    assert.deepEqual(again.body, {
      created: 0,
      skipped: lines.slice(0, 3).map((l) => ({ email: l.email, reason: 'exists' })),
    });
  });

  for (const user of hashed) {
    await check(
      `${user.kind}: first sign-in replaces the hash, the second uses the new one`,
      async () => {
        const hashOf = async () =>
          (
            await d1Rows(
              worker,
              `SELECT password_hash AS h FROM users WHERE email = '${user.email}'`,
            )
          )[0].h;
        assert.equal(await hashOf(), user.hash);
        expectStatus(
          await api.post('/auth/login', { email: user.email, password: 'wrong password' }),
          401,
          'invalid_credentials',
        );
        assert.equal(await hashOf(), user.hash, 'a wrong password changes nothing');
        expectStatus(await api.post('/auth/login', { email: user.email, password: PASSWORD }), 200);
        const replaced = await hashOf();
        assert.match(replaced, OWN);
        expectStatus(await api.post('/auth/login', { email: user.email, password: PASSWORD }), 200);
        assert.equal(await hashOf(), replaced);
      },
    );
  }

  await check('a passwordless imported user signs in with no password', async () => {
    expectStatus(
      await api.post('/auth/login', { email: passwordless[0], password: PASSWORD }),
      401,
      'invalid_credentials',
    );
  });
}
