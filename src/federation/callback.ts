import { AuthorizationDenied, ProviderError, type ServerMetadata } from './protocol';

// The authorization response (RFC 6749 4.1.2) at the callback, after flow.ts has spent its
// state: the code, or why there is none.

function single(params: URLSearchParams, name: string): string | undefined {
  const values = params.getAll(name);
  if (values.length > 1) {
    throw new ProviderError('invalid_callback', `"${name}" is in the callback more than once`);
  }
  return values[0];
}

/**
 * The authorization code of a callback for `expectedState`, checked in this order:
 * - no JARM `response` (we never ask for it) and no parameter twice;
 * - RFC 9207: `iss`, when sent or when the provider promises it
 *   (`authorization_response_iss_parameter_supported`), must be its issuer exactly, so a code
 *   from another provider (mix-up) is never sent to this one's token endpoint;
 * - the state (flow.ts found it by hash; this is the same value, compared once more);
 * - an `error` is the user's or the provider's no: AuthorizationDenied;
 * - no implicit or hybrid answer (`id_token`, `token`), and a code.
 */
export function authorizationCode(
  server: ServerMetadata,
  params: URLSearchParams,
  expectedState: string,
): string {
  if (single(params, 'response')) {
    throw new ProviderError('invalid_callback', 'a JARM "response" was not asked for');
  }
  const iss = single(params, 'iss');
  if (!iss && server.authorization_response_iss_parameter_supported) {
    throw new ProviderError('callback_issuer', 'the callback has no "iss" (RFC 9207)');
  }
  if (iss && iss !== server.issuer) {
    throw new ProviderError('callback_issuer', `the callback's "iss" is not ${server.issuer}`);
  }
  if (single(params, 'state') !== expectedState) {
    throw new ProviderError('invalid_callback', 'the callback\'s "state" is not this sign-in\'s');
  }
  if (single(params, 'error')) throw new AuthorizationDenied('the provider answered an error');
  if (single(params, 'id_token') !== undefined || single(params, 'token') !== undefined) {
    throw new ProviderError('invalid_callback', 'implicit and hybrid answers are not accepted');
  }
  const code = single(params, 'code');
  if (!code) throw new ProviderError('invalid_callback', 'the callback has no "code"');
  return code;
}
