import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { runWrangler } from './processes.mjs';
import { tmp } from './workspace.mjs';

/** `wrangler deploy --dry-run --env production --outdir`: what a deploy would upload. */
export function bundleSize() {
  const outdir = join(tmp, 'bundle');
  const out = runWrangler(
    ['deploy', '--dry-run', '--env', 'production', '--outdir', outdir],
    'wrangler deploy --dry-run',
  );
  let raw = 0;
  let gzip = 0;
  for (const file of readdirSync(outdir)) {
    if (!/\.(m?js|wasm)$/.test(file)) continue;
    const bytes = readFileSync(join(outdir, file));
    raw += bytes.length;
    gzip += gzipSync(bytes).length;
  }
  const reported = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(out);
  return {
    rawKiB: raw / 1024,
    gzipKiB: gzip / 1024,
    wranglerReported: reported
      ? { rawKiB: Number(reported[1]), gzipKiB: Number(reported[2]) }
      : null,
  };
}
