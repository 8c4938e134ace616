import * as z from 'zod';
import { requireAuth } from '../middleware/bearer';

/**
 * Shared pieces of route definitions. A definition keeps what the worker runs (method, path,
 * middleware, request schemas) at its top level and its documentation (tags, summary,
 * description, security, responses with their schemas) in one `...(__OPENAPI_DOCS__ && { ... })`
 * block, which only `npm run openapi` builds (src/openapi/docs-flag.d.ts): so with `bearer`,
 * `middleware: bearer.middleware` outside the block and `security: bearer.security` inside.
 */
export const problem = { description: 'Problem details (RFC 9457)' } as const;

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  body: { required, content: { 'application/json': { schema } } },
});

export const bearer = { security: [{ bearer: [] as string[] }], middleware: requireAuth };
