// A web client as the contract expects one: the access token lives in memory only, the refresh
// token only in the HttpOnly cookie the worker sets (this page never stores the `refresh_token`
// of a response body). Every call is same-origin, so fetch sends the cookie by default.
let accessToken = null;

const $ = (id) => document.getElementById(id);
$('origin').textContent = location.origin;

// One line per action, e.g. "refresh: 401 invalid_refresh_token"; data-seq counts them.
function show(action, { status, data }) {
  const line = $('status');
  line.textContent = `${action}: ${status}${data?.code ? ` ${data.code}` : ''}`;
  line.dataset.seq = String(Number(line.dataset.seq) + 1);
}

async function call(path, { method = 'POST', body, bearer } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  return { status: res.status, data };
}

async function loadMe() {
  const res = accessToken ? await call('/users/me', { method: 'GET', bearer: accessToken }) : null;
  $('me').textContent = res?.status === 200 ? JSON.stringify(res.data, null, 2) : '(not signed in)';
}

const credentials = () => ({ email: $('email').value, password: $('password').value });

async function signUp() {
  show('sign up', await call('/auth/register', { body: credentials() }));
}

async function signIn(event) {
  event?.preventDefault();
  const res = await call('/auth/login', { body: credentials() });
  // A user with TOTP on gets `mfa_required`; that second step is not part of this example.
  accessToken = res.status === 200 ? (res.data.access_token ?? null) : null;
  await loadMe();
  show('sign in', res);
}

// No refresh token in the body: the worker reads the HttpOnly cookie. It takes a cookie only
// with a JSON request from an allowed Origin, hence the `{}`.
async function refresh() {
  const res = await call('/auth/refresh', { body: {} });
  accessToken = res.status === 200 ? res.data.access_token : null;
  await loadMe();
  show('refresh', res);
}

async function signOut() {
  const res = await call('/auth/logout', { body: {}, bearer: accessToken });
  accessToken = null;
  await loadMe();
  show('sign out', res);
}

$('sign-up').addEventListener('click', signUp);
$('credentials').addEventListener('submit', signIn);
$('refresh').addEventListener('click', refresh);
$('sign-out').addEventListener('click', signOut);
