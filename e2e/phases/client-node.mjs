// @edge-auth/client in memory mode from a Node script (e2e/clients/memory-mode.mjs, its own
// process) against the running worker: sign-up and sign-in, single-flight refresh, a 403 never
// retried, the retry after a role change cut the access token, two-factor, sign-out everywhere.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { check, root, runProcess } from '../lib/harness.mjs';
import { PASSWORD, client, expectStatus, uniqueEmail } from '../lib/http.mjs';
import { requestsSeen } from '../lib/worker.mjs';

const REFRESHES = /POST \/auth\/refresh /g;

export async function clientNode(ctx) {
  const { worker } = ctx;
  const admin = { email: uniqueEmail('memory-admin'), password: PASSWORD };
  const user = { email: uniqueEmail('memory'), password: PASSWORD };
  let out;
  let workerSaw;

  await check('a Node script runs the client in memory mode against the worker', async () => {
    const api = client(worker.url);
    expectStatus(await api.post('/auth/register', admin), 201);
    const grant = await runProcess(
      'npm',
      ['run', '-s', 'admin:grant', '--', admin.email, '--persist-to', worker.persistTo],
      { timeoutMs: 60_000 },
    );
    assert.equal(grant.code, 0, `admin:grant: ${grant.stderr || grant.stdout}`);
    const before = await requestsSeen(worker, REFRESHES);
    const run = await runProcess(process.execPath, [join(root, 'e2e/clients/memory-mode.mjs')], {
      input: JSON.stringify({ base: worker.url, user, admin }),
      timeoutMs: 60_000,
    });
    assert.equal(run.code, 0, run.stderr || run.stdout);
    out = JSON.parse(run.stdout);
    workerSaw = (await requestsSeen(worker, REFRESHES)) - before;
  });

  await check('memory mode: signed in without cookies; refresh token in the body', async () => {
    assert.equal(out.signIn.mfaRequired, false);
    assert.equal(out.user.email, user.email);
    assert.deepEqual(out.refreshBody, [], 'signing in needed no refresh');
    assert.equal(out.refreshRequest.credentials, 'omit');
    assert.equal(out.refreshRequest.bodyHasRefreshToken, true);
  });

  await check('ten concurrent forced refreshes: one refresh, one token', async () => {
    assert.equal(out.concurrent.distinctTokens, 1);
    assert.deepEqual(out.concurrent.routes, ['POST /auth/refresh']);
  });

  await check('a 403 is an AuthError with code and requestId, and is not retried', async () => {
    assert.deepEqual(
      { ...out.forbidden, id: typeof out.forbidden.id },
      {
        name: 'AuthError',
        code: 'forbidden',
        status: 403,
        id: 'string',
        routes: ['GET /admin/stats'],
      },
    );
  });

  await check(
    'after a role change: 401, one refresh, the call again with the new role',
    async () => {
      assert.equal(out.roleChange.promoted, 200);
      assert.deepEqual(out.roleChange.routes, [
        'GET /users/me',
        'POST /auth/refresh',
        'GET /users/me',
      ]);
      assert.equal(out.roleChange.status, 200);
      assert.equal(out.roleChange.role, 'admin');
      assert.equal(out.roleChange.tokenRole, 'admin');
    },
  );

  await check('two-factor: signIn answers the second step, verifyMfa signs in', async () => {
    assert.equal(out.signedOutToken, null);
    assert.deepEqual(out.mfa.step, { mfaRequired: true, hasToken: true });
    assert.equal(out.mfa.wrongCode, 'invalid_mfa_code');
    assert.equal(out.mfa.verified.mfaRequired, false);
    assert.equal(out.mfa.user, true);
    assert.deepEqual(
      out.events.map((e) => e.type),
      ['signed_in', 'signed_out', 'signed_in'],
    );
  });

  await check(
    'sign out everywhere: the other client is signed out at its next refresh',
    async () => {
      assert.equal(out.everywhere.operatorToken, null);
      assert.equal(out.everywhere.laptopToken, null);
      assert.deepEqual(out.everywhere.laptopEvents, [
        { type: 'signed_in', code: null },
        { type: 'signed_out', code: 'invalid_refresh_token' },
      ]);
    },
  );

  await check('passkeys: register, list, rename, sign in without a code, delete', async () => {
    assert.deepEqual(out.passkeys, {
      created: 'Node key',
      listed: ['Renamed key'],
      renamed: 'Renamed key',
      signIn: false,
      user: admin.email,
      afterDelete: 'invalid_passkey',
    });
  });

  await check('the worker saw exactly the refreshes the script sent', async () => {
    assert.equal(workerSaw, out.refreshesSent);
    return `${workerSaw} refreshes`;
  });
}
