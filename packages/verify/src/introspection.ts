// Opt-in: ask the worker's introspection endpoint (RFC 7662) whether a locally valid token is
// still active, so a sign-out is refused here before the token's `exp`.

export interface IntrospectionOptions {
  /** Default `${issuer}/oauth/introspect`. */
  url?: string;
  /** This service's credential, from the worker's INTROSPECTION_CLIENTS. */
  clientId: string;
  clientSecret: string;
  /**
   * How long an `active: true` answer is reused, at most: never past the token's `exp`. A
   * revocation reaches this service at most this late. Default 30; 0 asks for every request.
   */
  cacheSeconds?: number;
}

/** The endpoint could not answer: not the caller's fault (503, never 401). */
export class IntrospectionUnavailable extends Error {}

// Enough for a busy service; the oldest answer goes first when full.
const MAX_ENTRIES = 10_000;

type Entry = { until: number; active: Promise<boolean> };

/**
 * `check(token, claims)`: whether the worker still calls the token active. Answers are cached
 * by `jti` (the token's signature was checked first, so the jti names one token): `true` for
 * `cacheSeconds` at most, `false` until `exp`, since an inactive token never comes back.
 */
export function introspector(
  options: IntrospectionOptions,
  issuer: string,
  timeoutMs: number,
  fetcher: (input: string, init?: RequestInit) => Promise<Response>,
) {
  const url = options.url ?? `${issuer}/oauth/introspect`;
  const cacheMs = Math.max(0, options.cacheSeconds ?? 30) * 1000;
  // RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined.
  const form = (s: string) => new URLSearchParams({ s }).toString().slice(2);
  const authorization = `Basic ${btoa(`${form(options.clientId)}:${form(options.clientSecret)}`)}`;
  const cache = new Map<string, Entry>();

  async function ask(token: string, sub: string): Promise<boolean> {
    let res: Response;
    try {
      res = await fetcher(url, {
        method: 'POST',
        headers: {
          Authorization: authorization,
          'Content-Type': 'application/x-www-form-urlencoded',
          Accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new IntrospectionUnavailable(`introspection failed: ${String(error)}`);
    }
    if (res.status !== 200) {
      // 401 means this service's credential is wrong: an operator's problem, not the caller's.
      throw new IntrospectionUnavailable(`introspection answered ${res.status}`);
    }
    const body = (await res.json().catch(() => null)) as { active?: unknown; sub?: unknown } | null;
    if (typeof body?.active !== 'boolean') {
      throw new IntrospectionUnavailable('introspection answer has no boolean "active"');
    }
    return body.active && body.sub === sub;
  }

  return async function check(token: string, claims: { jti: string; sub: string; exp: number }) {
    const now = Date.now();
    const cached = cache.get(claims.jti);
    if (cached && cached.until > now) return cached.active;
    const active = ask(token, claims.sub);
    // Requests that come while the question is open share its answer.
    const entry: Entry = { until: Number.POSITIVE_INFINITY, active };
    if (cacheMs > 0) {
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
      cache.set(claims.jti, entry);
    }
    try {
      const answer = await active;
      entry.until = answer ? Math.min(claims.exp * 1000, now + cacheMs) : claims.exp * 1000;
      return answer;
    } catch (error) {
      if (cache.get(claims.jti) === entry) cache.delete(claims.jti);
      throw error;
    }
  };
}
