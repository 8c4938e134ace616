// The README's quick starts are the example files the end-to-end suite runs, verbatim.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { quickStarts } from '../../scripts/lib/readme-blocks.mjs';

describe('README quick starts', () => {
  const blocks = quickStarts('README.md');

  it('has one for a Vite app and one for a Hono API', () => {
    expect(Object.keys(blocks).sort()).toEqual([
      'examples/downstream-worker/src/index.ts',
      'examples/vite-app/main.js',
    ]);
  });

  for (const [file, code] of Object.entries(blocks)) {
    it(`shows ${file} exactly`, () => {
      expect(code).toBe(readFileSync(file, 'utf8'));
    });
  }
});
