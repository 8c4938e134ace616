import { HTTPException } from 'hono/http-exception';
import { loadConfig } from './config';
import { housekeeping } from './housekeeping';
import { createLogger } from './logger';
import { resealTotpSecrets } from './mfa/reseal';
import { ApiError, problem, unavailable, type ErrorCode } from './errors';
import { guardBindings, StorageUnavailable } from './storage-guard';
import { cors } from './middleware/cors';
import { requestContext } from './middleware/context';
import { jsonBodyOnly } from './middleware/json-body';
import { guardOrigin } from './middleware/origin';
import { securityHeaders } from './middleware/security-headers';
import { emailCodeApi } from './email-code/api';
import { identitiesApi } from './federation/api';
import { lifecycleApi } from './lifecycle/api';
import { federation } from './federation/routes';
import { oauth } from './oauth/routes';
import { keysApi } from './keys/api';
import { scheduledKeys } from './keys/scheduled';
import { passkeysApi } from './passkeys/api';
import { pages } from './pages';
import { replication } from './replicas/bookmark';
import { importApi } from './import/api';
import { docsPage } from './openapi/docs-page';
import { openApiDocument } from './openapi/document';
import { createRouter } from './router';
import { adminRoutes } from './routes/admin';
import { auth } from './routes/auth';
import { dev } from './routes/dev';
import { email } from './routes/email';
import { health } from './routes/health';
import { mfa } from './routes/mfa';
import { tokens } from './routes/tokens';
import { me } from './routes/users';
import { wellKnown } from './routes/well-known';

const app = createRouter();

app.use('*', securityHeaders, requestContext, cors);
app.use('*', replication);
// Pages and the identity providers' redirects take HTML forms, not JSON, and check each form's
// origin and token themselves (src/pages/csrf.ts); the OAuth revocation and introspection
// endpoints take the form bodies their RFCs require and read them themselves (src/oauth/form.ts).
// So they come before the API's body and Origin rules. Every capability is one line in one of
// these two lists.
for (const forms of [pages, federation, oauth]) app.route('/', forms);
app.use('*', jsonBodyOnly, guardOrigin);
for (const api of [
  wellKnown,
  health,
  auth,
  tokens,
  me,
  email,
  dev,
  adminRoutes,
  mfa,
  identitiesApi,
  passkeysApi,
  emailCodeApi,
  keysApi,
  lifecycleApi,
  importApi,
]) {
  app.route('/', api);
}

// Made at build time (`npm run openapi`): src/openapi/document.ts.
app.get('/openapi.json', async (c) =>
  c.json(await openApiDocument(c.env.ASSETS, c.var.config.ISSUER)),
);
if (__OPENAPI_DOCS__) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
  });
}

app.get('/docs', (c) => {
  // Swagger UI's files are our own static assets (public/, see scripts/docs-assets.mjs): the
  // page loads nothing from elsewhere, and its policy says so.
  c.header(
    'Content-Security-Policy',
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  );
  return c.html(docsPage);
});

// Swagger UI's files (public/, copied by `npm install`) come through the worker like every other
// response: the same security headers and X-Request-Id, and a missing file is a problem, not an
// empty 404 a browser would cache.
app.get('/docs-assets/*', async (c) => {
  const asset = await c.env.ASSETS.fetch(c.req.raw);
  if (asset.status !== 200 && asset.status !== 304) {
    throw new ApiError('not_found', 'No such file.');
  }
  const res = new Response(asset.body, asset);
  res.headers.set('Cache-Control', 'public, max-age=86400');
  res.headers.set('Cross-Origin-Resource-Policy', 'same-origin');
  return res;
});

// A known path with another method is 405 with `Allow`, not 404 (THREATS D8).
let routeTable: { pattern: RegExp; method: string }[] | undefined;
app.notFound((c) => {
  routeTable ??= app.routes
    .filter((r) => r.method !== 'ALL')
    .map((r) => ({
      pattern: new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}$`),
      method: r.method,
    }));
  const path = new URL(c.req.url).pathname;
  const allowed = [...new Set(routeTable.filter((r) => r.pattern.test(path)).map((r) => r.method))];
  if (allowed.length === 0) return problem(c, new ApiError('not_found', 'No such route.'));
  return problem(
    c,
    new ApiError('method_not_allowed', `Use ${allowed.join(' or ')}.`, {
      headers: { Allow: allowed.join(', ') },
    }),
  );
});

function causes(err: unknown): unknown[] {
  const chain: unknown[] = [];
  for (
    let e = err;
    e !== undefined && chain.length < 8;
    e = e instanceof Error ? e.cause : undefined
  ) {
    chain.push(e);
  }
  return chain;
}

const FRAMEWORK_ERRORS: Record<number, ErrorCode> = {
  401: 'unauthorized',
  404: 'not_found',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

app.onError((err, c) => {
  if (err instanceof ApiError) return problem(c, err);
  // drizzle wraps a single query's error (DrizzleQueryError): look down the cause chain.
  const outage = causes(err).find((e) => e instanceof StorageUnavailable);
  if (outage) {
    c.var.log.error('storage unavailable', { message: outage.message });
    return problem(c, unavailable());
  }
  // The framework's own refusals (the validator's content-type and JSON checks) are client
  // errors, never 500s.
  if (err instanceof HTTPException && err.status < 500) {
    const code = FRAMEWORK_ERRORS[err.status] ?? 'invalid_request';
    return problem(c, new ApiError(code, 'The request is not valid.'));
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
  fetch: (request: Request, env: Env, ctx: ExecutionContext) =>
    app.fetch(request, guardBindings(env), ctx),
  async scheduled(controller, env, _ctx) {
    const config = loadConfig(env);
    const log = createLogger(config.LOG_LEVEL, { cron: controller.cron });
    const deleted = await housekeeping(guardBindings(env).DB, config, controller.scheduledTime);
    const totpReseal = await resealTotpSecrets(guardBindings(env).DB, config.TOTP_ENCRYPTION_KEY);
    log.info('housekeeping', { deleted, ...(totpReseal && { totp_reseal: totpReseal }) });
    await scheduledKeys(guardBindings(env).DB, config, controller.scheduledTime, log);
  },
} satisfies ExportedHandler<Env>;
