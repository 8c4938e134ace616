// One entry per route of the contract (../shared/API.md), keyed `METHOD /path` as /openapi.json
// names it. `call(s, { bodiless })` sets up fresh state for one call and returns what the call
// carries: a `bearer` token, path `params`, a JSON body `json` where the route takes one (form
// `fields` on the OAuth endpoints, RFC 7009 and RFC 7662, with `basic` [id, secret] credentials).
// `status` (and `code`) is the answer the contract gives that call, and `check(res, { call, s })`
// what else it promises; `bodiless` is the answer (and check) without a body where the body is
// optional. A route in /openapi.json without an entry here fails the real-clients phase, so
// every new route needs one.
import assert from 'node:assert/strict';
import { runProcess } from './harness.mjs';
import { PASSWORD, expectStatus, request, uniqueEmail } from './http.mjs';
import { mailTo, resetToken, verificationToken } from './flows.mjs';
import { githubSignIn } from './github-server.mjs';
import { totpCodes } from './totp.mjs';
import { Authenticator } from '../../test/passkeys/authenticator.mjs';

const NEW_PASSWORD = 'a different long passphrase e2e';

const CODE_MAIL = /sign-in code/;
const emailCode = (message) => /^Your code: (\d{6})$/m.exec(message.text)?.[1] ?? '';
const tokens = (res) => assert.equal(typeof res.body?.access_token, 'string', res.text);
const sessionEnded = async (res, { call, s }) =>
  expectStatus(await s.get('/users/me', { bearer: call.bearer }), 401);

let keyQueue = Promise.resolve();
/** Waits for the previous holder, then resolves to this holder's release function. */
function keyTurn() {
  let release;
  const held = new Promise((r) => (release = r));
  const before = keyQueue;
  keyQueue = before.then(() => Promise.race([held, new Promise((r) => setTimeout(r, 30_000))]));
  return before.then(() => release);
}

export const fixtures = {
  'GET /.well-known/jwks.json': {
    status: 200,
    check: (res) => assert.ok(res.body.keys.length > 0),
  },
  'GET /.well-known/openid-configuration': { status: 200 },
  'GET /health/live': { status: 200 },
  'GET /health/ready': { status: 200 },

  'POST /auth/register': {
    status: 201,
    call: async () => ({ json: { email: uniqueEmail('rc'), password: PASSWORD, name: 'Ana' } }),
  },
  'POST /auth/login': {
    status: 200,
    check: tokens,
    call: async (s) => {
      const { email, password } = await s.user();
      return { json: { email, password } };
    },
  },
  'POST /auth/mfa/verify': {
    status: 200,
    check: tokens,
    call: async (s) => {
      const user = await s.totpUser();
      const { mfa_token } = await s.login(user);
      return { json: { mfa_token, code: user.code() } };
    },
  },
  'POST /auth/refresh': {
    status: 200,
    check: tokens,
    call: async (s, { bodiless }) =>
      bodiless ? {} : { json: { refresh_token: (await s.signedIn()).refresh_token } },
    // Neither a body token nor a cookie.
    bodiless: { status: 401, code: 'refresh_token_missing' },
  },
  'POST /auth/logout': {
    status: 204,
    check: sessionEnded,
    call: async (s) => {
      const user = await s.signedIn();
      return { bearer: user.access_token, json: { refresh_token: user.refresh_token } };
    },
    // Bearer only: the session of the access token ends.
    bodiless: { status: 204, check: sessionEnded },
  },
  'POST /auth/logout-all': {
    status: 204,
    call: async (s) => ({ bearer: (await s.signedIn()).access_token }),
  },
  'POST /auth/email/verify': {
    status: 200,
    call: async (s) => {
      const { email } = await s.user();
      return { json: { token: verificationToken(await s.mail(email, /confirm/i), s.appUrl) } };
    },
  },
  'POST /auth/email/resend': {
    status: 202,
    call: async (s) => ({ json: { email: (await s.user()).email } }),
  },
  'POST /auth/password/forgot': {
    status: 202,
    call: async (s) => ({ json: { email: (await s.user()).email } }),
  },
  'POST /auth/password/reset': {
    status: 204,
    call: async (s) => {
      const { email } = await s.user();
      expectStatus(await s.post('/auth/password/forgot', { json: { email } }), 202);
      const token = resetToken(await s.mail(email, /reset/i), s.appUrl);
      return { json: { token, new_password: NEW_PASSWORD } };
    },
  },
  // A confirmed address: only those get a code (README "Sign-in with an email code").
  'POST /auth/email-code/send': {
    status: 202,
    check: async (res, { call, s }) =>
      assert.match(emailCode(await s.mail(call.json.email, CODE_MAIL)), /^\d{6}$/),
    call: async (s) => ({ json: { email: (await s.confirmed('code')).email } }),
  },
  'POST /auth/email-code/verify': {
    status: 200,
    check: tokens,
    call: async (s) => {
      const { email } = await s.confirmed('code');
      expectStatus(await s.post('/auth/email-code/send', { json: { email } }), 202);
      return { json: { email, code: emailCode(await s.mail(email, CODE_MAIL)) } };
    },
  },

  'GET /users/me': {
    status: 200,
    call: async (s) => ({ bearer: (await s.signedIn()).access_token }),
  },
  'PATCH /users/me': {
    status: 200,
    call: async (s) => ({ bearer: (await s.signedIn()).access_token, json: { name: 'Ana B' } }),
  },
  'POST /users/me/password': {
    status: 204,
    call: async (s) => ({
      bearer: (await s.signedIn()).access_token,
      json: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    }),
  },
  'GET /users/me/sessions': {
    status: 200,
    call: async (s) => ({ bearer: (await s.signedIn()).access_token }),
  },
  'DELETE /users/me/sessions/{id}': {
    status: 204,
    // Signed in twice: the second session ends the first.
    call: async (s) => {
      const user = await s.signedIn();
      const second = await s.login(user);
      return { bearer: second.access_token, params: { id: user.session_id } };
    },
  },
  'POST /users/me/mfa/totp/setup': {
    status: 200,
    check: (res) => {
      const fields = Object.keys(res.body ?? {})
        .sort()
        .join(', ');
      assert.equal(fields, 'otpauth_uri, qr_svg, secret', `fields ${fields}`);
    },
    call: async (s) => {
      const user = await s.signedIn();
      return { bearer: user.access_token, json: { password: user.password } };
    },
  },
  'POST /users/me/mfa/totp/enable': {
    status: 200,
    check: (res) => assert.equal(res.body?.recovery_codes?.length, 10, res.text),
    call: async (s) => {
      const user = await s.signedIn();
      const { secret } = await s.totpSetup(user);
      return { bearer: user.access_token, json: { code: totpCodes(secret)() } };
    },
  },
  'POST /users/me/mfa/totp/disable': {
    status: 204,
    call: async (s) => {
      const user = await s.totpUser();
      return { bearer: user.access_token, json: { password: user.password, code: user.code() } };
    },
  },

  'GET /users/me/identities': {
    status: 200,
    check: (res) => assert.ok(Array.isArray(res.body?.identities), res.text),
    call: async (s) => ({ bearer: (await s.signedIn()).access_token }),
  },
  'DELETE /users/me/identities/{id}': {
    status: 204,
    check: async (res, { call, s }) => {
      const left = await s.get('/users/me/identities', { bearer: call.bearer });
      assert.deepEqual(expectStatus(left, 200).body.identities, [], 'the identity is gone');
    },
    // A password user with a GitHub identity: unlinking is not the last way to sign in.
    call: async (s) => {
      const user = await s.githubLinked();
      return { bearer: user.access_token, params: { id: user.identityId } };
    },
  },
  // The main worker's provider `github` needs no discovery (e2e/lib/github-server.mjs).
  'GET /auth/oauth/{provider}/start': {
    status: 302,
    check: (res, { s }) =>
      assert.ok(res.headers.location?.startsWith(s.github.endpoints.authorization)),
    call: async () => ({ params: { provider: 'github' } }),
  },
  // Well-formed, but no state this client started: back to /sign-in with the reason.
  'GET /auth/oauth/{provider}/callback': {
    status: 302,
    check: (res) => assert.equal(res.headers.location, '/sign-in?error=state'),
    call: async () => ({ params: { provider: 'github' } }),
  },
  'POST /auth/oauth/{provider}/callback': {
    status: 302,
    check: (res) => assert.equal(res.headers.location, '/sign-in?error=state'),
    call: async () => ({ params: { provider: 'github' } }),
  },

  // A software authenticator (test/passkeys/authenticator.mjs) answers for 127.0.0.1: the
  // worker's checks do not depend on the browser's refusal of IP addresses as RP ids.
  'POST /auth/passkey/options': {
    status: 200,
    check: (res) => assert.match(res.body?.challenge ?? '', /^[\w-]{43}$/, res.text),
    call: async (s, { bodiless }) => (bodiless ? {} : { json: { email: (await s.user()).email } }),
    // Without an email: options for any discoverable passkey.
    bodiless: { status: 200 },
  },
  'POST /auth/passkey/verify': {
    status: 200,
    check: tokens,
    call: async (s) => {
      const user = await s.passkeyUser();
      const options = expectStatus(await s.post('/auth/passkey/options'), 200).body;
      return { json: { response: await user.authenticator.get(options) } };
    },
  },
  'POST /users/me/passkeys/options': {
    status: 200,
    check: (res) => assert.equal(res.body?.authenticatorSelection?.userVerification, 'required'),
    call: async (s) => ({ bearer: (await s.confirmedUser('pk')).access_token }),
  },
  'POST /users/me/passkeys': {
    status: 201,
    check: (res) => assert.equal(res.body?.name, 'Laptop', res.text),
    call: async (s) => {
      const user = await s.confirmedUser('pk');
      const options = await s.post('/users/me/passkeys/options', { bearer: user.access_token });
      const created = await new Authenticator(s.base).create(expectStatus(options, 200).body);
      return { bearer: user.access_token, json: { response: created.json, name: 'Laptop' } };
    },
  },
  'GET /users/me/passkeys': {
    status: 200,
    check: (res) => assert.equal(res.body?.passkeys?.length, 1, res.text),
    call: async (s) => ({ bearer: (await s.passkeyUser()).access_token }),
  },
  'PATCH /users/me/passkeys/{id}': {
    status: 200,
    check: (res) => assert.equal(res.body?.name, 'Phone', res.text),
    call: async (s) => {
      const user = await s.passkeyUser();
      return { bearer: user.access_token, params: { id: user.passkeyId }, json: { name: 'Phone' } };
    },
  },
  // A password user: the passkey is not the last way to sign in.
  'DELETE /users/me/passkeys/{id}': {
    status: 204,
    call: async (s) => {
      const user = await s.passkeyUser();
      return { bearer: user.access_token, params: { id: user.passkeyId } };
    },
  },

  'GET /admin/stats': { status: 200, call: async (s) => ({ bearer: await s.admin() }) },
  'GET /admin/users': { status: 200, call: async (s) => ({ bearer: await s.admin() }) },
  'GET /admin/users/{id}': {
    status: 200,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.user()).id } }),
  },
  'PATCH /admin/users/{id}': {
    status: 200,
    call: async (s) => ({
      bearer: await s.admin(),
      params: { id: (await s.signedIn()).id },
      json: { disabled: true },
    }),
  },
  'DELETE /admin/users/{id}/sessions': {
    status: 204,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.signedIn()).id } }),
  },
  'DELETE /admin/users/{id}/mfa': {
    status: 204,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.totpUser()).id } }),
  },
  'GET /admin/audit': { status: 200, call: async (s) => ({ bearer: await s.admin() }) },
  // Keys (docs/keys.md): rotate only schedules the next key; the removal takes the next key,
  // never the current one, so every other fixture's tokens stay valid.
  'GET /admin/keys': {
    status: 200,
    call: async (s) => ({ bearer: await s.admin() }),
    check: (res) => assert.equal(res.body.keys.filter((k) => k.state === 'current').length, 1),
  },
  'POST /admin/keys/rotate': { status: 202, call: async (s) => ({ bearer: await s.admin() }) },
  'DELETE /admin/keys/{kid}': {
    status: 204,
    call: async (s) => {
      // One removal at a time: each takes the next key of its moment (the one before made a
      // new one), held until its check runs (or 30 s).
      const release = await keyTurn();
      const bearer = await s.admin();
      const { keys } = expectStatus(await s.get('/admin/keys', { bearer }), 200).body;
      return { bearer, params: { kid: keys.find((k) => k.state === 'next').kid }, release };
    },
    check: async (res, { call, s }) => {
      call.release();
      const jwks = expectStatus(await s.get('/.well-known/jwks.json'), 200).body;
      assert.ok(!jwks.keys.some((k) => k.kid === call.params.kid), 'the removed key is published');
    },
  },

  // A refresh token ends its whole session; the access token of that session is refused.
  'POST /oauth/revoke': {
    status: 200,
    check: async (res, { call, s }) => {
      assert.equal(res.headers['cache-control'], 'no-store');
      expectStatus(await s.get('/users/me', { bearer: call.accessToken }), 401);
    },
    call: async (s) => {
      const user = await s.signedIn();
      return {
        fields: { token: user.refresh_token, token_type_hint: 'refresh_token' },
        accessToken: user.access_token,
      };
    },
  },
  'POST /oauth/introspect': {
    status: 200,
    check: (res, { call }) => {
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.body?.active, true, res.text);
      assert.equal(res.body.sub, call.sub, res.text);
    },
    call: async (s) => {
      const user = await s.signedIn();
      const { id, secret } = s.introspectionClient;
      return { basic: [id, secret], fields: { token: user.access_token }, sub: user.id };
    },
  },

  // The account lifecycle (src/lifecycle).
  'POST /users/me/email': {
    status: 202,
    call: async (s) => {
      const user = await s.signedIn();
      return {
        bearer: user.access_token,
        json: { new_email: uniqueEmail('moved'), password: user.password },
      };
    },
  },
  'POST /auth/email/change/confirm': {
    status: 200,
    check: (res) => assert.equal(res.body?.email_verified, true, res.text),
    call: async (s) => {
      const user = await s.signedIn();
      const next = uniqueEmail('moved');
      const asked = await s.post('/users/me/email', {
        bearer: user.access_token,
        json: { new_email: next, password: user.password },
      });
      expectStatus(asked, 202);
      const text = (await s.mail(next, /new email/i)).text;
      const link = text.match(/https?:\/\/\S+/g)?.find((l) => l.includes('/confirm-email-change?'));
      assert.ok(link, `no confirm-email-change link in: ${text}`);
      return { json: { token: new URL(link).searchParams.get('token') } };
    },
  },
  'GET /users/me/export': {
    status: 200,
    check: (res) => assert.equal(typeof res.body?.profile?.email, 'string', res.text),
    call: async (s) => ({ bearer: (await s.signedIn()).access_token }),
  },
  'POST /users/me/delete': {
    status: 204,
    check: sessionEnded,
    call: async (s) => {
      const user = await s.signedIn();
      return { bearer: user.access_token, json: { password: user.password } };
    },
    // No password given: refused as a wrong one, never a 400 or 415.
    bodiless: { status: 403, code: 'invalid_current_password' },
  },
  'POST /admin/users': {
    status: 201,
    check: (res) => assert.equal(res.body?.email_verified, false, res.text),
    call: async (s) => ({
      bearer: await s.admin(),
      json: { email: uniqueEmail('invited'), name: 'Ines' },
    }),
  },
  'DELETE /admin/users/{id}': {
    status: 204,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.signedIn()).id } }),
  },
  'POST /admin/users/{id}/unlock': {
    status: 204,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.user()).id } }),
  },
  'POST /admin/users/{id}/password-reset': {
    status: 202,
    call: async (s) => ({ bearer: await s.admin(), params: { id: (await s.user()).id } }),
  },
  'POST /admin/users/import': {
    status: 200,
    check: (res) => assert.equal(res.body?.created, 1, res.text),
    call: async (s) => ({
      bearer: await s.admin(),
      json: { users: [{ email: uniqueEmail('imported'), name: 'Imported' }] },
    }),
  },

  'GET /dev/mailbox.json': { status: 200 },
  'GET /dev/mailbox': { status: 200 },
};

/**
 * The helpers fixtures set up state with, over plain HTTP like any client. Every user is new;
 * the admin is one account for the whole phase (granted once with `npm run admin:grant`
 * against the worker's state directory, as README "Administration" says).
 */
export function fixtureKit({ base, appUrl, persistTo, github, introspectionClient }) {
  let admin;
  const s = {
    appUrl,
    github,
    /** The credential e2e/run.mjs configured in INTROSPECTION_CLIENTS: { id, secret }. */
    introspectionClient,
    get: (path, opts) => request(base, 'GET', path, opts),
    post: (path, opts) => request(base, 'POST', path, opts),
    mail: (email, subject) => mailTo(base, email, subject),
    async user(label = 'rc') {
      const email = uniqueEmail(label);
      const res = await s.post('/auth/register', { json: { email, password: PASSWORD } });
      return { email, password: PASSWORD, id: expectStatus(res, 201).body.id };
    },
    /** A new user whose address is confirmed through the mailed link. */
    async confirmed(label) {
      const user = await s.user(label);
      const token = verificationToken(await s.mail(user.email, /confirm/i), appUrl);
      expectStatus(await s.post('/auth/email/verify', { json: { token } }), 200);
      return user;
    },
    async login({ email, password }) {
      return expectStatus(await s.post('/auth/login', { json: { email, password } }), 200).body;
    },
    /** A new user with a session: { email, password, id, access_token, refresh_token, ... }. */
    async signedIn(label) {
      const user = await s.user(label);
      return { ...user, ...(await s.login(user)) };
    },
    async totpSetup(user) {
      const res = await s.post('/users/me/mfa/totp/setup', {
        bearer: user.access_token,
        json: { password: user.password },
      });
      return expectStatus(res, 200).body;
    },
    /** A signed-in user with TOTP on; `code()` gives a code the worker has not seen yet. */
    async totpUser() {
      const user = await s.signedIn('totp');
      const code = totpCodes((await s.totpSetup(user)).secret);
      const res = await s.post('/users/me/mfa/totp/enable', {
        bearer: user.access_token,
        json: { code: code() },
      });
      expectStatus(res, 200);
      return { ...user, code };
    },
    /**
     * A signed-in user with a confirmed address and a GitHub identity, linked automatically by
     * a sign-in at GitHub with that address verified: { ...signedIn, identityId }.
     */
    async githubLinked() {
      const user = await s.signedIn('gh');
      const token = verificationToken(await s.mail(user.email, /confirm/i), appUrl);
      expectStatus(await s.post('/auth/email/verify', { json: { token } }), 200);
      const login = `gh-${user.id}`;
      github.addUser({ login, emails: [{ email: user.email, primary: true, verified: true }] });
      await githubSignIn(base, github, login);
      const listed = await s.get('/users/me/identities', { bearer: user.access_token });
      const [identity] = expectStatus(listed, 200).body.identities;
      assert.equal(identity?.provider, 'github', listed.text);
      return { ...user, identityId: identity.id };
    },
    base,
    /** A signed-in user whose address is confirmed through the mailed link. */
    async confirmedUser(label) {
      const user = await s.signedIn(label);
      const token = verificationToken(await s.mail(user.email, /confirm/i), appUrl);
      expectStatus(await s.post('/auth/email/verify', { json: { token } }), 200);
      return user;
    },
    /** A signed-in user with a passkey on a software authenticator: { ...signedIn, passkeyId }. */
    async passkeyUser() {
      const user = await s.confirmedUser('pk');
      const authenticator = new Authenticator(base);
      const options = await s.post('/users/me/passkeys/options', { bearer: user.access_token });
      const created = await authenticator.create(expectStatus(options, 200).body);
      const res = await s.post('/users/me/passkeys', {
        bearer: user.access_token,
        json: { response: created.json },
      });
      return { ...user, authenticator, passkeyId: expectStatus(res, 201).body.id };
    },
    /** An admin's access token. */
    admin() {
      admin ??= (async () => {
        const user = await s.user('admin');
        const out = await runProcess(
          'npm',
          ['run', '-s', 'admin:grant', '--', user.email, '--persist-to', persistTo],
          { timeoutMs: 60_000 },
        );
        assert.equal(out.code, 0, `admin:grant: ${out.stderr || out.stdout}`);
        return (await s.login(user)).access_token;
      })();
      return admin;
    },
  };
  return s;
}
