// What @edge-auth/client costs a web app: its sources bundled as an app's bundler would
// (esbuild, which wrangler ships, minified ESM), raw and gzip. The budget is 5 KiB gzip.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { join } from 'node:path';
import { TREE } from './workspace.mjs';

export async function clientSize() {
  const out = await build({
    entryPoints: [join(TREE, 'packages/client/src/index.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const bytes = out.outputFiles[0].contents;
  return { rawKiB: bytes.length / 1024, gzipKiB: gzipSync(bytes, { level: 9 }).length / 1024 };
}
