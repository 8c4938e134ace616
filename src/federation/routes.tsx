import { Hono, type Context } from 'hono';
import { grantFor } from '../accounts/sign-in';
import { auditContext, auditEvent } from '../audit/audit';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { createChallenge } from '../mfa/challenge';
import { limitBody } from '../middleware/json-body';
import { rateLimit } from '../middleware/rate-limit';
import { formToken } from '../pages/csrf';
import { renderPage } from '../pages/layout';
import { safeReturnTo } from '../pages/return-to';
import { CodeForm } from '../pages/sign-in';
import { strings } from '../pages/strings';
import { clientMeta } from '../request-meta';
import { setSessionCookie } from '../sessions/grant';
import { openSession } from '../sessions/store';
import { finishCallback, startUrl } from './flow';
import { assertMaySignIn, FederationError, resolveIdentity } from './identities';
import { providerById } from './providers';

function provider(c: Context<AppEnv>) {
  const found = providerById(c.var.config, c.req.param('provider') ?? '');
  if (!found) throw new ApiError('not_found', 'No such identity provider.');
  return found;
}

/**
 * Leaves the callback for `to`. The session cookie is SameSite=Strict, and a browser does not
 * send it along a redirect chain that began at the provider's site: a 302 straight to one of our
 * own pages would arrive there signed out. So our own pages are reached by a same-site
 * navigation from a small page of ours (no script needed); an app's origin gets a 302, since
 * the app asks for its tokens itself (a same-site request that carries the cookie).
 */
async function land(c: Context<AppEnv>, to: string) {
  if (!to.startsWith('/')) return c.redirect(to, 302);
  const t = strings.federation;
  c.header('Refresh', `0; url=${to}`);
  return renderPage(
    c,
    200,
    t.landing,
    <section class="card">
      <h1>{t.landing}</h1>
      <p>
        <a class="button" href={to}>
          {t.continue}
        </a>
      </p>
    </section>,
  );
}

async function callback(c: Context<AppEnv>, params: URLSearchParams) {
  const p = provider(c);
  let linking = false;
  try {
    const flow = await finishCallback(c, p, params);
    linking = flow.linkUserId !== null;
    const { user } = await resolveIdentity(c, p.config.id, flow.asserted, flow.linkUserId);
    if (linking) return land(c, '/account?done=identity#identities');
    await assertMaySignIn(c, user);
    const db = database(c.env.DB);
    const now = Date.now();
    if (user.totpEnabledAt !== null) {
      const challenge = await createChallenge(db, user.id, now);
      await db.batch([challenge.statement]);
      const token = await formToken(c);
      const form = (
        <CodeForm
          config={c.var.config}
          token={token}
          mfaToken={challenge.token}
          returnTo={flow.returnTo}
        />
      );
      return renderPage(c, 200, strings.code.title, form);
    }
    const session = await openSession(db, c.var.config, user, clientMeta(c), now);
    const [gate] = await db.batch([
      ...session.statements,
      auditEvent(
        db,
        auditContext(c),
        'login.succeeded',
        user.id,
        { session_id: session.sessionId, via: p.config.id },
        session.opened,
      ),
    ]);
    // The account was deleted since it was read: no session, so no cookie; start again.
    if (!(await session.settle(gate))) throw new FederationError('state');
    setSessionCookie(c, grantFor(user, session), now);
    return land(c, flow.returnTo);
  } catch (err) {
    if (!(err instanceof FederationError)) throw err;
    const page = linking ? '/account' : '/sign-in';
    return c.redirect(`${page}?error=${err.reason}`, 302);
  }
}

/**
 * /auth/oauth/{provider}/start and /callback. Mounted with the pages, before the API's JSON and
 * Origin rules: Apple answers with a cross-site form post (response_mode=form_post).
 */
export const federation = new Hono<AppEnv>()
  .get('/auth/oauth/:provider/start', rateLimit('LOGIN'), async (c) => {
    const p = provider(c);
    const returnTo = safeReturnTo(c.var.config, c.req.query('return_to'));
    try {
      return c.redirect(await startUrl(c, p, returnTo, null), 302);
    } catch (err) {
      c.var.log.warn('identity provider unavailable', {
        provider: p.config.id,
        error: String(err),
        code: (err as { code?: string }).code,
      });
      return c.redirect('/sign-in?error=provider', 302);
    }
  })
  .get('/auth/oauth/:provider/callback', rateLimit('LOGIN'), (c) =>
    callback(c, new URL(c.req.url).searchParams),
  )
  .post('/auth/oauth/:provider/callback', limitBody, rateLimit('LOGIN'), async (c) => {
    const form = await c.req.parseBody();
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (typeof v === 'string') params.set(k, v);
    return callback(c, params);
  });
