import { Hono } from 'hono';
import { confirmEmail } from '../accounts/email-links';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { formToken, isOwnForm } from './csrf';
import { pageFailure } from './form';
import { Csrf, Message, renderPage } from './layout';
import { fill, strings } from './strings';

const t = strings.verify;
const tokenOf = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : '');

function ConfirmForm(props: { token: string; linkToken: string; error?: string }) {
  return (
    <section class="card">
      <h1>{t.title}</h1>
      <Message error={props.error} />
      <p>{t.intro}</p>
      <form method="post" action="/verify-email">
        <Csrf token={props.token} />
        <input type="hidden" name="token" value={props.linkToken} />
        <button type="submit">{t.submit}</button>
      </form>
    </section>
  );
}

/**
 * The link in the verification mail. Its GET only shows a button: mail scanners and link
 * previews fetch links, and must not spend the token (THREATS G10). Only the POST does.
 */
export const verifyEmail = new Hono<AppEnv>()
  .get('/verify-email', async (c) =>
    renderPage(
      c,
      200,
      t.title,
      <ConfirmForm token={await formToken(c)} linkToken={tokenOf(c.req.query('token'))} />,
    ),
  )
  .post('/verify-email', limitBody, async (c) => {
    const form = await c.req.parseBody();
    const linkToken = tokenOf(form.token);
    if (!(await isOwnForm(c, form._csrf))) {
      const token = await formToken(c);
      const body = <ConfirmForm token={token} linkToken={linkToken} error={strings.errors.csrf} />;
      return renderPage(c, 403, t.title, body);
    }
    try {
      const user = await confirmEmail(c, linkToken);
      return renderPage(
        c,
        200,
        t.doneTitle,
        <section class="card">
          <h1>{t.doneTitle}</h1>
          <p class="notice">{fill(t.done, { email: user.email })}</p>
          <p>
            <a class="button" href="/account">
              {strings.account.title}
            </a>
          </p>
        </section>,
      );
    } catch (err) {
      if (!pageFailure(c, err)) throw err;
      return renderPage(
        c,
        400,
        t.title,
        <section class="card">
          <h1>{t.title}</h1>
          <p class="error" role="alert">
            {t.invalid}
          </p>
          <p>
            <a href="/sign-in">{strings.signIn.title}</a>
          </p>
        </section>,
      );
    }
  });
