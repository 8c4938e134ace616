import type { Config } from './config';
import type { Logger } from './logger';
import type { AccessClaims } from './crypto/jwt';

/** Hono environment: bindings from `wrangler types`, variables set by middleware. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    requestId: string;
    log: Logger;
    /** Set by the bearer middleware once the access token and its revocation state are checked. */
    auth: AccessClaims;
  };
};
