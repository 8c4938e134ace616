import { afterEach, describe, expect, it, vi } from 'vitest';
import { logRequest } from '../src/logger';
import { call } from './helpers';

afterEach(() => vi.restoreAllMocks());

const accessLines = (log: { mock: { calls: unknown[][] } }) =>
  log.mock.calls
    .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
    .filter((line) => line.msg === 'request');

describe('the access-log line', () => {
  it.each([
    ['plain', 'GET', '/health/live'],
    ['quotes and backslashes', 'POST', '/a"b\\c'],
    ['control characters', 'GET', '/a\nb\tc\u0000'],
    ['line separators and emoji', 'GET', '/\u2028\u2029/😀'],
    ['a lone surrogate', 'GET', '/\ud800'],
  ])('is what JSON.stringify writes for the same object (%s)', (_, method, path) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    logRequest('info', 'req-1', method, path, 204, 3);
    expect(log).toHaveBeenCalledOnce();
    expect(log.mock.calls[0]![0]).toBe(
      JSON.stringify({
        level: 'info',
        msg: 'request',
        request_id: 'req-1',
        method,
        path,
        status: 204,
        duration_ms: 3,
      }),
    );
  });

  it.each(['warn', 'error', 'silent'] as const)('is not written at LOG_LEVEL=%s', (level) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    logRequest(level, 'req-1', 'GET', '/', 200, 0);
    expect(log).not.toHaveBeenCalled();
  });

  it('is written once per request, at info, with the path as sent and without the query', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await call('/health/live/x%20y?token=secret-in-url', {}, { LOG_LEVEL: 'info' });
    const lines = accessLines(log);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'info', path: '/health/live/x%20y', status: 404 }),
    ]);
    expect(JSON.stringify(log.mock.calls)).not.toContain('secret-in-url');
  });

  it('is written for a misconfigured worker too, with its 500', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await call('/health/live', {}, { ISSUER: 'not a url', LOG_LEVEL: 'info' });
    expect(res.status).toBe(500);
    expect(accessLines(log)).toEqual([expect.objectContaining({ status: 500 })]);
    expect(error).toHaveBeenCalledWith(expect.stringContaining('server misconfigured'));
  });
});
