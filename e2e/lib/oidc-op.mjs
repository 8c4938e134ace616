// Starts and stops the real OpenID Provider (e2e/providers/oidc-op.mjs, node-oidc-provider) as a
// process group of its own on 127.0.0.1, like every server of the suite.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort, root, startProcess, waitFor } from './harness.mjs';
import { tail } from './worker.mjs';

/**
 * `accounts` maps a login (typed on the OP's login page; it becomes `sub`) to its claims
 * ({ email, email_verified, name }). Resolves { issuer, clientId, clientSecret, stop } once the
 * discovery document answers.
 */
export async function startOidcOp({ redirectUri, accounts, port }) {
  port ??= await freePort();
  const client = {
    client_id: 'edge-auth-e2e',
    client_secret: randomBytes(32).toString('base64url'),
    redirect_uris: [redirectUri],
  };
  const proc = startProcess(
    'oidc-op',
    process.execPath,
    [join(root, 'e2e/providers/oidc-op.mjs')],
    {
      env: { ...process.env, OP_CONFIG: JSON.stringify({ port, client, accounts }) },
    },
  );
  const issuer = `http://127.0.0.1:${port}`;
  try {
    let exited = false;
    proc.exited.then(() => (exited = true));
    await waitFor(
      `oidc-provider at ${issuer}`,
      async () => {
        if (exited) throw new Error(`oidc-provider exited early; see ${proc.logFile}`);
        const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
          signal: AbortSignal.timeout(3_000),
        });
        return res.status === 200 && (await res.json()).issuer === issuer;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await proc.stop();
    err.message += `\n--- last lines of ${proc.logFile} ---\n${tail(proc.output(), 30)}`;
    throw err;
  }
  return {
    issuer,
    port,
    pid: proc.pid,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    output: proc.output,
    stop: () => proc.stop(),
  };
}
