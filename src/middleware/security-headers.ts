import { createMiddleware } from 'hono/factory';

const DEFAULTS: Record<string, string> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  // JSON needs no content at all; an HTML page (/docs, /dev/mailbox) sets its own policy.
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
};

/** On every response, errors included; a header the route already set is left alone. */
export const securityHeaders = createMiddleware(async (c, next) => {
  await next();
  for (const [name, value] of Object.entries(DEFAULTS)) {
    if (!c.res.headers.has(name)) c.res.headers.set(name, value);
  }
});
