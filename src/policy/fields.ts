import { z } from '@hono/zod-openapi';
import type { Config } from '../config';
import { ApiError } from '../errors';
import { canonicalEmail, emailProblem } from './email';
import { MAX_PASSWORD_LENGTH, checkPassword } from './password';

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

/** The NFKC form of a new password, or a 422 naming `field` with the policy it breaks. */
export function validNewPassword(
  password: string,
  email: string,
  config: Config,
  field: string,
): string {
  const result = checkPassword(password, {
    email,
    minLength: config.MIN_PASSWORD_LENGTH,
    productName: config.PRODUCT_NAME,
  });
  if (result.ok) return result.password;
  throw new ApiError('validation_failed', 'Some fields are not valid.', {
    members: { errors: [{ path: field, message: result.problem }] },
  });
}
