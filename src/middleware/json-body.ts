import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export const MAX_BODY_BYTES = 16 * 1024;

/** Counts streamed (chunked) bodies too, not only Content-Length. */
export const limitBody = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(
      'payload_too_large',
      `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`,
    );
  },
});

// JSON only, in UTF-8 (RFC 8259 §8.1). Anything else on a state-changing route is refused, which
// also closes the CORS "simple request" path a cross-site form would use (THREATS E5).
// As strict as the validator's own check (no space before `;` or around `=`), so a type we
// refuse is always a plain 415 and one we accept is never refused later.
export const JSON_TYPE = /^application\/json(;\s*charset="?utf-8"?)?$/i;

/**
 * Every request that carries a body must carry one JSON object. Route schemas then validate it;
 * Hono caches the text, so the validators read it without a second stream read.
 */
export const requireJsonBody = createMiddleware<AppEnv>(async (c, next) => {
  const type = c.req.header('Content-Type');
  const length = c.req.header('Content-Length');
  const hasBody =
    type !== undefined || (length !== undefined && length !== '0') || c.req.raw.body !== null;
  if (c.req.method === 'GET' || c.req.method === 'HEAD' || !hasBody) return next();

  if (!type || !JSON_TYPE.test(type)) {
    throw new ApiError('unsupported_media_type', 'Request bodies must be application/json.');
  }
  const text = await c.req.text();
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
});
