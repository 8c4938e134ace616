import { createLocalJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import { ProviderError, endpoint, isObject, jsonObject, send } from './protocol';

// A provider's signing keys (its jwks_uri), kept per isolate: a set is used for five minutes,
// and a token whose key is not in it (the provider rotated) fetches the set again, but at most
// once a minute, so tokens with made-up `kid`s cannot make us hammer the provider. Only the
// parsed set is kept, never a pending fetch: a Workers request cannot wait on another's I/O.
//
// jose's createRemoteJWKSet does the same job; this is ours for the https rule and the
// redirect rule every provider request follows (protocol.ts), and for the cache key below.

export const JWKS_MAX_AGE_MS = 300_000;
export const JWKS_REFETCH_AFTER_MS = 60_000;

type KeySet = { keys: ReturnType<typeof createLocalJWKSet>; fetchedAt: number };
const sets = new Map<string, KeySet>();

async function load(cacheKey: string, url: URL, now: number): Promise<KeySet> {
  const jwks = await jsonObject(
    await send(url, { headers: { Accept: 'application/json, application/jwk-set+json' } }),
    'jwks_uri',
  );
  if (!Array.isArray(jwks.keys) || !jwks.keys.every(isObject)) {
    throw new ProviderError('invalid_json', 'jwks_uri did not answer a JSON Web Key Set');
  }
  const set = { keys: createLocalJWKSet(jwks as { keys: [] }), fetchedAt: now };
  sets.set(cacheKey, set);
  return set;
}

/**
 * The key for a token's header from the provider's JWKS (jose's selection: `kty` and `crv` of
 * the `alg`, the `kid`, `use` sig, `key_ops` verify; never a symmetric key; more than one
 * match is refused). The cache is per provider and URL: a provider that moves its jwks_uri
 * starts afresh.
 */
export function providerKeys(
  providerId: string,
  jwksUri: unknown,
  insecure: boolean,
  now: () => number = Date.now,
) {
  const url = endpoint(jwksUri, 'jwks_uri', insecure);
  const cacheKey = `${providerId} ${url.href}`;
  const getKey: JWTVerifyGetKey = async (header, token) => {
    let set = sets.get(cacheKey);
    if (!set || now() - set.fetchedAt >= JWKS_MAX_AGE_MS) set = await load(cacheKey, url, now());
    try {
      return await set.keys(header, token);
    } catch (err) {
      const stale = now() - set.fetchedAt >= JWKS_REFETCH_AFTER_MS;
      if (!(err instanceof errors.JWKSNoMatchingKey) || !stale) throw err;
      return (await load(cacheKey, url, now())).keys(header, token);
    }
  };
  return getKey;
}
