// A Hono API on Workers that trusts the auth worker's access tokens, through @edge-auth/verify.
import { Hono } from 'hono';
import { createVerifier, type Verifier } from '@edge-auth/verify';
import { requireAuth, type AuthVariables } from '@edge-auth/verify/hono';

type Bindings = {
  AUTH_ISSUER: string; // the auth worker's ISSUER, e.g. https://auth.example.com
  AUTH_AUDIENCE: string; // its AUDIENCE
  JWKS_COOLDOWN_SECONDS?: string; // least time between refetches for unknown kids (30)
};

// One verifier per isolate (it holds the JWKS cache), made from the first request's bindings.
let verifier: Verifier | undefined;
const auth = (env: Bindings) =>
  (verifier ??= createVerifier({
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    cooldownSeconds: Number(env.JWKS_COOLDOWN_SECONDS ?? 30),
  }));

const app = new Hono<{ Bindings: Bindings; Variables: AuthVariables }>();

app.get('/health', (c) => c.json({ status: 'ok' }));

app.use('/api/*', requireAuth(auth));
app.get('/api/me', (c) => {
  const { sub, sid, role, email_verified } = c.var.auth;
  return c.json({ sub, sid, role, email_verified });
});
app.get('/api/admin', requireAuth(auth, { role: 'admin' }), (c) =>
  c.json({ admin: c.var.auth.sub }),
);

export default app;
