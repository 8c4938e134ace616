import type { Context } from 'hono';

/** Every error code the API can answer with, and its HTTP status (see ../shared/API.md). */
const STATUS = {
  invalid_request: 400,
  invalid_token: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  invalid_refresh_token: 401,
  refresh_token_reused: 401,
  invalid_mfa_code: 401,
  forbidden: 403,
  account_disabled: 403,
  email_not_verified: 403,
  csrf_rejected: 403,
  not_found: 404,
  method_not_allowed: 405,
  email_taken: 409,
  last_admin: 409,
  mfa_already_enabled: 409,
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

const TITLES: Partial<Record<ErrorCode, string>> = {
  invalid_credentials: 'Invalid email or password',
  unauthorized: 'Authentication required',
  validation_failed: 'The request is not valid',
  internal_error: 'Internal server error',
  server_misconfigured: 'The server is misconfigured',
  service_unavailable: 'The service is temporarily unavailable',
};

export type FieldError = { path: string; message: string };

export class ApiError extends Error {
  readonly status: (typeof STATUS)[ErrorCode] | 400;
  constructor(
    readonly code: ErrorCode,
    /** Safe to show to the client. Anything an attacker could use belongs in the log instead. */
    readonly detail?: string,
    /** Extra problem members (`errors`, `checks`...) and response headers (`Retry-After`...). */
    readonly extra: {
      members?: Record<string, unknown>;
      headers?: Record<string, string>;
      /** Only where API.md gives one code two statuses (invalid_mfa_code: 401 verify, 400 enable). */
      status?: 400;
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
    title: TITLES[err.code] ?? sentence(err.code),
    status: err.status,
    code: err.code,
    detail: err.detail ?? TITLES[err.code] ?? sentence(err.code),
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

function sentence(code: string): string {
  const s = code.replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}
