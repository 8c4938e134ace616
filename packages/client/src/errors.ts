/** What travels between tabs: an AuthError without its prototype. */
export type ErrorData = { code: string; status: number; requestId: string | null; message: string };

/**
 * Every failure the client reports. `code` is the problem's `code` (API.md), or `network_error`
 * (no answer; `status` 0) or `http_error` (an answer that is not problem+json).
 */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  constructor(
    readonly code: string,
    readonly status: number,
    readonly requestId: string | null = null,
    message = code,
    /** The whole problem+json body, e.g. `errors` of a `validation_failed`. */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(message);
  }

  static from(data: ErrorData): AuthError {
    return new AuthError(data.code, data.status, data.requestId, data.message);
  }

  data(): ErrorData {
    return {
      code: this.code,
      status: this.status,
      requestId: this.requestId,
      message: this.message,
    };
  }
}

export const isProblem = (res: Response) =>
  /^application\/problem\+json/i.test(res.headers.get('Content-Type') ?? '');

/** The AuthError of a response that is not ok. */
export async function errorFrom(res: Response): Promise<AuthError> {
  const body: unknown = isProblem(res) ? await res.json().catch(() => null) : null;
  const problem = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const text = (name: string) => (typeof problem[name] === 'string' ? problem[name] : undefined);
  return new AuthError(
    text('code') ?? 'http_error',
    res.status,
    text('request_id') ?? res.headers.get('X-Request-Id'),
    text('detail') ?? text('title') ?? `HTTP ${res.status}`,
    problem,
  );
}

export const networkError = (cause: unknown) =>
  new AuthError('network_error', 0, null, cause instanceof Error ? cause.message : String(cause));
