import { z } from '@hono/zod-openapi';
import { eq } from 'drizzle-orm';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { commonPasswords } from '../db/schema';
import { invalidFields } from '../errors';
import { canonicalEmail, emailProblem } from './email';
import { MAX_PASSWORD_LENGTH, checkPassword, normalizePassword } from './password';

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
 * The NFKC form of a new password, or a 422 naming `field` with the policy it breaks. The list
 * of the 10,000 most common passwords (NIST SP 800-63B §3.1.1.2) is one indexed D1 read.
 */
export async function validNewPassword(
  db: Database,
  password: string,
  email: string,
  config: Config,
  field: string,
): Promise<string> {
  const result = checkPassword(password, {
    email,
    minLength: config.MIN_PASSWORD_LENGTH,
    productName: config.PRODUCT_NAME,
  });
  if (result.ok && !(await isCommonPassword(db, result.password))) return result.password;
  throw invalidFields([{ path: field, message: result.ok ? 'is too common' : result.problem }]);
}

export async function isCommonPassword(db: Database, password: string): Promise<boolean> {
  const [row] = await db
    .select({ password: commonPasswords.password })
    .from(commonPasswords)
    .where(eq(commonPasswords.password, password.toLowerCase()));
  return row !== undefined;
}
