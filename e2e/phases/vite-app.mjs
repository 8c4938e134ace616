// The Vite setup of README "A web app on Vite's dev server": examples/vite-app (the README's quick
// start, @edge-auth/client in cookie mode) under Vite's real dev server on http://localhost:<port>,
// proxying the worker's routes, driven in Chromium like a person would. The page and the API share
// one origin, so the SameSite=Strict refresh cookie is first-party. Then the setup the issue
// reported: the same page calling the worker directly at http://127.0.0.1:<port>, another site,
// where a cookie-only refresh cannot work.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { quickStarts } from '../../scripts/lib/readme-blocks.mjs';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { check, outDir, root } from '../lib/harness.mjs';
import { PASSWORD, REFRESH_COOKIE, uniqueEmail } from '../lib/http.mjs';
import { startViteApp } from '../lib/vite.mjs';

export const APP = 'examples/vite-app/main.js';

export async function viteApp(ctx) {
  const { worker, viteOrigin } = ctx;
  let vite;

  await check(`the README's Vite quick start is ${APP}, the code this phase runs`, async () => {
    const block = quickStarts(join(root, 'README.md'))[APP];
    assert.equal(block, readFileSync(join(root, APP), 'utf8'));
  });

  await check(
    `Vite dev server on ${viteOrigin} serves the app and proxies the worker`,
    async () => {
      vite = await startViteApp({ port: Number(new URL(viteOrigin).port), authUrl: worker.url });
      ctx.cleanups.push(() => vite.stop());
      assert.equal(vite.url, viteOrigin);
      const ready = await fetch(`${viteOrigin}/health/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ok', checks: { d1: 'ok', kv: 'ok' } });
      const jwks = await (await fetch(`${viteOrigin}/.well-known/jwks.json`)).json();
      assert.ok(jwks.keys.length > 0);
    },
  );

  const instance = await launchChromium(ctx);
  const { context } = await hermeticContext(instance);
  const page = await context.newPage();
  const refreshCookie = async (url) =>
    (await context.cookies(url)).find((c) => c.name === REFRESH_COOKIE);
  // Clicks a button and waits for the page's status line to report the action.
  const click = async (id) => {
    const seq = Number(await page.getAttribute('#status', 'data-seq'));
    await page.click(`#${id}`);
    await page.waitForFunction(
      (n) => Number(document.getElementById('status').dataset.seq) > n,
      seq,
    );
    return page.textContent('#status');
  };
  // The page shows /users/me once the client has an answer: the user, or "(not signed in)".
  const shown = (page, text) =>
    page.waitForFunction((t) => document.getElementById('me').textContent.includes(t), text);
  const me = async () => JSON.parse((await page.textContent('#me')) || 'null');
  const email = uniqueEmail('vite');

  await check('sign up and sign in from the page, /users/me shown', async () => {
    await page.goto(`${viteOrigin}/`);
    await shown(page, '(not signed in)');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    assert.equal(await click('sign-up'), 'sign up: ok');
    assert.equal(await click('sign-in'), 'sign in: ok');
    await shown(page, email);
    assert.equal((await me()).email, email);
  });

  let first;
  await check(`Chromium stored ${REFRESH_COOKIE} for localhost (first-party)`, async () => {
    first = await refreshCookie(viteOrigin);
    assert.ok(first, `no ${REFRESH_COOKIE} for ${viteOrigin}`);
    assert.equal(first.domain, 'localhost');
    assert.equal(first.httpOnly, true);
    assert.equal(first.secure, true);
    assert.equal(first.sameSite, 'Strict');
    assert.equal(await refreshCookie(worker.url), undefined, 'nothing stored for 127.0.0.1');
    assert.doesNotMatch(await page.evaluate(() => document.cookie), /refresh_token/);
  });

  await check('after a reload the client refreshes with the cookie alone, rotated', async () => {
    // A reload forgets the access token (it lived in memory); the cookie brings the session back.
    await page.reload();
    await shown(page, email);
    const rotated = await refreshCookie(viteOrigin);
    assert.notEqual(rotated.value, first.value, 'the cookie holds the successor');
    assert.doesNotMatch(await page.evaluate(() => document.cookie), /refresh_token/);
  });

  await check('sign out: cookie gone, signed out also after a reload', async () => {
    assert.equal(await click('sign-out'), 'sign out: ok');
    await shown(page, '(not signed in)');
    assert.equal(await refreshCookie(viteOrigin), undefined);
    await page.reload();
    await shown(page, '(not signed in)');
    await page.screenshot({ path: join(outDir, 'vite-app.png'), fullPage: true });
  });

  await check(
    `without the proxy: the page on ${viteOrigin} calling ${worker.url} gets no working cookie`,
    async () => {
      const { context: direct } = await hermeticContext(instance);
      const other = await direct.newPage();
      // Chromium says why it refuses a Set-Cookie (DevTools protocol, Network domain).
      const refusals = [];
      const cdp = await direct.newCDPSession(other);
      await cdp.send('Network.enable');
      cdp.on('Network.responseReceivedExtraInfo', ({ blockedCookies }) => {
        for (const { blockedReasons, cookie } of blockedCookies ?? []) {
          if (cookie?.name === REFRESH_COOKIE) refusals.push(...blockedReasons);
        }
      });
      await other.goto(`${viteOrigin}/`);
      // What an app does when it calls the worker's own address: credentialed CORS fetches.
      const result = await other.evaluate(
        async ([base, e, p]) => {
          const post = (path, body) =>
            fetch(base + path, {
              method: 'POST',
              credentials: 'include',
              headers: { 'Content-Type': 'application/json' },
              body: JSON.stringify(body),
            });
          const login = await post('/auth/login', { email: e, password: p });
          const refresh = await post('/auth/refresh', {});
          return {
            login: login.status,
            refresh: refresh.status,
            code: (await refresh.json()).code,
          };
        },
        [worker.url, email, PASSWORD],
      );
      assert.equal(result.login, 200, 'CORS lets the page sign in');
      const stored = (await direct.cookies(worker.url)).some((c) => c.name === REFRESH_COOKIE);
      assert.equal(result.refresh, 401, JSON.stringify(result));
      await direct.close();
      const why = refusals.length ? ` (${[...new Set(refusals)].join(', ')})` : '';
      return `login 200, cookie ${stored ? 'stored but not sent' : `refused${why}`}, refresh ${result.refresh} ${result.code}`;
    },
  );

  await instance.close();
  await vite.stop();
}
