// @edge-auth/client in Chromium: three tabs of the Vite example (the README's quick start) under
// Vite's dev server, whose proxy goes through a recording proxy to the worker. Access tokens are
// brought near expiry by moving the browser's clock (Playwright's clock: the same jump in every
// tab), then every tab sends twenty API calls at once. Also: the BroadcastChannel fallback without
// Web Locks, sign-out across tabs, and network drops during a refresh.
import assert from 'node:assert/strict';
import { hermeticContext, launchChromium } from '../lib/chromium.mjs';
import { check, waitFor } from '../lib/harness.mjs';
import { PASSWORD, uniqueEmail } from '../lib/http.mjs';
import { login } from '../lib/flows.mjs';
import { startRecordingProxy } from '../lib/recording-proxy.mjs';
import { startViteApp } from '../lib/vite.mjs';
import { requestsSeen } from '../lib/worker.mjs';

const TABS = 3;
const CALLS_PER_TAB = 20;
const SIGN_OUT_WITHIN_MS = 1_000;

// In the page: the app's own client, exported by main.js.
const burst = (page, calls) =>
  page.evaluate(async (n) => {
    const { auth } = await import('/main.js');
    const call = () =>
      auth.fetch('/users/me').then(
        (r) => r.status,
        (e) => e.code,
      );
    return Promise.all(Array.from({ length: n }, call));
  }, calls);
const accessToken = (page) =>
  page.evaluate(async () => (await import('/main.js')).auth.getAccessToken());
const recordEvents = (page) =>
  page.evaluate(async () => {
    const { auth } = await import('/main.js');
    window.events = [];
    auth.onChange((event) => window.events.push(event.type));
  });
const eventsOf = (page) => page.evaluate(() => window.events);
// In the page: reports when /users/me starts showing "(not signed in)".
const watchSignedOut = () => {
  const me = document.getElementById('me');
  const observer = new MutationObserver(() => {
    if (!me.textContent.includes('(not signed in)')) return;
    observer.disconnect();
    window.signedOutShown();
  });
  observer.observe(me, { childList: true, characterData: true, subtree: true });
};
const shows = (page, text) =>
  page.waitForFunction((t) => document.getElementById('me').textContent.includes(t), text, {
    polling: 20,
  });

export async function clientTabs(ctx) {
  const { worker, clientOrigin } = ctx;
  const proxy = await startRecordingProxy(worker.url);
  ctx.cleanups.push(() => proxy.close());
  const vite = await startViteApp({ port: Number(new URL(clientOrigin).port), authUrl: proxy.url });
  ctx.cleanups.push(() => vite.stop());
  const instance = await launchChromium(ctx);
  const refreshesAtWorker = () => requestsSeen(worker, /POST \/auth\/refresh /g);
  const reused = () => proxy.refreshes.filter((r) => r.code === 'refresh_token_reused').length;
  let nearExpiry;

  /** A browser context (one cookie jar) with three tabs of the app, signed in as a new user. */
  async function threeTabs(label, { webLocks = true } = {}) {
    const { context } = await hermeticContext(instance);
    if (!webLocks) {
      await context.addInitScript(() => delete Navigator.prototype.locks);
    }
    await context.clock.install();
    const tabs = [];
    for (let i = 0; i < TABS; i++) tabs.push(await context.newPage());
    const email = uniqueEmail(label);
    const [first, ...others] = tabs;
    await first.goto(`${clientOrigin}/`);
    await shows(first, '(not signed in)');
    await first.fill('#email', email);
    await first.fill('#password', PASSWORD);
    await first.click('#sign-up');
    await first.waitForFunction(() =>
      /^sign up: /.test(document.getElementById('status').textContent),
    );
    // Near expiry: the token's lifetime less 25 s, inside the client's 30 s margin.
    nearExpiry ??= ((await login(worker.url, email)).expires_in - 25) * 1000;
    await first.click('#sign-in');
    await shows(first, email);
    const before = await refreshesAtWorker();
    for (const tab of others) {
      await tab.goto(`${clientOrigin}/`);
      await shows(tab, email);
    }
    const opening = (await refreshesAtWorker()) - before;
    assert.equal(
      await tabs[2].evaluate(() => typeof navigator.locks),
      webLocks ? 'object' : 'undefined',
    );
    return { context, tabs, email, opening };
  }

  /** Moves every tab's clock near expiry and sends the calls; returns what the worker saw. */
  async function rotation({ context, tabs }) {
    const [before, beforeProxy] = [await refreshesAtWorker(), proxy.refreshes.length];
    await context.clock.fastForward(nearExpiry);
    const statuses = (await Promise.all(tabs.map((tab) => burst(tab, CALLS_PER_TAB)))).flat();
    assert.deepEqual(statuses, Array(TABS * CALLS_PER_TAB).fill(200));
    const refreshes = (await refreshesAtWorker()) - before;
    const answers = proxy.refreshes.slice(beforeProxy);
    const tokens = new Set(await Promise.all(tabs.map(accessToken)));
    return { refreshes, answers, tokens: tokens.size };
  }

  let browser;
  await check(`${TABS} tabs of one session; opening tabs 2 and 3 cost no refresh`, async () => {
    browser = await threeTabs('tabs');
    assert.equal(browser.opening, 0, 'refreshes while tabs 2 and 3 opened');
  });

  for (const n of [1, 2]) {
    await check(
      `rotation ${n}: tokens near expiry, ${CALLS_PER_TAB} calls per tab at once: one refresh, no reuse`,
      async () => {
        const { refreshes, answers, tokens } = await rotation(browser);
        assert.equal(refreshes, 1, 'refreshes the worker saw');
        assert.deepEqual(answers, [{ status: 200, code: undefined, lost: false }]);
        assert.equal(tokens, 1, 'every tab holds the new token');
        return `${TABS * CALLS_PER_TAB} calls, ${refreshes} refresh`;
      },
    );
  }

  await check('without Web Locks (BroadcastChannel claims): one refresh, no reuse', async () => {
    const fallback = await threeTabs('fallback', { webLocks: false });
    const { refreshes, answers, tokens } = await rotation(fallback);
    assert.equal(refreshes, 1, 'refreshes the worker saw');
    assert.deepEqual(answers, [{ status: 200, code: undefined, lost: false }]);
    assert.equal(tokens, 1);
    await fallback.context.close();
  });

  await check(
    `sign-out in one tab shows in the others within ${SIGN_OUT_WITHIN_MS} ms`,
    async () => {
      const { tabs } = browser;
      // Timed here, by this process's clock, from calls the pages make the moment the click
      // arrives and the moment /users/me shows it: not by polling (a background tab's timers run
      // at most once a second) nor by the pages' clocks (Playwright's, which may lag there).
      const seen = [];
      let clickedAt;
      await tabs[0].exposeFunction('signOutClicked', () => (clickedAt ??= Date.now()));
      for (const tab of tabs.slice(1)) {
        await tab.exposeFunction('signedOutShown', () => seen.push(Date.now()));
        await tab.evaluate(watchSignedOut);
      }
      // The user clicks in the tab in front.
      await tabs[0].bringToFront();
      await tabs[0].evaluate(() =>
        document
          .getElementById('sign-out')
          .addEventListener('click', () => window.signOutClicked(), { capture: true }),
      );
      await tabs[0].click('#sign-out');
      await waitFor('both other tabs to show it', () => seen.length === 2, { intervalMs: 10 });
      const elapsed = seen.map((at) => at - clickedAt);
      for (const ms of elapsed) assert.ok(ms < SIGN_OUT_WITHIN_MS, `${ms} ms`);
      return `tabs 2 and 3 showed it ${elapsed.join(' ms and ')} ms after the click`;
    },
  );

  await check(
    'a refresh that never leaves the browser: refresh_failed, still signed in',
    async () => {
      const { context, tabs } = browser;
      await tabs[0].fill('#password', PASSWORD);
      await tabs[0].click('#sign-in');
      await Promise.all(tabs.map((tab) => shows(tab, browser.email)));
      await Promise.all(tabs.map(recordEvents));
      const before = await refreshesAtWorker();
      const offline = (route) => route.abort('internetdisconnected');
      await context.route('**/auth/refresh', offline);
      await context.clock.fastForward(nearExpiry);
      const failed = await tabs[0].evaluate(async () =>
        (await import('/main.js')).auth.getAccessToken().then(
          () => 'a token',
          (error) => `${error.code} ${error.status}`,
        ),
      );
      assert.equal(failed, 'network_error 0');
      assert.equal((await refreshesAtWorker()) - before, 0, 'nothing reached the worker');
      await context.unroute('**/auth/refresh', offline);
      const statuses = (await Promise.all(tabs.map((tab) => burst(tab, 5)))).flat();
      assert.deepEqual(statuses, Array(TABS * 5).fill(200));
      for (const tab of tabs) {
        const events = await eventsOf(tab);
        assert.ok(events.includes('refresh_failed'), JSON.stringify(events));
        assert.ok(!events.includes('signed_out'), JSON.stringify(events));
      }
      assert.equal((await refreshesAtWorker()) - before, 1);
    },
  );

  await check(
    'an answer lost after the worker rotated: the retry gets the same successor',
    async () => {
      const { context, tabs } = browser;
      await Promise.all(tabs.map(recordEvents));
      const [before, beforeProxy] = [await refreshesAtWorker(), proxy.refreshes.length];
      proxy.loseNextRefreshes(1);
      await context.clock.fastForward(nearExpiry);
      const statuses = (await Promise.all(tabs.map((tab) => burst(tab, 5)))).flat();
      assert.deepEqual(statuses, Array(TABS * 5).fill(200));
      assert.deepEqual(proxy.refreshes.slice(beforeProxy), [
        { status: 200, code: undefined, lost: true },
        { status: 200, code: undefined, lost: false },
      ]);
      assert.equal((await refreshesAtWorker()) - before, 2);
      for (const tab of tabs) assert.deepEqual(await eventsOf(tab), []);
    },
  );

  await check('the worker never answered refresh_token_reused in this phase', async () => {
    assert.equal(reused(), 0);
    // A page opened while signed out tries the cookie once: the only refreshes that are not 200.
    const refused = proxy.refreshes.filter((r) => r.status !== 200);
    assert.ok(
      refused.every((r) => r.code === 'refresh_token_missing'),
      JSON.stringify(proxy.refreshes),
    );
    const rotations = proxy.refreshes.length - refused.length;
    return `${rotations} refreshes answered 200 (1 of them lost), ${refused.length} signed-out page loads`;
  });

  await instance.close();
  await vite.stop();
  await proxy.close();
}
