import type { Context } from 'hono';
import { base64url } from 'jose';
import type { AppEnv } from '../env';
import { timingSafeEqual } from '../crypto/tokens';
import { oauthProblem } from './form';

const encoder = new TextEncoder();
// Far above any id:secret pair a client is given (about 110 characters).
const MAX_AUTHORIZATION_LENGTH = 1024;
const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;
// Compared against when the client id is unknown, so an unknown id costs the same work as a
// wrong secret (no hash is all zeros in practice).
const NO_CLIENT = new Uint8Array(32);

/**
 * RFC 7662 §2.1: the caller of the introspection endpoint must authenticate. HTTP Basic with a
 * client id and secret (RFC 6749 §2.3.1). Returns the client id, or throws 401 `invalid_client`
 * with `WWW-Authenticate: Basic` (§5.2): a missing header, a malformed one, an unknown client and
 * a wrong secret get the same answer.
 */
export async function authenticateClient(c: Context<AppEnv>): Promise<string> {
  const credentials = basicCredentials(c.req.header('Authorization'));
  const clients = c.var.config.INTROSPECTION_CLIENTS;
  const stored =
    credentials && Object.hasOwn(clients, credentials.id) ? clients[credentials.id] : undefined;
  const expected = stored === undefined ? NO_CLIENT : hexBytes(stored);
  const offered = new Uint8Array(
    await crypto.subtle.digest('SHA-256', encoder.encode(credentials?.secret ?? '')),
  );
  // Both digests are 32 bytes: the comparison takes the same time wherever they differ.
  if (timingSafeEqual(expected, offered) && stored !== undefined && credentials) {
    return credentials.id;
  }
  // The id only when it is a configured one: a service that swapped id and secret must not
  // find its secret in the log.
  c.var.log.warn('introspection client refused', {
    client_id: stored === undefined ? null : credentials!.id,
  });
  throw oauthProblem(
    'invalid_client',
    'invalid_client',
    'Authenticate with HTTP Basic as a configured introspection client.',
    { 'WWW-Authenticate': 'Basic realm="introspection", charset="UTF-8"' },
  );
}

/** RFC 7617 and RFC 6749 §2.3.1: base64 of `id:secret`, each form-urlencoded. */
function basicCredentials(header: string | undefined) {
  if (!header || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = BASIC.exec(header);
  if (!match) return null;
  try {
    const decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(
      base64url.decode(match[1]!.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')),
    );
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const formDecode = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
    return {
      id: formDecode(decoded.slice(0, colon)),
      secret: formDecode(decoded.slice(colon + 1)),
    };
  } catch {
    return null;
  }
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16));
}
