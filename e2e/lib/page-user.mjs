// A person at the worker's pages: finds fields by their labels and buttons and links by their
// names (so the pages' labels are tested too), clicks, and says where each click landed.
import assert from 'node:assert/strict';
import { waitFor } from './harness.mjs';

/**
 * Clicks what `target` finds (a submit button or a link) and resolves the response of the page
 * it leads to, after redirects. Waiting starts before the click, so a fast answer is not missed.
 */
export async function clickThrough(page, target) {
  const [response] = await Promise.all([page.waitForNavigation(), target.click()]);
  return response;
}

/** Presses the button named `name` within `scope` (the page, or a section of it). */
export const press = (page, name, scope = page) =>
  clickThrough(page, scope.getByRole('button', { name, exact: true }));

/** Follows the link named `name`. */
export const follow = (page, name, scope = page) =>
  clickThrough(page, scope.getByRole('link', { name, exact: true }));

/** Fills fields by their visible labels: { 'Email': 'a@b.c', ... }. */
export async function fillIn(page, fields, scope = page) {
  for (const [label, value] of Object.entries(fields)) {
    await scope.getByLabel(label, { exact: true }).fill(value);
  }
}

/**
 * Where a click landed: the path, the status of the final response and the page's heading.
 * `text` may name a message the page must show.
 */
export async function expectLanding(page, response, { path, status = 200, heading, text }) {
  const url = new URL(page.url());
  // What the page said, for the failure message.
  const said = async () =>
    (await page.locator('main').innerText()).replace(/\s+/g, ' ').slice(0, 200);
  assert.equal(url.pathname, path, `landed on ${page.url()}: ${await said()}`);
  assert.equal(
    response?.status(),
    status,
    `${page.url()} answered ${response?.status()}: ${await said()}`,
  );
  if (heading) {
    assert.equal((await page.locator('main h1').first().textContent()).trim(), heading);
  }
  if (text) assert.ok(await page.getByText(text).first().isVisible(), `no "${text}" on the page`);
  return url;
}

/** Signs in on /sign-in with an email and password; resolves the response it led to. */
export async function signInWithPassword(page, base, email, password) {
  await page.goto(`${base}/sign-in`);
  await fillIn(page, { Email: email, Password: password });
  return press(page, 'Sign in');
}

/**
 * Opens /dev/mailbox (reloading until the message arrives: mail is sent after the response) and
 * clicks the link to `path` in the newest message to `email` whose subject matches. Resolves the
 * link and the response of the page it opened.
 */
export async function followMailLink(page, base, { email, subject, path }) {
  const message = page
    .locator('article')
    .filter({ has: page.locator('.meta b', { hasText: email }) })
    .filter({ has: page.locator('h2', { hasText: subject }) })
    .first();
  await waitFor(
    `a message to ${email} matching ${subject} in /dev/mailbox`,
    async () => {
      await page.goto(`${base}/dev/mailbox`);
      return (await message.count()) > 0;
    },
    { timeoutMs: 15_000, intervalMs: 300 },
  );
  const link = message.locator('a').filter({ hasText: `${path}?token=` });
  assert.equal(await link.count(), 1, `one ${path} link in the message`);
  const href = await link.getAttribute('href');
  const response = await clickThrough(page, link);
  return { href, response };
}

/** The browser's cookies for `base`, by name. */
export async function cookiesByName(context, base) {
  return Object.fromEntries((await context.cookies(base)).map((c) => [c.name, c]));
}

/** Asserts the attributes a session or form cookie must have in the browser. */
export function expectStrictCookie(cookie, name) {
  assert.ok(cookie, `the browser holds no ${name}`);
  assert.equal(cookie.httpOnly, true, `${name} HttpOnly`);
  assert.equal(cookie.secure, true, `${name} Secure`);
  assert.equal(cookie.sameSite, 'Strict', `${name} SameSite`);
  assert.equal(cookie.path, '/', `${name} Path`);
}
