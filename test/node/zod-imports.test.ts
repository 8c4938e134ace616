// The worker's bundle replaces zod's namespace object `z` (wrangler.toml [alias],
// src/zod-namespace-stub.ts): a module that imported `{ z }` from zod or @hono/zod-openapi would
// get a stand-in there (unit tests run without the alias, so only this check sees it) and, were the
// stand-in lifted, keep all of zod in the bundle. Source files import `* as z from 'zod'`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const WHOLE_NAMESPACE =
  /import\s+(?!type\b)(?:z\b|\{[^}]*\bz\b[^}]*\})[^;]*from\s+['"](?:zod(?:\/v4)?|@hono\/zod-openapi)['"]/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe('zod imports in src/', () => {
  it('never take the namespace object `z` as a value', () => {
    const offenders = sources(join(root, 'src'))
      .filter((file) => !file.endsWith('zod-namespace-stub.ts'))
      .filter((file) => WHOLE_NAMESPACE.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file));
    expect(offenders).toEqual([]);
  });

  it('recognises the imports it forbids', () => {
    for (const bad of [
      "import { z } from 'zod';",
      "import { createRoute, z } from '@hono/zod-openapi';",
      'import z from "zod";',
      "import { z, type ZodType } from 'zod/v4';",
    ]) {
      expect(bad).toMatch(WHOLE_NAMESPACE);
    }
    for (const good of [
      "import * as z from 'zod';",
      "import type * as z from 'zod';",
      "import type { z } from '@hono/zod-openapi';",
      "import { createRoute } from '@hono/zod-openapi';",
    ]) {
      expect(good).not.toMatch(WHOLE_NAMESPACE);
    }
  });
});
