// A minimal downstream Worker: it trusts the auth worker's access tokens and nothing else.
//   GET /health     no auth
//   GET /api/me     the verified claims (and the key that signed them)
import { Hono } from 'hono';
import { requireAccessToken, type AccessTokenVariables } from './verify-access-token';

type Bindings = {
  /** The auth worker's ISSUER, e.g. https://auth.example.com */
  AUTH_ISSUER: string;
  /** The auth worker's AUDIENCE */
  AUTH_AUDIENCE: string;
  /** Optional: seconds fetched keys are reused (default 300) */
  JWKS_CACHE_SECONDS?: string;
  /** Optional: minimum seconds between refetches caused by an unknown kid (default 30) */
  JWKS_COOLDOWN_SECONDS?: string;
};

const seconds = (value: string | undefined, fallback: number) =>
  value !== undefined && value !== '' && Number.isFinite(Number(value)) ? Number(value) : fallback;

const app = new Hono<{ Bindings: Bindings; Variables: AccessTokenVariables }>();

app.get('/health', (c) => c.json({ status: 'ok' }));

app.use(
  '/api/*',
  requireAccessToken<{ Bindings: Bindings }>((env) => ({
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    cacheMaxAgeSeconds: seconds(env.JWKS_CACHE_SECONDS, 300),
    cooldownSeconds: seconds(env.JWKS_COOLDOWN_SECONDS, 30),
  })),
);

app.get('/api/me', (c) => {
  const { claims, header } = c.var.accessToken;
  c.header('Cache-Control', 'no-store');
  return c.json({
    sub: claims.sub,
    sid: claims.sid,
    role: claims.role,
    email_verified: claims.email_verified,
    kid: header.kid,
  });
});

export default app;
