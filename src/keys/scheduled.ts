import type { Config } from '../config';
import type { Logger } from '../logger';
import { liveKeys } from './queries';
import { forgetStoredKeys } from './ring';
import { advanceKeys, SCHEDULE } from './rotation';

/**
 * The cron's key step (index.ts `scheduled`): promotes, makes and drops keys on time. A failure
 * is logged and thrown, after housekeeping ran, so the invocation shows as failed.
 */
export async function scheduledKeys(d1: D1Database, config: Config, now: number, log: Logger) {
  if (!config.KEY_ENCRYPTION_KEY) {
    log.info('signing keys: not rotated (KEY_ENCRYPTION_KEY unset, JWT_SIGNING_KEYS signs)');
    return;
  }
  try {
    await advanceKeys(d1, config, now, SCHEDULE);
    // This isolate sees its own changes at once; the others within one ring TTL.
    forgetStoredKeys();
    const keys = await liveKeys(d1);
    log.info('signing keys', { keys: keys.map((k) => ({ kid: k.kid, state: k.state })) });
  } catch (err) {
    log.error('signing keys: rotation step failed', {
      error: err instanceof Error ? err.name : typeof err,
      message: err instanceof Error ? err.message : String(err),
    });
    throw err;
  }
}
