import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';

// Storage is isolated per test file; migrations are idempotent, so every file starts migrated.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
// The second session shard (docs/sharding.md) has its own schema.
await applyD1Migrations(env.SESSIONS_1, env.TEST_SHARD_MIGRATIONS);
