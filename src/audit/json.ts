// Kept apart from audit.ts, which the config's module graph reaches (src/keys): this one needs
// the user module's `iso`, and with it @hono/zod-openapi, which preflight's bundle of
// src/config.ts must not pull in (scripts/preflight/worker-config.mjs).
import type { auditEvents } from '../db/schema';
import { iso } from '../users/users';

/** An audit event as the API shows it (GET /admin/audit, GET /users/me/export). */
export function auditEventJson(e: typeof auditEvents.$inferSelect) {
  return {
    id: e.id,
    at: iso(e.at),
    type: e.type,
    user_id: e.userId,
    ip: e.ip,
    user_agent: e.userAgent,
    request_id: e.requestId,
    detail: JSON.parse(e.detail) as Record<string, unknown>,
  };
}
