import { z } from '@hono/zod-openapi';
import { inArray } from 'drizzle-orm';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { commonPasswords } from '../db/schema';
import { invalidFields } from '../errors';
import type { Logger } from '../logger';
import { isBreachedPassword } from './breached';
import { canonicalEmail, emailProblem } from './email';
import { MAX_PASSWORD_LENGTH, checkPassword } from './password';
import { lookupForms } from './skeleton.mjs';

/** An email field, canonicalised before it is validated, stored or compared. */
export const emailField = z
  .string()
  .max(320)
  .transform(canonicalEmail)
  .superRefine((email, ctx) => {
    const problem = emailProblem(email);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .openapi({ type: 'string', format: 'email', example: 'ana@example.com' });

/**
 * A password offered at login: only the upper bound, refused before any hashing (a long input
 * must not buy CPU). Older accounts may predate the current policy, so nothing else is checked.
 */
export const loginPassword = z
  .string()
  .min(1)
  .max(MAX_PASSWORD_LENGTH * 2)
  .refine((p) => [...p.normalize('NFKC')].length <= MAX_PASSWORD_LENGTH, {
    message: `must be at most ${MAX_PASSWORD_LENGTH} characters`,
  });

/**
 * The NFKC form of a new password, or a 422 naming `field` with the policy it breaks: the rules
 * of checkPassword, then the list of common passwords (NIST SP 800-63B §3.1.1.2) in one indexed
 * D1 read, then, when configured, the breached-password range API.
 */
export async function validNewPassword(
  db: Database,
  password: string,
  email: string,
  config: Config,
  field: string,
  log: Logger,
): Promise<string> {
  const result = checkPassword(password, {
    email,
    minLength: config.MIN_PASSWORD_LENGTH,
    productName: config.PRODUCT_NAME,
  });
  const refused = (message: string) => invalidFields([{ path: field, message }]);
  if (!result.ok) throw refused(result.problem);
  if (await isCommonPassword(db, result.password)) throw refused('is too common');
  if (
    config.BREACHED_PASSWORD_CHECK === 'range' &&
    (await isBreachedPassword(result.password, config, log))
  ) {
    throw refused('has appeared in a data breach');
  }
  return result.password;
}

/**
 * Whether the password, lower-cased, or its skeleton (skeleton.mjs) is among the 100,000 most
 * common passwords of 8 or more code points or their skeletons (data/README.md).
 */
export async function isCommonPassword(db: Database, password: string): Promise<boolean> {
  const [row] = await db
    .select({ password: commonPasswords.password })
    .from(commonPasswords)
    .where(inArray(commonPasswords.password, lookupForms(password.toLowerCase())))
    .limit(1);
  return row !== undefined;
}
