import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import type { Context } from 'hono';
import { auditContext } from '../audit/audit';
import type { Config } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { requireRole } from '../middleware/roles';
import { createRouter } from '../router';
import { problem } from '../routes/openapi';
import { iso } from '../users/users';
import { liveKeys } from './queries';
import { advanceKeys, removeKey, rotateSoon, type Actor } from './rotation';

const admin = {
  security: [{ bearer: [] as string[] }],
  middleware: requireRole('admin'),
  tags: ['Administration'],
};
const denied = { 401: problem, 403: problem };

const keyObject = z
  .object({
    kid: z.string(),
    state: z.enum(['next', 'current', 'retiring']),
    created_at: z.string(),
    /** When it signs (signed) its first token. */
    activates_at: z.string(),
    /** When it stops (stopped) signing: planned for next and current keys. */
    retires_at: z.string(),
  })
  .openapi('SigningKey');

/** The store needs its sealing key; without it the worker signs with JWT_SIGNING_KEYS only. */
function storeConfig(c: Context<AppEnv>): Config {
  const config = c.var.config;
  if (!config.KEY_ENCRYPTION_KEY) {
    throw new ApiError(
      'server_misconfigured',
      'Stored signing keys need KEY_ENCRYPTION_KEY; see docs/keys.md.',
    );
  }
  return config;
}

const actor = (c: Context<AppEnv>): Actor => ({ ctx: auditContext(c), userId: c.var.auth.sub });

export const keysApi = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/admin/keys',
      middleware: admin.middleware,
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Signing keys in service: next, current and retiring',
        description:
          'Brings the keys to the present first (the hourly schedule may not have run since a ' +
          'key became due), so the states shown are the ones the worker signs and verifies with.',
        responses: {
          200: {
            description: 'The keys, newest first',
            content: { 'application/json': { schema: z.object({ keys: z.array(keyObject) }) } },
          },
          ...denied,
        },
      }),
    }),
    async (c) => {
      const config = storeConfig(c);
      const now = Date.now();
      await advanceKeys(c.env.DB, config, now, actor(c));
      const rows = (await liveKeys(c.env.DB)).sort((a, b) => b.activatesAt - a.activatesAt);
      const next = rows.find((r) => r.state === 'next');
      const keys = rows.map((row) => {
        const state = row.state as 'next' | 'current' | 'retiring';
        const planned =
          state === 'current' && next
            ? next.activatesAt
            : row.activatesAt + config.KEY_ROTATION_INTERVAL * 1000;
        return {
          kid: row.kid,
          state,
          created_at: iso(row.createdAt),
          activates_at: iso(row.activatesAt),
          retires_at: iso(row.retiredAt ?? planned),
        };
      });
      c.header('Cache-Control', 'no-store');
      return c.json({ keys }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/admin/keys/rotate',
      middleware: admin.middleware,
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Rotate now: the next key takes over as soon as every cache can have it',
        description:
          'The next key (made now if there is none) becomes current once it has been published ' +
          'for one JWKS cache lifetime plus clock skew; never earlier. No body.',
        responses: { 202: { description: 'Scheduled' }, ...denied },
      }),
    }),
    async (c) => {
      await rotateSoon(c.env.DB, storeConfig(c), Date.now(), actor(c));
      return c.body(null, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/admin/keys/{kid}',
      middleware: admin.middleware,
      request: { params: z.object({ kid: z.string().min(1).max(128) }) },
      ...(__OPENAPI_DOCS__ && {
        security: admin.security,
        tags: admin.tags,
        summary: 'Emergency removal of a signing key',
        description:
          'The key leaves the JWKS and every token it signed is refused by this worker at once. ' +
          'A removed current key is replaced immediately; downstream caches learn the new key ' +
          'when they refetch (docs/keys.md).',
        responses: { 204: { description: 'Removed' }, ...denied, 404: problem },
      }),
    }),
    async (c) => {
      const config = storeConfig(c);
      const { kid } = c.req.valid('param');
      if (!(await removeKey(c.env.DB, c.env.KV, config, kid, Date.now(), actor(c)))) {
        throw new ApiError('not_found', 'No signing key in service has this kid.');
      }
      return c.body(null, 204);
    },
  );
