// Debian's Chromium, headless, driven by playwright-core (never a downloaded browser), and kept
// hermetic: it may reach this machine's loopback servers only.
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const LOOPBACK = new Set(['127.0.0.1', 'localhost']);

/** Launches Chromium; its close() is added to ctx.cleanups. */
export async function launchChromium(ctx) {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (or set E2E_CHROMIUM)`);
  }
  const { chromium } = await import('playwright-core');
  const instance = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 30_000,
  });
  ctx.cleanups.push(() => instance.close().catch(() => {}));
  return instance;
}

/**
 * A new browser context whose requests to anything but loopback (CDNs) are refused; `blocked`
 * collects the origins it refused. `options` go to newContext (`javaScriptEnabled: false`).
 */
export async function hermeticContext(instance, options = {}) {
  const context = await instance.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(15_000);
  const blocked = new Set();
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    // Chromium resolves *.localhost to loopback itself (RFC 6761), never through DNS.
    const loopback = LOOPBACK.has(url.hostname) || url.hostname.endsWith('.localhost');
    if (loopback || url.protocol === 'data:') return route.continue();
    blocked.add(url.origin);
    return route.abort('blockedbyclient');
  });
  return { context, blocked };
}
