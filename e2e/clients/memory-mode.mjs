// @edge-auth/client from a Node script, as a server, CLI or native shell uses it: memory mode (the
// default without a `document`), the refresh token held by the client object and sent in the
// body. Its own process; every request it sends is noted through the client's `fetch` option.
//   stdin:  {"base": "...", "user": {email, password}, "admin": {email, password}}
//   stdout: what it saw, as JSON, for e2e/phases/client-node.mjs to judge
import { readFileSync } from 'node:fs';
import { createAuthClient } from '@edge-auth/client';
import { mailTo } from '../lib/flows.mjs';
import { totpCodes } from '../lib/totp.mjs';
import { Authenticator } from '../../test/passkeys/authenticator.mjs';

const { base, user, admin } = JSON.parse(readFileSync(0, 'utf8'));
const sent = [];
const noting = async (input, init) => {
  const request = new Request(input, init);
  const body = request.method === 'POST' ? await request.clone().text() : '';
  sent.push({
    route: `${request.method} ${new URL(request.url).pathname}`,
    credentials: request.credentials,
    bodyHasRefreshToken: body.includes('"refresh_token"'),
  });
  return fetch(request);
};
const routes = () => sent.map((s) => s.route);
const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
const client = () => {
  const auth = createAuthClient({ baseUrl: base, fetch: noting });
  const events = [];
  auth.onChange((event) => events.push({ type: event.type, code: event.error?.code ?? null }));
  return { auth, events };
};
const out = {};
const { auth, events } = client();

await auth.signUp(user);
out.signIn = await auth.signIn(user);
const me = await auth.getUser();
out.user = { id: me.id, email: me.email, role: me.role };
out.refreshBody = sent.filter((s) => s.route === 'POST /auth/refresh');

// Ten concurrent forced refreshes in one client: one refresh.
let mark = sent.length;
const tokens = await Promise.all(
  Array.from({ length: 10 }, () => auth.getAccessToken({ forceRefresh: true })),
);
out.concurrent = { distinctTokens: new Set(tokens).size, routes: routes().slice(mark) };
out.refreshRequest = sent.slice(mark).find((s) => s.route === 'POST /auth/refresh');

// A 403 is an AuthError and is never retried.
mark = sent.length;
out.forbidden = await auth.fetch(`${base}/admin/stats`).then(
  (res) => ({ status: res.status }),
  (error) => ({ name: error.name, code: error.code, status: error.status, id: error.requestId }),
);
out.forbidden.routes = routes().slice(mark);

// A role change cuts the user's access tokens at the worker: the next call is a 401, then one
// refresh (the new token carries the new role) and the same call again.
const operator = client();
await operator.auth.signIn(admin);
const promoted = await operator.auth.fetch(`${base}/admin/users/${me.id}`, {
  method: 'PATCH',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ role: 'admin' }),
});
mark = sent.length;
const after = await auth.fetch(`${base}/users/me`);
out.roleChange = {
  promoted: promoted.status,
  status: after.status,
  role: (await after.json()).role,
  tokenRole: claims(await auth.getAccessToken()).role,
  routes: routes().slice(mark),
};

// Two-factor: signIn answers the second step, verifyMfa finishes it.
const setup = await auth.fetch(`${base}/users/me/mfa/totp/setup`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ password: user.password }),
});
const code = totpCodes((await setup.json()).secret);
await auth.fetch(`${base}/users/me/mfa/totp/enable`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ code: code() }),
});
await auth.signOut();
out.signedOutToken = await auth.getAccessToken();
const step = await auth.signIn(user);
out.mfa = { step: { mfaRequired: step.mfaRequired, hasToken: typeof step.mfaToken === 'string' } };
out.mfa.wrongCode = await auth.verifyMfa(step.mfaToken, '000000').catch((error) => error.code);
out.mfa.verified = await auth.verifyMfa(step.mfaToken, code());
out.mfa.user = (await auth.getUser()).mfa_enabled;

// Sign out everywhere: another client of the same user finds its session ended at its next
// refresh, and says so.
const laptop = client();
await laptop.auth.signIn(admin);
await operator.auth.signOutEverywhere();
out.everywhere = {
  operatorToken: await operator.auth.getAccessToken(),
  laptopToken: await laptop.auth.getAccessToken({ forceRefresh: true }),
  laptopEvents: laptop.events,
};

// Passkeys through the client's helpers. Node has no WebAuthn: navigator.credentials is a
// software authenticator (the unit tests' own) behind the browser's ArrayBuffer interface.
const authenticator = new Authenticator(base);
const b64 = (buffer) => Buffer.from(buffer).toString('base64url');
const buffers = (json) =>
  Object.fromEntries(
    Object.entries(json).map(([k, v]) => [
      k,
      typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64url')).buffer : v,
    ]),
  );
const asCredential = ({ id, type, response }) => ({
  id,
  type,
  response: { ...buffers(response), getTransports: () => response.transports ?? [] },
});
globalThis.navigator = {
  credentials: {
    async create({ publicKey }) {
      const options = { challenge: b64(publicKey.challenge), user: { id: b64(publicKey.user.id) } };
      return asCredential((await authenticator.create(options)).json);
    },
    get: async ({ publicKey }) =>
      asCredential(await authenticator.get({ challenge: b64(publicKey.challenge) })),
  },
};
// A passkey needs a confirmed address: the admin confirms it through the mailed link.
const confirmation = await mailTo(base, admin.email, /confirm/i);
const link = confirmation.text.match(/https?:\/\/\S+verify-email\?token=([\w-]+)/);
await fetch(`${base}/auth/email/verify`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ token: link[1] }),
});
const owner = client().auth;
await owner.signIn(admin);
const created = await owner.registerPasskey({ name: 'Node key' });
const renamed = await owner.renamePasskey(created.id, 'Renamed key');
const fresh = client().auth;
const withPasskey = await fresh.signInWithPasskey({ email: admin.email });
out.passkeys = {
  created: created.name,
  listed: (await owner.passkeys()).map((p) => p.name),
  renamed: renamed.name,
  signIn: withPasskey.mfaRequired,
  user: (await fresh.getUser()).email,
};
await owner.deletePasskey(created.id);
out.passkeys.afterDelete = await client()
  .auth.signInWithPasskey()
  .catch((error) => error.code);

out.events = events;
out.refreshesSent = routes().filter((route) => route === 'POST /auth/refresh').length;
process.stdout.write(JSON.stringify(out));
