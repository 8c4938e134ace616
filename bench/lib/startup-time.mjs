import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './median.mjs';
import { runWrangler } from './processes.mjs';
import { tmp } from './workspace.mjs';

/**
 * `wrangler check startup` runs the built worker's top-level code in workerd under the CPU
 * profiler; Cloudflare's startup limit applies to the same phase. Reported: the profile's span
 * and the CPU samples that are not idle, median of three runs.
 */
export function startupTime(runs = 3) {
  const spans = [];
  const busy = [];
  for (let i = 0; i < runs; i++) {
    const file = join(tmp, `startup-${i}.cpuprofile`);
    runWrangler(['check', 'startup', '--outfile', file], 'wrangler check startup');
    const profile = JSON.parse(readFileSync(file, 'utf8'));
    const idle = new Set(
      profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
    );
    let cpu = 0;
    profile.samples.forEach((id, k) => {
      if (!idle.has(id)) cpu += profile.timeDeltas[k] ?? 0;
    });
    spans.push((profile.endTime - profile.startTime) / 1000);
    busy.push(cpu / 1000);
  }
  return { profileSpanMs: median(spans), cpuMs: median(busy), runs };
}
