// A real browser: Debian's Chromium, headless, driven by playwright-core (never a downloaded
// browser). A page on an allowed origin signs in with credentialed fetches, refreshes with the
// HttpOnly cookie alone and logs out; a page on another origin is refused by CORS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { check, note, outDir } from '../lib/harness.mjs';
import { REFRESH_COOKIE } from '../lib/http.mjs';
import { verifiedUser } from '../lib/flows.mjs';

export async function browser(ctx) {
  const { worker, appPage, otherPage, appUrl } = ctx;
  const { email, password } = await verifiedUser(worker.url, 'browser', appUrl);

  const instance = await launchChromium(ctx);
  const { context, blocked } = await hermeticContext(instance);
  const refreshCookie = async () =>
    (await context.cookies(worker.url)).find((c) => c.name === REFRESH_COOKIE);

  const app = await context.newPage();
  await app.goto(`${appPage.origin}/?auth=${encodeURIComponent(worker.url)}`);

  await check(`sign in from ${appPage.origin} with fetch(credentials: 'include')`, async () => {
    const result = await app.evaluate(([e, p]) => window.client.signIn(e, p), [email, password]);
    assert.deepEqual(result, { status: 200, error: undefined, code: undefined, signedIn: true });
    const me = await app.evaluate(() => window.client.me());
    assert.deepEqual(me, { status: 200, error: undefined, email });
  });

  let firstCookie;
  await check(
    `Chromium stored ${REFRESH_COOKIE} (HttpOnly, Secure, SameSite=Strict) from http://127.0.0.1`,
    async () => {
      firstCookie = await refreshCookie();
      assert.ok(
        firstCookie,
        `no ${REFRESH_COOKIE} in the browser: Chromium refused the Secure/__Host- cookie over http`,
      );
      assert.equal(firstCookie.httpOnly, true);
      assert.equal(firstCookie.secure, true);
      assert.equal(firstCookie.sameSite, 'Strict');
      assert.equal(firstCookie.path, '/');
      return 'Chromium treats http://127.0.0.1 as a secure context for cookies';
    },
  );

  await check('the page never sees the refresh cookie in document.cookie', async () => {
    const cookies = await app.evaluate(() => window.client.cookies());
    assert.match(cookies, /page_marker=visible/, 'document.cookie works on this page');
    assert.doesNotMatch(cookies, /refresh_token/);
  });

  await check('refresh with only the cookie (body {}): 200, cookie rotated', async () => {
    const result = await app.evaluate(() => window.client.refresh());
    assert.equal(result.status, 200, JSON.stringify(result));
    const rotated = await refreshCookie();
    assert.ok(rotated && rotated.value !== firstCookie.value, 'the cookie holds the successor');
    assert.doesNotMatch(await app.evaluate(() => window.client.cookies()), /refresh_token/);
    const me = await app.evaluate(() => window.client.me());
    assert.equal(me.status, 200);
  });

  const other = await context.newPage();
  await other.goto(`${otherPage.origin}/?auth=${encodeURIComponent(worker.url)}`);

  await check(`a page from ${otherPage.origin} (not allowed) is refused by CORS`, async () => {
    const signIn = await other.evaluate(([e, p]) => window.client.signIn(e, p), [email, password]);
    assert.equal(signIn.status, 0, `expected a CORS failure, got ${JSON.stringify(signIn)}`);
    assert.equal(signIn.error, 'TypeError');
    const refresh = await other.evaluate(() => window.client.refresh());
    assert.equal(refresh.error, 'TypeError', JSON.stringify(refresh));
    const jwks = await other.evaluate(() => window.client.publicGet('/.well-known/jwks.json'));
    assert.equal(jwks.error, 'TypeError', 'no CORS read even of public JSON');
  });

  await check('a blind no-cors POST from that page cannot log the user out (CSRF)', async () => {
    const blind = await other.evaluate(() => window.client.blindPost('/auth/logout'));
    assert.equal(blind.type, 'opaque', JSON.stringify(blind));
    // The session survived: the allowed page still refreshes with its cookie.
    const result = await app.evaluate(() => window.client.refresh());
    assert.equal(result.status, 200, JSON.stringify(result));
  });

  await check('log out from the allowed page: 204, cookie gone, refresh now 401', async () => {
    const result = await app.evaluate(() => window.client.logout());
    assert.equal(result.status, 204, JSON.stringify(result));
    assert.equal(await refreshCookie(), undefined, 'the browser dropped the cookie');
    const after = await app.evaluate(() => window.client.refresh());
    assert.equal(after.status, 401, JSON.stringify(after));
  });

  await check('screenshot of /dev/mailbox (shows the verification mail)', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${worker.url}/dev/mailbox`);
    assert.equal(res.status(), 200);
    await page.getByText(email).first().waitFor();
    const path = join(outDir, 'dev-mailbox.png');
    await page.screenshot({ path, fullPage: true });
    return path;
  });

  await check('screenshot of /docs', async () => {
    const page = await context.newPage();
    const res = await page.goto(`${worker.url}/docs`, { waitUntil: 'load' });
    assert.equal(res.status(), 200);
    assert.ok(await page.locator('#swagger-ui').count(), 'the Swagger UI container is served');
    const rendered = await page
      .locator('.swagger-ui .info .title')
      .waitFor({ timeout: 5_000 })
      .then(() => true)
      .catch(() => false);
    const path = join(outDir, 'docs.png');
    await page.screenshot({ path, fullPage: true });
    if (!rendered) {
      note(
        `/docs did not render offline: Swagger UI's script and CSS come from ${
          [...blocked].join(', ') || 'a CDN'
        } (blocked here); the screenshot shows the bare page`,
      );
    }
    return path;
  });

  await instance.close();
}
