// What `npm pack` ships and what a bundler or Node resolves through the exports map.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleSize, packedFiles } from '../../package-checks.ts';

describe('@edge-auth/client as a package', () => {
  it('packs only package.json, the README and the ESM build with its declarations', async () => {
    expect(await packedFiles('client')).toEqual([
      'README.md',
      'dist/errors.d.ts',
      'dist/errors.js',
      'dist/http.d.ts',
      'dist/http.js',
      'dist/index.d.ts',
      'dist/index.js',
      'dist/passkeys.d.ts',
      'dist/passkeys.js',
      'dist/tabs.d.ts',
      'dist/tabs.js',
      'dist/types.d.ts',
      'dist/types.js',
      'package.json',
    ]);
  });

  it('resolves through its exports map to the build', async () => {
    const { createAuthClient, AuthError } = await import('@edge-auth/client');
    expect(typeof createAuthClient).toBe('function');
    expect(new AuthError('x', 400)).toBeInstanceOf(Error);
    expect(import.meta.resolve('@edge-auth/client')).toMatch(/packages\/client\/dist\/index\.js$/);
  });

  it('has no runtime dependency and stays under 5 KiB gzip, minified', async () => {
    const { dependencies } = JSON.parse(
      readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
    ) as {
      dependencies?: object;
    };
    expect(dependencies).toBeUndefined();
    const { gzip } = await bundleSize('client');
    expect(gzip).toBeLessThan(5 * 1024);
  });
});
