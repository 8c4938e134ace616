// A stand-in for the auth worker's routes the client calls, with the behaviour the client must
// cope with (API.md): one-time refresh tokens, the 10 s grace window that answers a retired
// token with its successor, reuse detection that ends the session, problem+json errors. The
// refresh cookie lives in a jar shared by every "tab" of one browser, and is updated only when a
// response reaches the browser.

type Failure = 'network' | 'lost' | 500;
type RefreshToken = { sid: string; usedAt?: number; successor?: string };
type Account = { id: string; email: string; password: string; name: string | null; mfa: boolean };

export const ORIGIN = 'https://auth.test';
/** The code the stand-in "mails" for sign-in with an email code. */
export const EMAIL_CODE = '042137';

export function fakeWorker({ ttl = 900, grace = 10 } = {}) {
  let serial = 0;
  const id = (prefix: string) => `${prefix}-${++serial}`;
  const accounts = new Map<string, Account>();
  const refreshTokens = new Map<string, RefreshToken>();
  const accessTokens = new Map<string, { sid: string; exp: number }>();
  const sessions = new Map<string, { userId: string; revoked: boolean }>();
  const challenges = new Map<string, string>();
  const emailCodes = new Map<string, string>();
  const failures = new Map<string, Failure[]>();
  const jar = { refresh: undefined as string | undefined };
  const stats = { refreshes: 0, rotations: 0, graceAnswers: 0, reused: 0 };
  const log: { path: string; credentials: string; authorization: string | null; body: unknown }[] =
    [];

  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json', ...headers },
    });
  const problem = (status: number, code: string) => {
    const requestId = id('req');
    return new Response(
      JSON.stringify({ title: code, status, code, detail: code, request_id: requestId }),
      {
        status,
        headers: { 'Content-Type': 'application/problem+json', 'X-Request-Id': requestId },
      },
    );
  };

  function grant(sid: string, refreshToken = id('rt')) {
    if (!refreshTokens.has(refreshToken)) refreshTokens.set(refreshToken, { sid });
    const access = id('at');
    accessTokens.set(access, { sid, exp: Date.now() + ttl * 1000 });
    return json(
      200,
      {
        access_token: access,
        token_type: 'Bearer',
        expires_in: ttl,
        refresh_token: refreshToken,
        refresh_expires_in: 2_592_000,
        session_id: sid,
      },
      { 'Set-Cookie': `__Host-refresh_token=${refreshToken}` },
    );
  }

  function bearer(request: Request) {
    const token = /^Bearer (.+)$/.exec(request.headers.get('Authorization') ?? '')?.[1];
    const access = token ? accessTokens.get(token) : undefined;
    const session = access && sessions.get(access.sid);
    if (!access || !session || session.revoked || Date.now() >= access.exp) return null;
    return { sid: access.sid, user: [...accounts.values()].find((a) => a.id === session.userId)! };
  }

  const user = ({ id, email, name, mfa }: Account) => ({
    id,
    email,
    name,
    role: 'user',
    email_verified: false,
    mfa_enabled: mfa,
    created_at: '2026-11-22T10:00:00Z',
  });

  function refresh(body: { refresh_token?: string }, cookie: string | undefined) {
    stats.refreshes++;
    const token = body.refresh_token ?? cookie;
    if (!token) return problem(401, 'refresh_token_missing');
    const entry = refreshTokens.get(token);
    const session = entry && sessions.get(entry.sid);
    if (!entry || !session || session.revoked) return problem(401, 'invalid_refresh_token');
    if (entry.usedAt === undefined) {
      entry.usedAt = Date.now();
      entry.successor = id('rt');
      stats.rotations++;
      return grant(entry.sid, entry.successor);
    }
    const successorUnused = refreshTokens.get(entry.successor!)?.usedAt === undefined;
    if (Date.now() - entry.usedAt <= grace * 1000 && successorUnused) {
      stats.graceAnswers++;
      return grant(entry.sid, entry.successor);
    }
    session.revoked = true;
    stats.reused++;
    return problem(401, 'refresh_token_reused');
  }

  async function handle(request: Request, cookie: string | undefined): Promise<Response> {
    const path = new URL(request.url).pathname;
    const body = request.method === 'POST' ? await request.json().catch(() => ({})) : {};
    log.push({
      path,
      credentials: request.credentials,
      authorization: request.headers.get('Authorization'),
      body,
    });
    if (path === '/auth/register') {
      if (accounts.has(body.email)) return problem(409, 'email_taken');
      const account = {
        id: id('user'),
        email: body.email,
        password: body.password,
        name: body.name ?? null,
        mfa: false,
      };
      accounts.set(body.email, account);
      return json(201, user(account));
    }
    if (path === '/auth/login') {
      const account = accounts.get(body.email);
      if (!account || account.password !== body.password)
        return problem(401, 'invalid_credentials');
      if (account.mfa) {
        const mfaToken = id('mfa');
        challenges.set(mfaToken, account.id);
        return json(200, { mfa_required: true, mfa_token: mfaToken, expires_in: 300 });
      }
      return open(account.id);
    }
    if (path === '/auth/mfa/verify') {
      const userId = challenges.get(body.mfa_token);
      if (!userId || body.code !== '123456') return problem(401, 'invalid_mfa_code');
      challenges.delete(body.mfa_token);
      return open(userId);
    }
    if (path === '/auth/email-code/send') {
      if (accounts.has(body.email)) emailCodes.set(body.email, EMAIL_CODE);
      return json(202, { status: 'accepted' });
    }
    if (path === '/auth/email-code/verify') {
      const account = accounts.get(body.email);
      if (!account || emailCodes.get(body.email) !== body.code) {
        return problem(401, 'invalid_code');
      }
      emailCodes.delete(body.email);
      if (account.mfa) {
        const mfaToken = id('mfa');
        challenges.set(mfaToken, account.id);
        return json(200, { mfa_required: true, mfa_token: mfaToken, expires_in: 300 });
      }
      return open(account.id);
    }
    if (path === '/auth/refresh') return refresh(body, cookie);
    if (path === '/auth/logout') {
      const entry = refreshTokens.get(body.refresh_token ?? cookie ?? '');
      for (const sid of [entry?.sid, bearer(request)?.sid]) {
        if (sid) sessions.get(sid)!.revoked = true;
      }
      return new Response(null, {
        status: 204,
        headers: { 'Set-Cookie': '__Host-refresh_token=' },
      });
    }
    const auth = bearer(request);
    if (path === '/auth/logout-all') {
      if (!auth) return problem(401, 'unauthorized');
      for (const session of sessions.values()) {
        if (session.userId === auth.user.id) session.revoked = true;
      }
      return new Response(null, { status: 204 });
    }
    if (path === '/api/forbidden') return problem(403, 'forbidden');
    if (path === '/api/broken') return new Response('upstream down', { status: 502 });
    if (path === '/api/wrong-code') return problem(401, 'invalid_mfa_code');
    if (!auth) return problem(401, 'unauthorized');
    if (path === '/users/me') return json(200, user(auth.user));
    if (path === '/users/me/identities') {
      return json(200, {
        identities: [{ id: 'id-1', provider: 'google', email: auth.user.email, created_at: '' }],
      });
    }
    if (path === '/users/me/identities/id-1' && request.method === 'DELETE') {
      return problem(409, 'last_sign_in_method');
    }
    if (path === '/api/echo') return json(200, { body, sid: auth.sid });
    return problem(404, 'not_found');
  }

  function open(userId: string) {
    const sid = id('sid');
    sessions.set(sid, { userId, revoked: false });
    return grant(sid);
  }

  /** Makes `fetch` fail for the next requests to `path` (network: never sent; lost: no answer). */
  function fail(path: string, ...how: Failure[]) {
    failures.set(path, [...(failures.get(path) ?? []), ...how]);
  }

  async function serve(input: Request | string, init: RequestInit | undefined, browser: boolean) {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const failure = failures.get(path)?.shift();
    if (failure === 'network') throw new TypeError('fetch failed');
    if (failure === 500) return new Response('proxy error', { status: 500 });
    const sendsCookie = browser && request.credentials !== 'omit';
    const res = await handle(request, sendsCookie ? jar.refresh : undefined);
    if (failure === 'lost') throw new TypeError('fetch failed');
    const setCookie = res.headers.get('Set-Cookie');
    if (browser && setCookie) jar.refresh = setCookie.split('=')[1] || undefined;
    return res;
  }

  return {
    stats,
    log,
    jar,
    fail,
    /** A browser's fetch: the shared cookie jar goes with every request. */
    browserFetch: (input: Request | string, init?: RequestInit) => serve(input, init, true),
    /** A server's fetch: no cookies. */
    fetch: (input: Request | string, init?: RequestInit) => serve(input, init, false),
    enableMfa(email: string) {
      accounts.get(email)!.mfa = true;
    },
    /** Ends every session of the user at the worker (another device's sign-out-everywhere). */
    revokeAll(email: string) {
      const account = accounts.get(email)!;
      for (const session of sessions.values()) {
        if (session.userId === account.id) session.revoked = true;
      }
    },
    /** Refuses every access token issued so far (a role change, say) without ending sessions. */
    cutAccessTokens() {
      accessTokens.clear();
    },
  };
}

export type FakeWorker = ReturnType<typeof fakeWorker>;
