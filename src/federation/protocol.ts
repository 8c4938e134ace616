// What the OAuth 2 / OpenID Connect client (discovery.ts, callback.ts, token-endpoint.ts,
// id-token.ts, jwks.ts) shares: the server metadata it works from, its one error type, and the
// rules of every request it makes to a provider.

/** A provider's metadata (RFC 8414 / OIDC Discovery 1.0), static for the big four. */
export type ServerMetadata = {
  issuer: string;
  authorization_endpoint?: unknown;
  token_endpoint?: unknown;
  jwks_uri?: unknown;
  id_token_signing_alg_values_supported?: unknown;
  authorization_response_iss_parameter_supported?: unknown;
};

/** Why a provider's answer was refused: `code` is for tests and the log, never for the user. */
export type ProviderErrorCode =
  | 'url_refused'
  | 'unexpected_status'
  | 'invalid_json'
  | 'invalid_metadata'
  | 'issuer_mismatch'
  | 'invalid_callback'
  | 'callback_issuer'
  | 'token_error'
  | 'invalid_token_response'
  | 'unsupported_token_type'
  | 'id_token_missing'
  | 'unexpected_id_token'
  | 'id_token_claim'
  | 'id_token_header';

/** A refusal of what a provider sent: the sign-in ends on /sign-in?error=provider. */
export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The provider answered the authorization request with `error` (RFC 6749 4.1.2.1). */
export class AuthorizationDenied extends Error {
  override name = 'AuthorizationDenied';
  readonly code = 'authorization_denied';
}

export const REQUEST_TIMEOUT_MS = 5_000;

/**
 * An endpoint the worker will call: https only, except plain http where `insecure` allows it
 * (a local provider outside production; src/config.ts refuses http in production).
 */
export function endpoint(value: unknown, name: string, insecure: boolean): URL {
  const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : null;
  if (!url) throw new ProviderError('invalid_metadata', `"${name}" is not a URL`);
  if (url.protocol !== 'https:' && !(insecure && url.protocol === 'http:')) {
    throw new ProviderError('url_refused', `"${name}" must use https (${url.protocol})`);
  }
  return url;
}

/**
 * A request to a provider: JSON wanted, a time limit, and redirects NOT followed (a 3xx is an
 * unexpected status), so an answer always comes from the URL that was checked.
 */
export function send(url: URL, init: { method?: string; body?: string; headers?: HeadersInit }) {
  const headers = new Headers(init.headers);
  headers.set('Accept', headers.get('Accept') ?? 'application/json');
  headers.set('User-Agent', 'edge-auth-worker');
  return fetch(url, {
    ...init,
    headers,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A 200 answer whose body is one JSON object, or a refusal naming `what` was wrong. */
export async function jsonObject(res: Response, what: string): Promise<Record<string, unknown>> {
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ProviderError('unexpected_status', `${what} answered HTTP ${res.status}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!isObject(body)) {
    throw new ProviderError('invalid_json', `${what} did not answer a JSON object`);
  }
  return body;
}

export const nonEmptyString = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0;
