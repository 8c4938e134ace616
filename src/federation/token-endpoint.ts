import { ProviderError, endpoint, isObject, nonEmptyString, send } from './protocol';

// The code exchange at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.5) and its answer
// (RFC 6749 5.1 and 5.2; OIDC Core 3.1.3.3).

export type TokenResponse = { access_token: string; id_token?: string };

export type CodeExchange = {
  tokenEndpoint: unknown;
  clientId: string;
  /** The client secret (for Apple, the client-secret JWT), sent as client_secret_post. */
  clientSecret: string;
  code: string;
  redirectUri: string;
  codeVerifier: string;
  /** An ID token must be in the answer (OpenID Connect), or must not (plain OAuth 2). */
  oidc: boolean;
  insecure: boolean;
};

export async function exchangeCode(x: CodeExchange): Promise<TokenResponse> {
  const url = endpoint(x.tokenEndpoint, 'token_endpoint', x.insecure);
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: x.code,
    redirect_uri: x.redirectUri,
    code_verifier: x.codeVerifier,
    client_id: x.clientId,
    client_secret: x.clientSecret,
  });
  const res = await send(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8' },
    body: body.toString(),
  });
  return tokenResponse(res, x.oidc);
}

// An OAuth error code is printable ASCII without " and \ (RFC 6749 5.2): only such a one is logged.
const ERROR_CODE = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;

export async function tokenResponse(res: Response, oidc: boolean): Promise<TokenResponse> {
  if (res.status !== 200) {
    const answer: unknown = await res.json().catch(() => undefined);
    const error = isObject(answer) ? answer.error : undefined;
    if (typeof error === 'string' && ERROR_CODE.test(error)) {
      throw new ProviderError('token_error', `the token endpoint answered ${error}`);
    }
    throw new ProviderError('unexpected_status', `the token endpoint answered HTTP ${res.status}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!isObject(body)) {
    throw new ProviderError('invalid_json', 'the token endpoint did not answer a JSON object');
  }
  const invalid = (what: string) =>
    new ProviderError('invalid_token_response', `the token response's ${what} is invalid`);
  if (!nonEmptyString(body.access_token)) throw invalid('"access_token"');
  if (!nonEmptyString(body.token_type)) throw invalid('"token_type"');
  // Case-insensitive (RFC 6749 5.1, 7.1). Only Bearer: a DPoP-bound token is of no use to us.
  if (body.token_type.toLowerCase() !== 'bearer') {
    throw new ProviderError(
      'unsupported_token_type',
      `token_type ${body.token_type} is not Bearer`,
    );
  }
  const { expires_in: expiresIn } = body;
  if (expiresIn !== undefined) {
    const seconds = typeof expiresIn === 'string' ? Number.parseFloat(expiresIn) : expiresIn;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw invalid('"expires_in"');
    }
  }
  if (body.refresh_token !== undefined && !nonEmptyString(body.refresh_token)) {
    throw invalid('"refresh_token"');
  }
  if (body.scope !== undefined && typeof body.scope !== 'string') throw invalid('"scope"');
  const idToken = body.id_token;
  if (idToken !== undefined && !nonEmptyString(idToken)) throw invalid('"id_token"');
  if (oidc && idToken === undefined) {
    throw new ProviderError('id_token_missing', 'the token response has no "id_token"');
  }
  // GitHub is plain OAuth 2 and never sends one: an ID token we cannot check is refused.
  if (!oidc && idToken !== undefined) {
    throw new ProviderError('unexpected_id_token', 'an ID token from a plain OAuth 2 provider');
  }
  return { access_token: body.access_token, id_token: idToken };
}
