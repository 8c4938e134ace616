import { swaggerUI } from '@hono/swagger-ui';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './env';
import { ApiError, problem } from './errors';
import { cors } from './middleware/cors';
import { requestContext } from './middleware/context';
import { limitBody, requireJsonBody } from './middleware/json-body';
import { guardOrigin } from './middleware/origin';
import { securityHeaders } from './middleware/security-headers';
import { createRouter } from './router';
import { auth } from './routes/auth';
import { health } from './routes/health';
import { tokens } from './routes/tokens';
import { me } from './routes/users';
import { wellKnown } from './routes/well-known';

const app = createRouter();

app.use('*', securityHeaders, requestContext, cors, limitBody, requireJsonBody, guardOrigin);

app.route('/', wellKnown);
app.route('/', health);
app.route('/', auth);
app.route('/', tokens);
app.route('/', me);

app.doc31('/openapi.json', (c) => ({
  openapi: '3.1.0',
  info: {
    title: 'Edge auth worker',
    version: '1.0.0',
    description: 'Accounts, sessions and RS256 access tokens at the edge. Contract: API.md.',
  },
  servers: [{ url: c.var.config.ISSUER }],
}));
app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
});

app.get('/docs', async (c, next) => {
  // Swagger UI loads its script and styles from a CDN; only this page may do so.
  c.header(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  );
  return swaggerUI<AppEnv>({ url: '/openapi.json', title: 'Edge auth worker API' })(c, next);
});

app.notFound((c) => problem(c, new ApiError('not_found', 'No such route.')));

app.onError((err, c) => {
  if (err instanceof ApiError) return problem(c, err);
  if (err instanceof HTTPException && err.status === 400) {
    return problem(c, new ApiError('invalid_request', 'The request is not valid.'));
  }
  // Details stay in the log; the client only gets the request id to quote.
  c.var.log.error('unhandled error', {
    error: err instanceof Error ? err.name : typeof err,
    message: err instanceof Error ? err.message : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });
  return problem(c, new ApiError('internal_error'));
});

export { app };

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
