// GitHub's OAuth app flow on 127.0.0.1, endpoint for endpoint as GitHub documents it ("Authorizing
// OAuth apps", REST "Users" and "Emails"): GET /login/oauth/authorize (a page with an Authorize
// button; a sign-in form first when this browser is not signed in, GitHub's `user_session`
// cookie), POST /login/oauth/access_token (form or JSON body; JSON answer with
// `Accept: application/json`, form-encoded otherwise; errors as GitHub gives them, 200 with
// `error`), GET /api/v3/user and GET /api/v3/user/emails (the GitHub Enterprise Server layout).
// Codes are single use, expire after 10 minutes, and need the redirect_uri and PKCE verifier of
// their authorization request.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { request } from './http.mjs';

const CODE_TTL_MS = 600_000;
const random = () => randomBytes(20).toString('hex');
const s256 = (verifier) => createHash('sha256').update(verifier).digest('base64url');
const html = (text) => String(text).replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title></head><body><main><h1>${html(title)}</h1>${body}</main></body></html>`;
}

const hidden = (params) =>
  [...params]
    .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
    .join('');

async function readBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    return new URLSearchParams(Object.entries(text ? JSON.parse(text) : {}));
  }
  return new URLSearchParams(text);
}

function cookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/**
 * `client` is the one OAuth app ({ clientId, clientSecret }). `addUser({ login, name, emails })`
 * registers an account (emails: [{ email, primary, verified }]); its numeric id is returned.
 * `requests` records each call as "METHOD /path".
 */
export function serveGitHub(port, client) {
  const users = new Map(); // login -> { id, login, name, emails }
  const codes = new Map(); // code -> { login, redirectUri, challenge, expiresAt }
  const tokens = new Map(); // access token -> login
  const requests = [];
  let nextId = 5_000_001;

  const json = (res, status, body) =>
    res
      .writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
      .end(JSON.stringify(body));
  const tokenError = (req, res, error) => {
    // GitHub answers a failed exchange with 200 and an `error` member.
    const body = { error, error_description: error.replace(/_/g, ' ') };
    if ((req.headers.accept ?? '').includes('application/json')) return json(res, 200, body);
    res.writeHead(200, { 'Content-Type': 'application/x-www-form-urlencoded' });
    res.end(new URLSearchParams(body).toString());
  };

  async function authorize(req, res, url) {
    const params = req.method === 'POST' ? await readBody(req) : url.searchParams;
    if (params.get('client_id') !== client.clientId) {
      return res.writeHead(404, { 'Content-Type': 'text/html' }).end(page('Not found', ''));
    }
    // Signing in at GitHub: the form sets the session cookie and shows the same request again.
    if (params.has('login_as')) {
      const as = params.get('login_as');
      if (!users.has(as)) {
        res.writeHead(401, { 'Content-Type': 'text/html' });
        return res.end(page('Sign in to GitHub', '<p>Incorrect username or password.</p>'));
      }
      params.delete('login_as');
      res.writeHead(303, {
        'Set-Cookie': `user_session=${encodeURIComponent(as)}; Path=/; HttpOnly; SameSite=Lax`,
        Location: `/login/oauth/authorize?${params}`,
      });
      return res.end();
    }
    const login = cookie(req, 'user_session');
    if (!users.has(login)) {
      return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(
        page(
          'Sign in to GitHub',
          `<form method="get" action="/login/oauth/authorize">${hidden(params)}
          <label>Username or email address <input name="login_as" autocomplete="username"></label>
          <button type="submit">Sign in</button></form>`,
        ),
      );
    }
    if (req.method === 'GET') {
      return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(
        page(
          'Authorize edge-auth-e2e',
          `<p>Signed in as ${html(login)}. Scopes: ${html(params.get('scope') ?? '')}</p>
          <form method="post" action="/login/oauth/authorize">${hidden(params)}
          <button type="submit">Authorize</button></form>`,
        ),
      );
    }
    if (params.get('code_challenge_method') !== 'S256' || !params.get('code_challenge')) {
      return res
        .writeHead(400, { 'Content-Type': 'text/html' })
        .end(page('PKCE S256 required', ''));
    }
    const code = random();
    codes.set(code, {
      login,
      redirectUri: params.get('redirect_uri'),
      challenge: params.get('code_challenge'),
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    const back = new URL(params.get('redirect_uri'));
    back.searchParams.set('code', code);
    back.searchParams.set('state', params.get('state') ?? '');
    res.writeHead(302, { Location: back.href }).end();
  }

  async function accessToken(req, res) {
    const body = await readBody(req);
    if (
      body.get('client_id') !== client.clientId ||
      body.get('client_secret') !== client.clientSecret
    ) {
      return tokenError(req, res, 'incorrect_client_credentials');
    }
    const grant = codes.get(body.get('code') ?? '');
    codes.delete(body.get('code') ?? '');
    if (!grant || grant.expiresAt < Date.now())
      return tokenError(req, res, 'bad_verification_code');
    if (body.has('redirect_uri') && body.get('redirect_uri') !== grant.redirectUri) {
      return tokenError(req, res, 'redirect_uri_mismatch');
    }
    if (s256(body.get('code_verifier') ?? '') !== grant.challenge) {
      return tokenError(req, res, 'bad_verification_code');
    }
    const token = `gho_${random()}`;
    tokens.set(token, grant.login);
    const answer = { access_token: token, scope: 'read:user,user:email', token_type: 'bearer' };
    if ((req.headers.accept ?? '').includes('application/json')) return json(res, 200, answer);
    res.writeHead(200, { 'Content-Type': 'application/x-www-form-urlencoded' });
    res.end(new URLSearchParams(answer).toString());
  }

  function api(req, res, path) {
    const auth = /^(?:Bearer|token) (\S+)$/.exec(req.headers.authorization ?? '');
    const user = users.get(tokens.get(auth?.[1] ?? ''));
    if (!user) {
      return json(res, 401, {
        message: 'Requires authentication',
        documentation_url: 'https://docs.github.com/rest',
      });
    }
    if (path === '/user') {
      return json(res, 200, { login: user.login, id: user.id, type: 'User', name: user.name });
    }
    json(
      res,
      200,
      user.emails.map((e) => ({ visibility: e.primary ? 'public' : null, ...e })),
    );
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    const route = `${req.method} ${url.pathname}`;
    const fail = (err) => res.headersSent || json(res, 500, { message: String(err) });
    if (url.pathname === '/login/oauth/authorize' && ['GET', 'POST'].includes(req.method)) {
      return authorize(req, res, url).catch(fail);
    }
    if (route === 'POST /login/oauth/access_token') return accessToken(req, res).catch(fail);
    if (route === 'GET /api/v3/user' || route === 'GET /api/v3/user/emails') {
      return api(req, res, url.pathname.slice('/api/v3'.length));
    }
    json(res, 404, { message: 'Not Found' });
  });

  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const origin = `http://127.0.0.1:${port}`;
      resolve({
        origin,
        requests,
        /** The worker's `endpoints` for a provider of type github. */
        endpoints: {
          authorization: `${origin}/login/oauth/authorize`,
          token: `${origin}/login/oauth/access_token`,
          api: `${origin}/api/v3`,
        },
        addUser({ login, name = null, emails }) {
          const id = nextId++;
          users.set(login, { id, login, name, emails });
          return id;
        },
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

/**
 * Signs in at the worker with GitHub over plain HTTP, as a browser already signed in at GitHub
 * as `login` would: the start, Authorize, the callback with the start's binding cookie.
 * Resolves the callback's answer (200: the landing page, signed in).
 */
export async function githubSignIn(base, github, login) {
  const start = await request(base, 'GET', '/auth/oauth/github/start');
  assert.equal(start.status, 302, start.text);
  const binding = start.cookies.find((c) => c.name === '__Host-oauth');
  const authorize = new URL(start.headers.get('location'));
  assert.equal(`${authorize.origin}${authorize.pathname}`, github.endpoints.authorization);
  const approved = await fetch(github.endpoints.authorization, {
    method: 'POST',
    headers: {
      Cookie: `user_session=${encodeURIComponent(login)}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: authorize.searchParams.toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(approved.status, 302, await approved.text());
  const back = new URL(approved.headers.get('location'));
  const res = await request(base, 'GET', back.pathname + back.search, {
    cookie: `__Host-oauth=${binding.value}`,
  });
  assert.equal(res.status, 200, `callback: ${res.status} ${res.headers.get('location')}`);
  return res;
}
