// Every state of the worker's pages, seen three ways and scanned: a screenshot in light, in dark
// (prefers-color-scheme) and at 375 px wide into test-output/e2e/pages/, and an axe-core scan in
// light and in dark (the colours, so the contrast, differ). A state is captured in the journey's
// own page, where the journey reached it: several (the answer to a POST, the recovery codes)
// cannot be loaded a second time. Findings are collected and judged at the end by `verdicts`, so
// one finding does not cut a journey short.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import { outDir } from './harness.mjs';

export const shotsDir = join(outDir, 'pages');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 375, height: 812 };
const FAILING = new Set(['serious', 'critical']);

/** A rule's finding without the per-node HTML that makes axe's full output unreadable. */
const brief = (v) => ({
  id: v.id,
  impact: v.impact,
  help: v.help,
  nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })),
});

/**
 * Runs axe-core in the page. Playwright's evaluate goes through the DevTools protocol, which a
 * page's Content-Security-Policy does not govern, so the pages keep their real policy (no
 * `bypassCSP`) and the scan sees exactly what a user gets.
 */
async function scan(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axe.source);
  const result = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations', 'incomplete'] }),
  );
  return {
    violations: result.violations,
    incomplete: result.incomplete.map(brief),
    passes: result.passes.map((p) => p.id),
  };
}

export function pageAudit() {
  mkdirSync(shotsDir, { recursive: true });
  const states = [];

  /** Screenshots and scans of the page's current state, under `name`. */
  async function capture(page, name) {
    const file = (suffix) =>
      join(shotsDir, `${String(states.length + 1).padStart(2, '0')}-${name}-${suffix}.png`);
    const state = { name, url: page.url().replace(/token=[^&]+/, 'token=…') };
    await page.setViewportSize(DESKTOP);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: file('light'), fullPage: true });
    state.light = await scan(page);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: file('dark'), fullPage: true });
    state.dark = await scan(page);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: file('375'), fullPage: true });
    // Wider than the viewport means sideways scrolling on a phone.
    state.width375 = await page.evaluate(() => document.documentElement.scrollWidth);
    await page.setViewportSize(DESKTOP);
    states.push(state);
  }

  /** Writes test-output/e2e/axe.json and returns what failed: violations and overflow. */
  function verdicts() {
    const report = {
      axeVersion: axe.version,
      failOn: [...FAILING],
      states: states.map((s) => ({
        name: s.name,
        url: s.url,
        widthAt375: s.width375,
        light: s.light,
        dark: s.dark,
      })),
    };
    writeFileSync(join(outDir, 'axe.json'), `${JSON.stringify(report, null, 2)}\n`);
    const serious = [];
    const byImpact = {};
    for (const s of states) {
      for (const scheme of ['light', 'dark']) {
        for (const v of s[scheme].violations) {
          byImpact[v.impact] = (byImpact[v.impact] ?? 0) + 1;
          if (FAILING.has(v.impact)) {
            const where = v.nodes.map((n) => n.target.join(' ')).join(', ');
            serious.push(`${s.name} (${scheme}): ${v.impact} ${v.id}: ${v.help} [${where}]`);
          }
        }
      }
    }
    const overflow = states
      .filter((s) => s.width375 > PHONE.width)
      .map((s) => `${s.name}: ${s.width375} px wide at ${PHONE.width} px`);
    return { states: states.length, serious, byImpact, overflow };
  }

  return { capture, verdicts };
}
