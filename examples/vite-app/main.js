// A web app signed in through @edge-auth/client in cookie mode: the refresh token lives only in
// the worker's HttpOnly cookie, first-party here because Vite proxies the worker's routes
// (vite.config.js), hence `baseUrl: ''`, this page's own origin. Other modules import `auth`.
import { createAuthClient } from '@edge-auth/client';

export const auth = createAuthClient({ baseUrl: '' });

const $ = (id) => document.getElementById(id);
const credentials = () => ({ email: $('email').value, password: $('password').value });

// One line per action, "sign in: ok" or "sign in: 401 invalid_credentials"; data-seq counts them.
async function act(name, action) {
  const outcome = await action().then(
    () => 'ok',
    (error) => `${error.status} ${error.code}`,
  );
  $('status').textContent = `${name}: ${outcome}`;
  $('status').dataset.seq = String(Number($('status').dataset.seq) + 1);
}

async function showUser() {
  const user = await auth.getUser().catch((error) => ({ error: error.code }));
  $('me').textContent = user ? JSON.stringify(user, null, 2) : '(not signed in)';
}

// Sign-in, sign-out and an ended session, in this tab or in another tab of this app.
auth.onChange(showUser);

$('sign-up').addEventListener('click', () => act('sign up', () => auth.signUp(credentials())));
$('credentials').addEventListener('submit', (event) => {
  event.preventDefault();
  act('sign in', () => auth.signIn(credentials()));
});
$('sign-out').addEventListener('click', () => act('sign out', () => auth.signOut()));

showUser();
