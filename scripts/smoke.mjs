// `node scripts/smoke.mjs https://auth.example.com`: after a deploy, checks the live worker end to
// end with a throwaway account: ready, JWKS, sign-up, sign-in, refresh, and the account's own
// deletion (POST /users/me/delete), which also cleans up. One line per step; exit 1 when any
// step failed. The account is deleted even when a step after sign-in fails.
//
// SMOKE_EMAIL: the address to sign up, `{id}` replaced by a random id. The default is Resend's
// test inbox (mail to it is accepted and never delivered), so a real mail provider's reputation
// never suffers from smoke tests. With REQUIRE_EMAIL_VERIFICATION on, sign-in needs a link from
// that mail: the script says so and stops after sign-up (docs/deploy.md, "Smoke test").
import { randomBytes } from 'node:crypto';

const base = (process.argv[2] ?? '').replace(/\/+$/, '');
if (!/^https?:\/\/[^/]+$/.test(base)) {
  console.error('usage: node scripts/smoke.mjs <the worker URL, e.g. https://auth.example.com>');
  process.exit(2);
}
const id = randomBytes(6).toString('hex');
const email = (process.env.SMOKE_EMAIL ?? 'delivered+smoke-{id}@resend.dev').replace('{id}', id);
const password = `smoke-${randomBytes(18).toString('base64url')}`;
let failed = 0;

async function call(method, path, { json, bearer } = {}) {
  const headers = { 'X-Request-Id': `smoke-${id}` };
  if (json) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(base + path, {
    method,
    headers,
    body: json ? JSON.stringify(json) : undefined,
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

/** Fails the step unless the answer has `status`; names the problem code when there is one. */
function expect(res, status, what) {
  if (res.status === status) return res.body;
  const code = res.body?.code ? ` ${res.body.code}` : '';
  throw new Error(
    `${what}: expected ${status}, got ${res.status}${code} ${res.text.slice(0, 200)}`,
  );
}

/** One line per step; a step returns null when it could not be checked (and says why). */
async function step(name, run) {
  const started = Date.now();
  try {
    const result = await run();
    if (result === null) console.log(`skip  ${name}`);
    else console.log(`ok    ${name} (${Date.now() - started} ms)`);
    return result;
  } catch (err) {
    failed++;
    console.log(`FAIL  ${name}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

await step('ready: GET /health/ready', async () => {
  const body = expect(await call('GET', '/health/ready'), 200, 'readiness');
  if (body?.status !== 'ok') throw new Error(`status ${JSON.stringify(body)}`);
});

await step('JWKS: GET /.well-known/jwks.json', async () => {
  const body = expect(await call('GET', '/.well-known/jwks.json'), 200, 'JWKS');
  const keys = body?.keys ?? [];
  if (keys.length === 0) throw new Error('no keys published');
  if (keys.some((k) => k.kty !== 'RSA' || 'd' in k))
    throw new Error('a key is not a public RSA key');
});

const user = await step(`sign-up: POST /auth/register (${email})`, async () =>
  expect(await call('POST', '/auth/register', { json: { email, password } }), 201, 'register'),
);

let tokens;
if (user) {
  tokens = await step('sign-in: POST /auth/login', async () => {
    const res = await call('POST', '/auth/login', { json: { email, password } });
    if (res.status === 403 && res.body?.code === 'email_not_verified') {
      console.log(
        'stop  REQUIRE_EMAIL_VERIFICATION is on: sign-in needs the link mailed to the address, ' +
          `so sign-in, refresh and deletion are not checked; the unverified account ${email} ` +
          `(id ${user.id}) stays until an admin deletes it (DELETE /admin/users/${user.id})`,
      );
      return null;
    }
    const body = expect(res, 200, 'login');
    if (!body?.access_token || !body?.refresh_token) throw new Error('no tokens in the answer');
    return body;
  });
}

if (tokens) {
  try {
    await step('refresh: POST /auth/refresh', async () => {
      const body = expect(
        await call('POST', '/auth/refresh', { json: { refresh_token: tokens.refresh_token } }),
        200,
        'refresh',
      );
      if (!body?.access_token || body.refresh_token === tokens.refresh_token) {
        throw new Error('the refresh token did not rotate');
      }
      tokens = body;
    });
  } finally {
    // Cleanup as a step of its own: runs whatever happened to refresh.
    const deleted = await step('delete: POST /users/me/delete', async () => {
      expect(
        await call('POST', '/users/me/delete', { json: { password }, bearer: tokens.access_token }),
        204,
        'delete',
      );
      return true;
    });
    if (deleted) {
      await step('deleted: the password signs in no more', async () => {
        expect(await call('POST', '/auth/login', { json: { email, password } }), 401, 'login');
      });
    } else {
      console.log(
        `left  the throwaway account ${email} (id ${user.id}) remains: delete it with DELETE /admin/users/${user.id}`,
      );
    }
  }
} else if (user && tokens === undefined) {
  console.log(
    `left  the throwaway account ${email} (id ${user.id}) remains: delete it with DELETE /admin/users/${user.id}`,
  );
}

console.log(failed ? `smoke ${base}: ${failed} step(s) failed` : `smoke ${base}: all steps passed`);
process.exit(failed ? 1 : 0);
