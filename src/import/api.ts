import { createRoute } from '@hono/zod-openapi';
import * as z from 'zod';
import { auditContext } from '../audit/audit';
import { database } from '../db/client';
import { requireRole } from '../middleware/roles';
import { nameField } from '../users/users';
import { createRouter } from '../router';
import { jsonBody, problem } from '../routes/openapi';
import { importUsers } from './import-users';

/** At most this many users a request (API.md): one D1 batch, well within a request's CPU. */
export const MAX_IMPORT_USERS = 1_000;

const importedUser = z.object({
  // Checked per user (a bad address is skipped as `invalid_email`, not a failed batch).
  email: z.string().max(320),
  name: nameField.optional(),
  email_verified: z.boolean().optional(),
  role: z.enum(['user', 'admin']).optional(),
  password_hash: z
    .string()
    .max(400)
    .optional()
    .openapi({
      description:
        'bcrypt ($2a$, $2b$, $2y$; prefixed with "prehash-sha256-hex:" when bcrypt was given ' +
        'the hex SHA-256 of the password), argon2id or scrypt (PHC), PBKDF2 ($pbkdf2-sha256$, ' +
        '$pbkdf2-sha512$ as passlib writes them, or Django pbkdf2_sha256$). Verified at the ' +
        "first sign-in, then replaced by the worker's own hash.",
    }),
});

const skipped = z.object({
  email: z.string(),
  reason: z.enum([
    'invalid_email',
    'duplicate',
    'exists',
    'unsupported_hash',
    'malformed_hash',
    'hash_cost_too_high',
  ]),
});

export const importApi = createRouter().openapi(
  createRoute({
    method: 'post',
    path: '/admin/users/import',
    middleware: requireRole('admin'),
    request: jsonBody(
      z.object({
        users: z
          .array(importedUser)
          .min(1)
          .max(MAX_IMPORT_USERS, `at most ${MAX_IMPORT_USERS} users per request`),
      }),
    ),
    ...(__OPENAPI_DOCS__ && {
      security: [{ bearer: [] as string[] }],
      tags: ['Administration'],
      summary: 'Create accounts for existing users, with the password hashes they already have',
      responses: {
        200: {
          description: 'What was created, and what was skipped and why',
          content: {
            'application/json': {
              schema: z.object({ created: z.number(), skipped: z.array(skipped) }),
            },
          },
        },
        401: problem,
        403: problem,
        413: problem,
        422: problem,
      },
    }),
  }),
  async (c) => {
    const { users } = c.req.valid('json');
    const db = database(c.env.DB);
    const result = await importUsers(db, auditContext(c), c.var.auth.sub, users, Date.now());
    c.header('Cache-Control', 'no-store');
    return c.json(result, 200);
  },
);
