import { errorFrom, isProblem, networkError } from './errors.js';

export type Send = (input: Request | string, init?: RequestInit) => Promise<Response>;

const TIMEOUT_MS = 10_000;

/** POSTs JSON to the worker's own routes; any failure is an AuthError. */
export function caller(base: string, cookie: boolean, send: Send) {
  return async function call<T>(path: string, body?: object, bearer?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body) headers['Content-Type'] = 'application/json';
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let res: Response;
    try {
      res = await send(base + path, {
        method: 'POST',
        headers,
        body: body && JSON.stringify(body),
        // Cookie mode: the worker may be another origin of the same site.
        credentials: cookie ? 'include' : 'omit',
        signal: AbortSignal.timeout?.(TIMEOUT_MS),
      });
    } catch (error) {
      throw networkError(error);
    }
    if (!res.ok) throw await errorFrom(res);
    return res.status === 204 ? (null as T) : res.json();
  };
}

/** A 401 for the token itself: Bearer routes answer 401 only for a token they refuse (API.md). */
export async function refusesToken(res: Response) {
  const body = isProblem(res)
    ? await res
        .clone()
        .json()
        .catch(() => null)
    : null;
  const code: unknown = body?.code;
  return code === undefined || code === 'unauthorized' || code === 'invalid_token';
}
