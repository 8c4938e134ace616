// What `npm pack` ships and what Node resolves through the exports map.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { packedFiles } from '../../package-checks.ts';

describe('@edge-auth/verify as a package', () => {
  it('packs only package.json, the README and the ESM build with its declarations', async () => {
    expect(await packedFiles('verify')).toEqual([
      'README.md',
      'dist/hono.d.ts',
      'dist/hono.js',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/introspection.d.ts',
      'dist/introspection.js',
      'dist/key-set.d.ts',
      'dist/key-set.js',
      'package.json',
    ]);
  });

  it('resolves both entry points through its exports map to the build', async () => {
    const { createVerifier } = await import('@edge-auth/verify');
    const { requireAuth } = await import('@edge-auth/verify/hono');
    expect(typeof createVerifier).toBe('function');
    expect(typeof requireAuth).toBe('function');
    expect(import.meta.resolve('@edge-auth/verify/hono')).toMatch(
      /packages\/verify\/dist\/hono\.js$/,
    );
  });

  it('depends at run time on jose only (hono is an optional peer, for types)', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      dependencies: object;
      peerDependenciesMeta: object;
    };
    expect(Object.keys(pkg.dependencies)).toEqual(['jose']);
    expect(pkg.peerDependenciesMeta).toEqual({ hono: { optional: true } });
  });
});
