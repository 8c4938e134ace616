// A person signing in with an identity provider in Chromium: the "Continue with …" button, the
// real OP's own login and consent pages (node-oidc-provider's development interactions), the
// way back, and the refusal message.
import assert from 'node:assert/strict';
import { follow } from './page-user.mjs';

/** The message /sign-in shows for `?error=` (src/pages/strings.ts, federation.errors). */
export const REFUSALS = {
  state: 'That sign-in link is no longer valid',
  provider: 'The sign-in provider could not be reached or gave an answer we could not check.',
  email_unverified: 'The provider did not confirm an email address for this account',
  account_exists: 'An account with this email already exists.',
};

/**
 * Every top-level navigation response of the context, as "status origin-or-path", so a check
 * can show the way it went: the worker's start, the OP's pages, the callback, the landing.
 */
export function navigationTrail(context, base) {
  const trail = [];
  context.on('response', (res) => {
    if (!res.request().isNavigationRequest() || res.request().frame().parentFrame()) return;
    const url = new URL(res.url());
    // The OP's interaction ids say nothing to a reader: /interaction/… and /auth/….
    const path = url.pathname.replace(/^\/(interaction|auth)\/[\w-]{20,}$/, '/$1/…');
    const where = url.origin === base ? path : `${url.host}${path}`;
    const refresh = res.headers().refresh;
    trail.push(`${res.status()} ${where}${refresh ? ` (Refresh: ${refresh})` : ''}`);
  });
  return {
    trail,
    since(mark) {
      return trail.slice(mark).join(' -> ');
    },
  };
}

/** /sign-in, then the provider's button; resolves the first page the browser lands on. */
export async function continueWith(page, base, label) {
  await page.goto(`${base}/sign-in`);
  return follow(page, `Continue with ${label}`);
}

/**
 * The OP's development login page (any password; the login is the account id), then its
 * consent page. Resolves once the browser has left the OP.
 */
export async function signInAtOp(page, op, login) {
  assert.equal(new URL(page.url()).origin, op.issuer, `at the OP: ${page.url()}`);
  await page.getByPlaceholder('Enter any login').fill(login);
  await page.getByPlaceholder('and password').fill('any password: dev interactions');
  await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Sign-in' }).click(),
  ]);
  await consentAtOp(page, op);
}

/** The consent page, when the OP shows one. */
export async function consentAtOp(page, op) {
  if (new URL(page.url()).origin !== op.issuer) return;
  assert.ok(await page.getByRole('button', { name: 'Continue' }).isVisible(), 'the consent page');
  await Promise.all([
    page.waitForURL((url) => url.origin !== op.issuer),
    page.getByRole('button', { name: 'Continue' }).click(),
  ]);
}

/** Waits until the browser settles on `path` of the worker (after the landing page's Refresh). */
export async function settleOn(page, base, path) {
  await page.waitForURL((url) => url.origin === base && url.pathname === path);
  await page.waitForLoadState('load');
}

/** Asserts the browser ended on /sign-in?error=`reason` with its message. */
export async function expectRefusal(page, base, reason) {
  await settleOn(page, base, '/sign-in');
  assert.equal(new URL(page.url()).searchParams.get('error'), reason, page.url());
  const alert = page.locator('main [role="alert"]').first();
  assert.match(await alert.innerText(), new RegExp(escape(REFUSALS[reason])));
  return alert.innerText();
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
