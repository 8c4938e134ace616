import { createMiddleware } from 'hono/factory';
import { ConfigError, loadConfig } from '../config';
import type { AppEnv } from '../env';
import { ApiError, problem } from '../errors';
import { createLogger, logRequest, type LogLevel } from '../logger';

// API.md: the client's X-Request-Id is kept when it is a sane token of at most 128 characters.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The path of an absolute URL as sent (percent-encoded), without its query string. */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  const query = url.indexOf('?', start);
  return url.slice(start, query === -1 ? undefined : query);
}

/**
 * Request id, validated config and a logger for every request, plus the one access-log line.
 * The path is logged without its query string: a token pasted into a URL must not reach a log.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = Date.now();
  const offered = c.req.header('X-Request-Id');
  const requestId = offered && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
  c.set('requestId', requestId);
  let level: LogLevel = 'info';

  try {
    let misconfigured: ConfigError | undefined;
    try {
      const config = loadConfig(c.env);
      c.set('config', config);
      level = config.LOG_LEVEL;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      misconfigured = err;
    } finally {
      // One logger per request, at the configured level once that is known (onError needs it).
      c.set('log', createLogger(level, { request_id: requestId }));
    }
    if (misconfigured) {
      c.var.log.error('server misconfigured', { problems: misconfigured.problems });
      // Set here rather than thrown, so the access log below sees the 500.
      c.res = problem(c, new ApiError('server_misconfigured'));
      return;
    }
    await next();
  } finally {
    c.header('X-Request-Id', requestId);
    logRequest(
      level,
      requestId,
      c.req.method,
      pathOf(c.req.url),
      c.res.status,
      Date.now() - started,
    );
  }
});
