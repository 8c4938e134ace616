// Shared by the packages' own tests: `npm pack --dry-run` and the minified bundle size.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const run = promisify(execFile);
const dir = (name: string) => new URL(`./${name}/`, import.meta.url).pathname;

/** The paths `npm pack` would put in the tarball (its prepack builds dist/ first). */
export async function packedFiles(name: string): Promise<string[]> {
  const { stdout, stderr } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: dir(name) });
  if (/npm (warn|error)/i.test(stderr)) throw new Error(`npm pack complained:\n${stderr}`);
  const [report] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ files: { path: string }[] }];
  return report.files.map((file) => file.path).sort();
}

/** What a bundler would ship of `src/index.ts`: minified ESM, raw and gzip bytes. */
export async function bundleSize(name: string) {
  const out = await build({
    entryPoints: [`${dir(name)}src/index.ts`],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    external: ['jose', 'hono'],
  });
  const bytes = out.outputFiles[0]!.contents;
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
