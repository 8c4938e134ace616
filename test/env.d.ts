import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_SHARD_MIGRATIONS: D1Migration[];
      /** JSON from vitest.config.ts: Python-made hashes of one password, or why there are none. */
      IMPORT_FIXTURES: string;
    }
  }
}
