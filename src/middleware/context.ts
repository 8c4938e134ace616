import { createMiddleware } from 'hono/factory';
import { ConfigError, loadConfig } from '../config';
import type { AppEnv } from '../env';
import { ApiError, problem } from '../errors';
import { createLogger } from '../logger';

// API.md: the client's X-Request-Id is kept when it is a sane token of at most 128 characters.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id, validated config and a logger for every request, plus the one access-log line.
 * The path is logged without its query string: a token pasted into a URL must not reach a log.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  const offered = c.req.header('X-Request-Id');
  const requestId = offered && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
  c.set('requestId', requestId);
  c.set('log', createLogger('info', { request_id: requestId }));

  try {
    try {
      const config = loadConfig(c.env);
      c.set('config', config);
      c.set('log', createLogger(config.LOG_LEVEL, { request_id: requestId }));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      c.var.log.error('server misconfigured', { problems: err.problems });
      // Set here rather than thrown, so the access log below sees the 500.
      c.res = problem(c, new ApiError('server_misconfigured'));
      return;
    }
    await next();
  } finally {
    c.header('X-Request-Id', requestId);
    c.var.log.info('request', {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: Date.now() - started,
    });
  }
});
