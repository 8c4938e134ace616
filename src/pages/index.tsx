import { Hono } from 'hono';
import { emailCodePage } from '../email-code/page';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { clearRefreshCookie } from '../sessions/cookie';
import { signOut } from '../sessions/sign-out';
import { lifecyclePages } from '../lifecycle/pages';
import { passkeySignIn } from '../passkeys/pages';
import { account } from './account';
import { serveScript, serveStylesheet } from './assets';
import { formToken, isOwnForm } from './csrf';
import { pageFailure } from './form';
import { renderPage } from './layout';
import { resetPasswordPage } from './reset-password';
import { pageSession } from './session';
import { signIn } from './sign-in';
import { signUp } from './sign-up';
import { strings } from './strings';
import { verifyEmail } from './verify-email';

/**
 * Server-rendered pages that finish every flow without a frontend: sign-in (with the second
 * step), sign-up, email confirmation, password reset and the account page. They call the same
 * domain functions as the API (never the API over HTTP) and set the same refresh cookie.
 */
export const pages = new Hono<AppEnv>()
  .get('/pages.css', serveStylesheet)
  .get('/pages.js', serveScript)
  .route('/', signIn)
  .route('/', passkeySignIn)
  .route('/', emailCodePage)
  .route('/', signUp)
  .route('/', verifyEmail)
  .route('/', resetPasswordPage)
  .route('/', account)
  .route('/', lifecyclePages)
  .post('/sign-out', limitBody, async (c) => {
    const form = await c.req.parseBody();
    if (!(await isOwnForm(c, form._csrf))) {
      const body = <p class="error">{strings.errors.csrf}</p>;
      return renderPage(c, 403, strings.errorTitle, body);
    }
    const session = await pageSession(c);
    if (session) await signOut(c, session.sessionId, session.user.id);
    clearRefreshCookie(c);
    return c.redirect('/sign-in', 303);
  });

// A refusal no handler turned into its own form (a rate limit, a store that does not answer)
// is a page too, not problem+json.
pages.onError(async (err, c) => {
  const failure = pageFailure(c, err);
  if (!failure) throw err;
  await formToken(c);
  const body = (
    <section class="card">
      <h1>{strings.errorTitle}</h1>
      <p class="error" role="alert">
        {failure.message}
      </p>
      <p>
        <a href="/sign-in">{strings.back}</a>
      </p>
    </section>
  );
  return renderPage(c, failure.status, strings.errorTitle, body);
});
