// The run's scratch directory: state, logs and snapshots of the tree, removed at the end (kept,
// with the logs, when the run fails).
import { cpSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ROOT } from './settings.mjs';

export const tmp = mkdtempSync(join(tmpdir(), 'edge-auth-bench-'));

// wrangler dev rebuilds and restarts the worker on every change under the project, and this
// tree is edited while benchmarks run: every wrangler command works on a snapshot of it instead,
// each long-running one on its own copy (one stopping must not touch another's directory).
export const TREE = join(tmp, 'tree');

const NOT_COPIED =
  /^(node_modules|\.git|\.wrangler|test-output|\.dev\.vars)(\/|$)|^bench\/results\.json$/;

/** Copies the tree `from` to `dir`, node_modules linked, and returns `dir`. */
export function snapshot(dir, from = ROOT) {
  cpSync(from, dir, {
    recursive: true,
    filter: (path) => !NOT_COPIED.test(relative(from, path)),
  });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
