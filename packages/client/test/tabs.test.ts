// Cookie mode across tabs: clients on one BroadcastChannel sharing one cookie jar, as the tabs of
// one app in one browser do, with Web Locks and with the BroadcastChannel fallback.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installFakeLocks } from './fake-locks.ts';
import { EMAIL, PASSWORD, advance, browser, settle, type Tab } from './helpers.ts';

let uninstall: (() => void) | undefined;
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  uninstall?.();
  uninstall = undefined;
  vi.useRealTimers();
});

/** `grace: 0`: the worker ends the session the first time one refresh token comes twice. */
async function threeTabs(grace = 10) {
  const { worker, open } = await browser('cookie', { grace });
  const tabs = [open(), open(), open()] as const;
  await tabs[0].client.signIn({ email: EMAIL, password: PASSWORD });
  await settle();
  return { worker, tabs, open };
}

const burst = (tabs: readonly Tab[], perTab: number) =>
  Promise.all(
    tabs.map(({ client }) =>
      Promise.all(
        Array.from({ length: perTab }, () =>
          client.fetch('https://api.test/users/me').then((res) => res.status),
        ),
      ),
    ),
  );

for (const locks of ['Web Locks', 'the BroadcastChannel fallback'] as const) {
  describe(`three tabs near expiry, with ${locks}`, () => {
    beforeEach(() => {
      if (locks === 'Web Locks') uninstall = installFakeLocks();
    });

    it('twenty calls per tab at once: one refresh per rotation, never a reuse', async () => {
      const { worker, tabs } = await threeTabs(0);
      for (let rotation = 1; rotation <= 3; rotation++) {
        advance(880);
        const statuses = await burst(tabs, 20);
        expect(statuses.flat()).toEqual(Array(60).fill(200));
        expect(worker.stats).toMatchObject({ refreshes: rotation, rotations: rotation, reused: 0 });
        await settle();
        const tokens = await Promise.all(tabs.map(({ client }) => client.getAccessToken()));
        expect(new Set(tokens).size).toBe(1);
      }
      expect(worker.stats.graceAnswers).toBe(0);
    });
  });
}

describe('events across tabs', () => {
  beforeEach(() => {
    uninstall = installFakeLocks();
  });

  it('a sign-in in one tab signs the open tabs in, with its token', async () => {
    const { worker, tabs } = await threeTabs();
    expect(tabs[1].events).toEqual([
      { type: 'signed_in', sessionId: expect.any(String), fromOtherTab: true },
    ]);
    const token = await tabs[0].client.getAccessToken();
    expect(await tabs[2].client.getAccessToken()).toBe(token);
    expect(worker.stats.refreshes).toBe(0);
  });

  it('a tab opened later takes the token of an open tab instead of refreshing', async () => {
    const { worker, tabs, open } = await threeTabs();
    const late = open();
    expect(await late.client.getAccessToken()).toBe(await tabs[0].client.getAccessToken());
    expect(worker.stats.refreshes).toBe(0);
  });

  it('a tab opened alone picks the session up from the cookie', async () => {
    const { worker, tabs, open } = await threeTabs();
    const token = await tabs[0].client.getAccessToken();
    advance(880);
    const late = open();
    expect(await late.client.getAccessToken()).not.toBe(token);
    expect(worker.stats).toMatchObject({ refreshes: 1, reused: 0 });
  });

  it('pages opened at once while signed out: each tries the cookie, none waits long', async () => {
    const { worker, open } = await browser('cookie');
    const pages = [open(), open(), open()];
    const started = performance.now();
    const tokens = await Promise.all(pages.map(({ client }) => client.getAccessToken()));
    expect(tokens).toEqual([null, null, null]);
    // Each waited for the one before it to finish, not for RESULT_MS (1 s).
    expect(performance.now() - started).toBeLessThan(900);
    expect(worker.stats.refreshes).toBe(3);
    expect(pages.flatMap(({ events }) => events)).toEqual([]);
  });

  it('a sign-out in one tab signs the others out', async () => {
    const { worker, tabs } = await threeTabs();
    await tabs[1].client.signOut();
    await settle();
    for (const tab of [tabs[0], tabs[2]]) {
      expect(tab.events.at(-1)).toEqual({ type: 'signed_out', error: null, fromOtherTab: true });
      expect(await tab.client.getAccessToken()).toBeNull();
    }
    expect(tabs[1].events.at(-1)).toMatchObject({ type: 'signed_out', fromOtherTab: false });
    expect(worker.jar.refresh).toBeUndefined();
    expect(worker.stats.refreshes).toBe(0);
  });

  it('a refresh answered after another tab signed out does not sign this tab back in', async () => {
    const { worker, open } = await browser('cookie');
    // The answer to this tab's refresh arrives 100 ms late.
    const slow = open((fetch) => async (input, init) => {
      const res = await fetch(input, init);
      if (new Request(input, init).url.endsWith('/auth/refresh')) await settle(100);
      return res;
    });
    const other = open();
    await other.client.signIn({ email: EMAIL, password: PASSWORD });
    await settle();
    advance(880);
    const refreshing = slow.client.getAccessToken();
    await settle(30);
    await other.client.signOut();
    expect(await refreshing).toBeNull();
    expect(await slow.client.getAccessToken()).toBeNull();
    expect(slow.events.map((e) => e.type)).toEqual(['signed_in', 'signed_out']);
    expect(worker.stats.rotations).toBe(1);
  });

  it('a session the worker ended during a refresh ends in every tab', async () => {
    const { worker, tabs } = await threeTabs();
    worker.revokeAll(EMAIL);
    advance(880);
    expect(await tabs[2].client.getAccessToken()).toBeNull();
    await settle();
    for (const tab of tabs) {
      expect(tab.events.at(-1)).toMatchObject({
        type: 'signed_out',
        error: { code: 'invalid_refresh_token' },
      });
    }
    expect(await tabs[0].client.getAccessToken()).toBeNull();
    expect(worker.stats.refreshes).toBe(1);
  });

  it('a failed refresh is reported in every tab, and nobody is signed out', async () => {
    const { worker, tabs } = await threeTabs();
    worker.fail('/auth/refresh', 'network', 'network');
    advance(880);
    await expect(tabs[0].client.getAccessToken()).rejects.toMatchObject({
      code: 'network_error',
      status: 0,
    });
    await settle();
    for (const tab of tabs) {
      expect(tab.events.at(-1)).toMatchObject({ type: 'refresh_failed' });
    }
    const statuses = await burst(tabs, 5);
    expect(statuses.flat()).toEqual(Array(15).fill(200));
    expect(worker.stats).toMatchObject({ rotations: 1, reused: 0 });
  });

  it('keeps the refresh token out of every message between tabs', async () => {
    const { worker, tabs } = await threeTabs();
    const seen: unknown[] = [];
    const spy = vi.spyOn(BroadcastChannel.prototype, 'postMessage');
    advance(880);
    await tabs[0].client.getAccessToken();
    seen.push(...spy.mock.calls.map(([message]) => message));
    spy.mockRestore();
    expect(seen).toContainEqual({ t: 'token', s: expect.any(Object) });
    expect(JSON.stringify(seen)).not.toContain(worker.jar.refresh!);
  });
});
