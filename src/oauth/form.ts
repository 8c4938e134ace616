import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError, type ErrorCode } from '../errors';
import { limitBody } from '../middleware/json-body';

// RFC 7009 §2.1 and RFC 7662 §2.1: these two endpoints take their parameters form-encoded. As
// strict as the JSON rule elsewhere (src/middleware/json-body.ts): UTF-8 only, no other type.
const FORM_TYPE = /^application\/x-www-form-urlencoded(;\s*charset="?utf-8"?)?$/i;

/**
 * A problem that also carries the OAuth `error` member (RFC 6749 §5.2), so an OAuth client
 * library reads it as one of its own errors and everyone else reads the usual `code`.
 */
export function oauthProblem(
  code: ErrorCode,
  error: 'invalid_request' | 'invalid_client',
  detail: string,
  headers?: Record<string, string>,
) {
  return new ApiError(code, detail, { members: { error }, headers });
}

const invalidRequest = (detail: string) =>
  oauthProblem('invalid_request', 'invalid_request', detail);

/**
 * The form's parameters: at most 16 KiB, each at most once (RFC 6749 §3.2), an empty value the
 * same as none (RFC 6749 §3.1). A request without a body has no parameters; a body of any other
 * type is refused (415), never read as empty: a JSON `{"token": …}` sent here must not be
 * answered "200, revoked" while nothing was.
 */
export async function readForm(c: Context<AppEnv>): Promise<Map<string, string>> {
  let params = new Map<string, string>();
  await limitBody(c, async () => {
    // Bytes, not text(): workerd warns when text() reads a body whose type is not text/*.
    const bytes = c.req.raw.body === null ? new ArrayBuffer(0) : await c.req.arrayBuffer();
    const text = new TextDecoder().decode(bytes);
    if (text === '') return;
    const type = c.req.header('Content-Type');
    if (!type || !FORM_TYPE.test(type)) {
      throw oauthProblem(
        'unsupported_media_type',
        'invalid_request',
        type && /json/i.test(type)
          ? 'This endpoint does not read JSON: send the parameters as application/x-www-form-urlencoded (token=...), as RFC 7009 and RFC 7662 require.'
          : 'Send the parameters as application/x-www-form-urlencoded (token=...), as RFC 7009 and RFC 7662 require.',
      );
    }
    params = parse(text);
  });
  return params;
}

function parse(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (params.has(name)) throw invalidRequest(`The parameter ${safeName(name)} is repeated.`);
    params.set(name, value);
  }
  for (const [name, value] of params) if (value === '') params.delete(name);
  return params;
}

/** A parameter name in a message: only a short name of plain characters is echoed. */
const safeName = (name: string) => (/^[a-z_]{1,32}$/.test(name) ? `"${name}"` : '(a parameter)');

/** The `token` parameter, required by both RFCs: 400 `invalid_request` without it. */
export function requiredToken(params: Map<string, string>): string {
  const token = params.get('token');
  if (token === undefined) {
    throw invalidRequest('The form parameter "token" is required.');
  }
  return token;
}
