const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;
type Fields = Record<string, unknown>;

export type Logger = {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
};

/**
 * One JSON object per line, each carrying the request id. Callers pass only ids, codes and
 * counts: never a password, token, secret or email body (tests scan every line for those).
 */
export function createLogger(level: LogLevel, base: Fields): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>, msg: string, fields?: Fields) => {
    if (LEVELS[at] < LEVELS[level]) return;
    const line = JSON.stringify({ level: at, msg, ...base, ...fields });
    if (at === 'error') console.error(line);
    else if (at === 'warn') console.warn(line);
    else console.log(line);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/**
 * The access-log line of one request: the line `createLogger(level, { request_id }).info('request',
 * { method, path, status, duration_ms })` writes, formatted without building and serialising that
 * object, since every request writes one (bench/README.md, "Request floor").
 */
export function logRequest(
  level: LogLevel,
  requestId: string,
  method: string,
  path: string,
  status: number,
  durationMs: number,
): void {
  if (LEVELS.info < LEVELS[level]) return;
  console.log(
    `{"level":"info","msg":"request","request_id":${JSON.stringify(requestId)},"method":${JSON.stringify(method)},"path":${JSON.stringify(path)},"status":${status},"duration_ms":${durationMs}}`,
  );
}
