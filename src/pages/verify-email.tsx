import { Hono } from 'hono';
import { confirmEmail } from '../accounts/email-links';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { formToken, isOwnForm } from './csrf';
import { pageFailure } from './form';
import { Outcome } from './fields';
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
      const done = fill(t.done, { email: user.email });
      const next = { href: '/account', label: strings.account.title };
      return renderPage(
        c,
        200,
        t.doneTitle,
        <Outcome title={t.doneTitle} message={done} next={next} />,
      );
    } catch (err) {
      if (!pageFailure(c, err)) throw err;
      const next = { href: '/sign-in', label: strings.signIn.title };
      return renderPage(
        c,
        400,
        t.title,
        <Outcome title={t.title} kind="error" message={t.invalid} next={next} />,
      );
    }
  });
