// The issuer's signing keys: found through discovery, cached for the JWKS response's own
// Cache-Control lifetime (revalidated with its ETag), and fetched again at once for a `kid` not
// in the cache, at most once per cooldown, so forged kids cannot become a flood of fetches.
import {
  createLocalJWKSet,
  errors,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';

/** The keys could not be fetched: not the token's fault (503, never 401). */
export class KeysUnavailable extends Error {}

export type KeySetOptions = {
  issuer: string;
  jwksUri: string | undefined;
  cooldownMs: number;
  timeoutMs: number;
  fetch: (input: string, init?: RequestInit) => Promise<Response>;
};

// Without Cache-Control: the auth worker's own max-age. A longer one is capped at a day.
const DEFAULT_MAX_AGE = 300;
const LONGEST_MAX_AGE = 86_400;

/** Seconds from `Cache-Control`: `max-age`, 0 for `no-store`/`no-cache`, else the default. */
export function maxAge(cacheControl: string | null): number {
  if (!cacheControl) return DEFAULT_MAX_AGE;
  if (/(^|,)\s*no-(store|cache)\b/i.test(cacheControl)) return 0;
  const match = /(^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cacheControl);
  return match ? Math.min(Number(match[2]), LONGEST_MAX_AGE) : DEFAULT_MAX_AGE;
}

export function keySet(options: KeySetOptions) {
  let jwksUri = options.jwksUri;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let etag: string | null = null;
  let expiresAt = 0;
  let fetchedAt = -Infinity;
  let loading: Promise<void> | undefined;

  async function get(url: string, headers: Record<string, string> = {}) {
    try {
      return await options.fetch(url, {
        headers: { Accept: 'application/json', ...headers },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new KeysUnavailable(`${url}: ${error instanceof Error ? error.message : error}`);
    }
  }

  async function json(res: Response) {
    if (!res.ok) throw new KeysUnavailable(`${res.url} answered ${res.status}`);
    try {
      return await res.json();
    } catch {
      throw new KeysUnavailable(`${res.url} did not answer JSON`);
    }
  }

  async function discover(): Promise<string> {
    const url = `${options.issuer}/.well-known/openid-configuration`;
    const metadata = await json(await get(url));
    // OpenID Connect Discovery 1.0 §4.3: the issuer in the document MUST be the one asked for.
    if (metadata?.issuer !== options.issuer || typeof metadata.jwks_uri !== 'string') {
      throw new KeysUnavailable(`${url} does not describe ${options.issuer}`);
    }
    return metadata.jwks_uri;
  }

  async function load() {
    jwksUri ??= await discover();
    const res = await get(jwksUri, keys && etag ? { 'If-None-Match': etag } : {});
    const now = Date.now();
    if (res.status !== 304 || !keys) {
      const jwks = (await json(res)) as JSONWebKeySet;
      try {
        keys = createLocalJWKSet(jwks);
      } catch {
        throw new KeysUnavailable(`${jwksUri} is not a JWK Set`);
      }
      etag = res.headers.get('ETag');
    }
    fetchedAt = now;
    expiresAt = now + maxAge(res.headers.get('Cache-Control')) * 1000;
  }

  // Concurrent callers share one fetch.
  const reload = () => (loading ??= load().finally(() => (loading = undefined)));

  /** jose's key lookup: the cached set, refreshed when stale or once for an unknown kid. */
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    if (!keys || Date.now() >= expiresAt) await reload();
    try {
      return await keys!(header, token);
    } catch (error) {
      const unknownKid = error instanceof errors.JWKSNoMatchingKey;
      if (!unknownKid || Date.now() - fetchedAt < options.cooldownMs) throw error;
      await reload();
      return keys!(header, token);
    }
  };
}
