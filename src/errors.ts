import type { Context } from 'hono';

/** Every error code the API can answer with, and its HTTP status (see ../shared/API.md). */
const STATUS = {
  invalid_request: 400,
  invalid_token: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_refresh_token: 401,
  refresh_token_missing: 401,
  refresh_token_reused: 401,
  invalid_mfa_code: 401,
  invalid_passkey: 401,
  invalid_code: 401,
  invalid_client: 401,
  forbidden: 403,
  invalid_current_password: 403,
  account_disabled: 403,
  email_not_verified: 403,
  recent_sign_in_required: 403,
  csrf_rejected: 403,
  not_found: 404,
  method_not_allowed: 405,
  email_taken: 409,
  last_admin: 409,
  mfa_already_enabled: 409,
  last_sign_in_method: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  validation_failed: 422,
  account_locked: 423,
  rate_limited: 429,
  internal_error: 500,
  server_misconfigured: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof STATUS;

/**
 * The `title` of each problem: a short sentence for the person reading it, the same for every
 * occurrence of the code (RFC 9457 §3.1.3). `detail` says what happened in this request.
 */
export const TITLES: Record<ErrorCode, string> = {
  invalid_request: 'The request could not be read',
  invalid_token: 'This link is invalid or has expired',
  unauthorized: 'Sign-in required',
  invalid_credentials: 'Wrong email or password',
  invalid_refresh_token: 'The session has ended',
  refresh_token_missing: 'No refresh token was sent',
  refresh_token_reused: 'The session was ended for safety',
  invalid_mfa_code: 'Wrong verification code',
  invalid_passkey: 'This passkey could not be used',
  invalid_code: 'Wrong or expired sign-in code',
  invalid_client: 'The client could not be authenticated',
  forbidden: 'You do not have access to this',
  invalid_current_password: 'Wrong current password',
  account_disabled: 'This account is disabled',
  email_not_verified: 'Email address not confirmed yet',
  recent_sign_in_required: 'Sign in again to do this',
  csrf_rejected: 'Request refused: it did not come from an allowed site',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  email_taken: 'An account with this email already exists',
  last_admin: 'The last admin must stay an admin',
  mfa_already_enabled: 'Two-factor authentication is already on',
  last_sign_in_method: 'This is your last way to sign in',
  payload_too_large: 'The request body is too large',
  unsupported_media_type: 'The request body has the wrong type',
  validation_failed: 'Some fields are not valid',
  account_locked: 'Too many failed attempts',
  rate_limited: 'Too many requests',
  internal_error: 'Something went wrong on our side',
  server_misconfigured: 'The server is misconfigured',
  service_unavailable: 'The service is temporarily unavailable',
};

export type FieldError = { path: string; message: string };

export class ApiError extends Error {
  readonly status: (typeof STATUS)[ErrorCode] | 400 | 403;
  constructor(
    readonly code: ErrorCode,
    /** Safe to show to the client. Anything an attacker could use belongs in the log instead. */
    readonly detail?: string,
    /** Extra problem members (`errors`, `checks`...) and response headers (`Retry-After`...). */
    readonly extra: {
      members?: Record<string, unknown>;
      headers?: Record<string, string>;
      /**
       * Only where API.md gives one code several statuses: invalid_mfa_code is 401 at sign-in,
       * 400 when confirming enrolment, 403 as a signed-in user's proof; invalid_passkey is 401
       * at sign-in, 400 when registering one.
       */
      status?: 400 | 403;
    } = {},
  ) {
    super(detail ?? code);
    this.status = extra.status ?? STATUS[code];
  }
}

/** 422 `validation_failed` with one entry per field: schema failures and policy failures alike. */
export function invalidFields(errors: FieldError[]): ApiError {
  return new ApiError('validation_failed', 'Some fields are not valid.', { members: { errors } });
}

/** A store did not answer: retryable, and never a 401 that would make a client drop its session. */
export function unavailable(): ApiError {
  return new ApiError('service_unavailable', 'Try again shortly.', {
    headers: { 'Retry-After': '5' },
  });
}

export function problem(c: Context, err: ApiError): Response {
  const body: Record<string, unknown> = {
    type: `urn:edge-auth:problem:${err.code}`,
    title: TITLES[err.code],
    status: err.status,
    code: err.code,
    detail: err.detail ?? `${TITLES[err.code]}.`,
  };
  Object.assign(body, err.extra.members);
  const requestId = c.get('requestId');
  if (requestId) body.request_id = requestId;
  // c.body keeps headers already set on this request (a cookie being cleared, say).
  c.header('Content-Type', 'application/problem+json');
  c.header('Cache-Control', 'no-store');
  if (err.status === 401) c.header('WWW-Authenticate', 'Bearer');
  for (const [name, value] of Object.entries(err.extra.headers ?? {})) c.header(name, value);
  return c.body(JSON.stringify(body), err.status);
}
