import type * as z from 'zod';
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, invalidFields } from '../errors';
import { fill, strings } from './strings';

/** The posted form, validated by the same field schemas as the API (422 `validation_failed`). */
export async function parseForm<T extends z.ZodType>(
  c: Context<AppEnv>,
  schema: T,
): Promise<z.infer<T>> {
  const form = await c.req.parseBody();
  const result = schema.safeParse(form);
  if (result.success) return result.data;
  throw invalidFields(
    result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(form)',
      message: issue.message,
    })),
  );
}

export type PageFailure = {
  status: 400 | 401 | 403 | 404 | 409 | 422 | 423 | 429 | 503;
  message: string;
};

/**
 * What a page says about a refused action: the same words as the API's codes, written for
 * people, with the same enumeration-safe generality (one message for an unknown email and a
 * wrong password). Anything else is not a client's doing and goes to the error handler.
 */
export function pageFailure(c: Context<AppEnv>, err: unknown): PageFailure | null {
  if (!(err instanceof ApiError)) return null;
  const retryAfter = Number(err.extra.headers?.['Retry-After'] ?? 0);
  if (retryAfter > 0) c.header('Retry-After', String(retryAfter));
  const minutes = Math.max(1, Math.ceil(retryAfter / 60));
  const e = strings.errors;
  switch (err.code) {
    case 'validation_failed': {
      const errors = (err.extra.members?.errors ?? []) as { path: string; message: string }[];
      const message = errors.map((f) => `${label(f.path)}: ${f.message}.`).join(' ');
      return { status: 422, message };
    }
    case 'csrf_rejected':
      return { status: 403, message: e.csrf };
    case 'account_locked':
      return { status: 423, message: fill(e.account_locked, { minutes }) };
    case 'rate_limited':
      return { status: 429, message: fill(e.rate_limited, { minutes }) };
    case 'invalid_credentials':
    case 'invalid_current_password':
    case 'account_disabled':
    case 'email_not_verified':
    case 'recent_sign_in_required':
    case 'invalid_mfa_code':
    case 'invalid_passkey':
    case 'unauthorized':
    case 'invalid_code':
    case 'mfa_already_enabled':
    case 'last_sign_in_method':
    case 'not_found':
    case 'email_taken':
    case 'last_admin':
    case 'service_unavailable':
      return { status: err.status as PageFailure['status'], message: e[err.code] };
    default:
      return { status: err.status < 500 ? 400 : 503, message: e.generic };
  }
}

const LABELS: Record<string, string> = {
  email: 'Email',
  password: 'Password',
  new_password: 'New password',
  current_password: 'Current password',
  name: 'Name',
  code: 'Code',
};
const label = (path: string) => LABELS[path] ?? path;
