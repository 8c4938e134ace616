import * as z from 'zod';
import { requireAuth } from '../middleware/bearer';

/** Shared pieces of route definitions. */
export const problem = { description: 'Problem details (RFC 9457)' } as const;

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({
  body: { required, content: { 'application/json': { schema } } },
});

export const bearer = { security: [{ bearer: [] as string[] }], middleware: requireAuth };
