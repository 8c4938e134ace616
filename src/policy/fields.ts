import * as z from 'zod';
import { inArray } from 'drizzle-orm';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { commonPasswords } from '../db/schema';
import { invalidFields } from '../errors';
import type { Logger } from '../logger';
import { isBreachedPassword } from './breached';
import { canonicalEmail, emailProblem } from './email';
import { MAX_PASSWORD_LENGTH, checkPassword, normalizePassword } from './password';
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
 * Every password a client sends, new or offered as proof, in its one normalised form (see
 * normalizePassword): at most MAX_PASSWORD_LENGTH code points after NFKC, whatever form it came
 * in. The raw bound only keeps a huge input from costing CPU; it leaves room for decomposed
 * input (128 Hangul syllables in NFD are 384 UTF-16 units). The new-password policy (minimum
 * length, common passwords) is validNewPassword's.
 */
export const passwordField = z
  .string()
  .max(MAX_PASSWORD_LENGTH * 8)
  .transform(normalizePassword)
  .pipe(
    z
      .string()
      .min(1, 'must not be empty')
      .refine((p) => [...p].length <= MAX_PASSWORD_LENGTH, {
        message: `must be at most ${MAX_PASSWORD_LENGTH} characters`,
      }),
  )
  .openapi({ type: 'string', format: 'password' });

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
