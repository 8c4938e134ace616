import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env';
import { invalidFields } from './errors';

/** A router whose request validation failures become 422 `validation_failed` problems. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      throw invalidFields(
        result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.') || '(body)',
          message: issue.message,
        })),
      );
    },
  });
}
