import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { ApiError } from '../errors';
import { createRouter } from '../router';

const PROBE_TIMEOUT_MS = 2_000;
type Check = 'ok' | 'error';

async function probe(run: () => Promise<unknown>): Promise<Check> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([run(), timeout]);
    return 'ok';
  } catch {
    return 'error';
  } finally {
    clearTimeout(timer);
  }
}

const status = z.object({ status: z.literal('ok') });

export const health = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/health/live',
      ...(__OPENAPI_DOCS__ && {
        tags: ['Health'],
        summary: 'The isolate answers; no storage is touched',
        responses: {
          200: { description: 'Alive', content: { 'application/json': { schema: status } } },
        },
      }),
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/health/ready',
      ...(__OPENAPI_DOCS__ && {
        tags: ['Health'],
        summary: 'D1 and KV both answer',
        responses: {
          200: {
            description: 'Ready',
            content: {
              'application/json': {
                schema: status.extend({
                  checks: z.object({ d1: z.literal('ok'), kv: z.literal('ok') }),
                }),
              },
            },
          },
          503: { description: 'A dependency does not answer; `checks` names it' },
        },
      }),
    }),
    async (c) => {
      const [d1, kv] = await Promise.all([
        probe(() => c.env.DB.prepare('SELECT 1').first()),
        probe(() => c.env.KV.get('health:probe')),
      ]);
      c.header('Cache-Control', 'no-store');
      if (d1 === 'error' || kv === 'error') {
        const failing = [d1 === 'error' && 'd1', kv === 'error' && 'kv'].filter(Boolean);
        c.var.log.error('readiness check failed', { failing });
        throw new ApiError('service_unavailable', `Not ready: ${failing.join(', ')}.`, {
          members: { checks: { d1, kv } },
          headers: { 'Retry-After': '5' },
        });
      }
      return c.json({ status: 'ok' as const, checks: { d1, kv } as const }, 200);
    },
  );
