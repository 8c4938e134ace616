// What the load rows send: the users and sessions they need, and one spec per row.
import { log } from './log.mjs';
import { perClient, row } from './measure.mjs';
import { pool } from './pool.mjs';
import { post } from './post.mjs';
import { chainClients, newChains, recoverChains } from './refresh-chains.mjs';
import { CHAINS, CONNECTIONS, LOGIN_CONNECTIONS, PASSWORD, USERS } from './settings.mjs';

/** Registers USERS users and opens CHAINS sessions, spread over them. */
export async function prepareUsers(base) {
  const runId = Date.now().toString(36);
  const users = Array.from({ length: USERS }, (_, i) => `bench.${runId}.${i}@example.com`);
  await pool(users, 2, async (email) => {
    const res = await post(base, '/auth/register', { email, password: PASSWORD, name: 'Bench' });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  });
  const sessions = await pool(Array.from({ length: CHAINS }), 2, async (_, i) => {
    const res = await post(base, '/auth/login', { email: users[i % USERS], password: PASSWORD });
    if (res.status !== 200) throw new Error(`login: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  });
  log(`prepared ${USERS} users and ${CHAINS} sessions`);
  return { users, sessions };
}

/** The JWKS's current ETag, for the 304 row. */
export async function jwksEtag(base) {
  const jwks = await fetch(`${base}/.well-known/jwks.json`);
  const etag = jwks.headers.get('etag');
  await jwks.arrayBuffer();
  return etag;
}

/**
 * What a browser holds after loading /sign-in once: the form-token cookie and the token of its
 * form, which every page POST must carry (src/pages/csrf.ts). One pair serves every request.
 */
export async function signInForm(base) {
  const res = await fetch(`${base}/sign-in`);
  const html = await res.text();
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('__Host-csrf='));
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (res.status !== 200 || !cookie || !token) {
    throw new Error(
      `GET /sign-in: ${res.status}, cookie ${Boolean(cookie)}, token ${Boolean(token)}`,
    );
  }
  return { cookie: cookie.split(';')[0], token };
}

/**
 * Every row but login's: the yardsticks (the bare runtime, the request floor, one storage round
 * trip each), the bearer route, JWKS, refresh, the sign-in page.
 */
export function routeRows({ base, quietBase, bareBase, sessions, chains, etag }) {
  const refreshSpec = (connections) => ({
    path: '/auth/refresh',
    method: 'POST',
    connections,
    setupClient: chainClients(chains),
    afterSlice: () => recoverChains(base, chains),
  });
  const bearerFor = perClient(
    sessions.map((s) => s.access_token),
    (client, token) => client.setHeaders({ authorization: `Bearer ${token}` }),
  );
  return [
    // bench/bare/: a constant JSON body, served exactly like the worker (bench/lib/workers.mjs).
    row('bare', 'GET /health/live, bare runtime', bareBase, { path: '/health/live' }),
    row('live', 'GET /health/live', base, { path: '/health/live' }),
    row('liveQuiet', 'GET /health/live, LOG_LEVEL=warn', quietBase, { path: '/health/live' }),
    row('live1', 'GET /health/live', base, { path: '/health/live', connections: 1 }),
    row('ready', 'GET /health/ready', base, { path: '/health/ready' }),
    row('me', 'GET /users/me', base, { path: '/users/me', setupClient: bearerFor }),
    row('jwks200', 'GET /.well-known/jwks.json 200', base, { path: '/.well-known/jwks.json' }),
    row('jwks304', 'GET /.well-known/jwks.json 304', base, {
      path: '/.well-known/jwks.json',
      headers: { 'if-none-match': etag },
      expect: 304,
    }),
    row('refresh', `POST /auth/refresh, ${CHAINS} chains`, base, refreshSpec(CONNECTIONS)),
    row('refresh1', `POST /auth/refresh, ${CHAINS} chains`, base, refreshSpec(1)),
    // A first visit: no cookie, so no storage call; a new form-token cookie every time.
    row('signInPage', 'GET /sign-in', base, { path: '/sign-in' }),
    row('signInPage1', 'GET /sign-in', base, { path: '/sign-in', connections: 1 }),
  ];
}

/**
 * The login rows, one per LOGIN_CONNECTIONS, each connection logging in as one user; then the
 * sign-in page's form post at c=1 (right password, this browser's form token, answered 303), in
 * the same turns, so it compares with login c=1 and the PBKDF2 figures taken between them.
 */
export function loginRows({ base, users, form }) {
  const loginBody = perClient(users, (client, email) =>
    client.setBody(JSON.stringify({ email, password: PASSWORD })),
  );
  const formBody = perClient(users, (client, email) =>
    client.setBody(
      new URLSearchParams({ _csrf: form.token, email, password: PASSWORD }).toString(),
    ),
  );
  return [
    ...LOGIN_CONNECTIONS.map((c) =>
      row(`login${c}`, 'POST /auth/login', base, {
        path: '/auth/login',
        method: 'POST',
        connections: c,
        headers: { 'content-type': 'application/json' },
        setupClient: loginBody,
      }),
    ),
    row('signInPost1', 'POST /sign-in (form, 303)', base, {
      path: '/sign-in',
      method: 'POST',
      connections: 1,
      // A browser's form post: the form-token cookie and a urlencoded form from our origin.
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: base,
        cookie: form.cookie,
      },
      setupClient: formBody,
      expect: 303,
    }),
  ];
}

/**
 * The session shards (docs/sharding.md): sessions land on DB (shard 0) or SESSIONS_1 by their
 * user, and a session id of shard 1 starts with "1.". Refresh rows over the chains of each shard
 * alone, and login at c=1 for the users of each shard, next to the mixed rows above.
 */
export function shardRows({ base, users, sessions }) {
  const onShard1 = (s) => s.session_id.startsWith('1.');
  const chains = {
    0: newChains(sessions.filter((s) => !onShard1(s))),
    1: newChains(sessions.filter(onShard1)),
  };
  const usersOf = (n) =>
    users.filter((_, i) => sessions.some((s, j) => j % USERS === i && onShard1(s) === (n === 1)));
  log(`shards: ${chains[0].length} + ${chains[1].length} chains, ${usersOf(1).length} users on 1`);
  const rows = [0, 1].flatMap((n) => [
    row(`refreshShard${n}`, `POST /auth/refresh, shard ${n} chains`, base, {
      path: '/auth/refresh',
      method: 'POST',
      // Users hash unevenly over few shards: never more connections than chains.
      connections: Math.max(1, Math.min(CONNECTIONS, chains[n].length)),
      setupClient: chainClients(chains[n]),
      afterSlice: () => recoverChains(base, chains[n]),
    }),
    row(`loginShard${n}`, `POST /auth/login, shard ${n} users`, base, {
      path: '/auth/login',
      method: 'POST',
      connections: 1,
      headers: { 'content-type': 'application/json' },
      setupClient: perClient(usersOf(n), (client, email) =>
        client.setBody(JSON.stringify({ email, password: PASSWORD })),
      ),
    }),
  ]);
  return { rows, chains: [...chains[0], ...chains[1]] };
}
