import type { Context, Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import { matchedRoutes } from 'hono/route';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export const MAX_BODY_BYTES = 16 * 1024;

const limitTo = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError('payload_too_large', `Request bodies are limited to ${maxSize} bytes.`);
    },
  });

/** Counts streamed (chunked) bodies too, not only Content-Length. Pages' forms use it too. */
export const limitBody = limitTo(MAX_BODY_BYTES);

/**
 * The one route whose body is large by design: an import batch of up to 1,000 users. The body is
 * read before the route checks its token, so a request without one keeps the small limit.
 */
const LARGE_BODIES = new Map([['/admin/users/import', limitTo(1024 * 1024)]]);
const largeLimit = (c: Context<AppEnv>) =>
  /^Bearer /i.test(c.req.header('Authorization') ?? '') ? LARGE_BODIES.get(c.req.path) : undefined;

// JSON only, in UTF-8 (RFC 8259 §8.1). Anything else on a state-changing route is refused, which
// also closes the CORS "simple request" path a cross-site form would use (THREATS E5).
// As strict as the validator's own check (no space before `;` or around `=`), so a type we
// refuse is always a plain 415 and one we accept is never refused later.
export const JSON_TYPE = /^application\/json(;\s*charset="?utf-8"?)?$/i;

const WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every request that carries a body must carry one JSON object (415 for another type, 400 for
 * anything but an object); route schemas then validate it, reading the text Hono cached here.
 *
 * A request without a body is never refused for its body (API.md, Conventions): clients send
 * bodiless DELETE and POST with no Content-Type, with `Content-Length: 0`, or as zero bytes under
 * any type, and workerd hands the worker a non-null empty stream for some of them. Such a request
 * continues as one without body or type, so every route sees one shape for "no fields"; a JSON
 * type is kept (with an empty object for the validators), because the cookie check of refresh
 * and logout reads it. A path and method no route answers is left to 404/405.
 */
export const jsonBodyOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (WITHOUT_BODY.has(c.req.method) || !matchedRoutes(c).some((r) => r.method !== 'ALL')) {
    return next();
  }
  return (largeLimit(c) ?? limitBody)(c, () => checkBody(c, next));
});

async function checkBody(c: Context<AppEnv>, next: Next) {
  const type = c.req.header('Content-Type');
  const text = c.req.raw.body === null ? '' : await c.req.text();
  if (text === '') {
    asBodiless(c, type !== undefined && JSON_TYPE.test(type));
    return next();
  }
  if (!type || !JSON_TYPE.test(type)) {
    throw new ApiError('unsupported_media_type', 'Request bodies must be application/json.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError('invalid_request', 'The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError('invalid_request', 'The request body must be a JSON object.');
  }
  await next();
}

function asBodiless(c: Context<AppEnv>, json: boolean) {
  const raw = c.req.raw;
  const headers = new Headers(raw.headers);
  for (const name of ['Content-Type', 'Content-Length', 'Transfer-Encoding']) headers.delete(name);
  if (json) headers.set('Content-Type', 'application/json');
  c.req.raw = new Request(raw.url, {
    method: raw.method,
    headers,
    body: json ? '{}' : null,
    signal: raw.signal,
    cf: raw.cf,
  });
  // The empty text read above must not answer the validators' reads of the new request.
  c.req.bodyCache = {};
}
