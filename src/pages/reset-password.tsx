import * as z from 'zod';
import { Hono } from 'hono';
import { requestPasswordReset, resetPassword, resetTokenUser } from '../accounts/email-links';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { rateLimit } from '../middleware/rate-limit';
import { passwordField } from '../policy/fields';
import { formToken, isOwnForm } from './csrf';
import { pageFailure, parseForm } from './form';
import { EmailField, NewPassword, Outcome, UsernameHint } from './fields';
import { Csrf, Message, renderPage } from './layout';
import { fill, strings } from './strings';

const t = strings.reset;
const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
const newPasswordForm = z.object({ token: z.string().max(256), new_password: passwordField });

function RequestForm(props: { token: string; email?: string; error?: string }) {
  return (
    <section class="card">
      <h1>{t.title}</h1>
      <Message error={props.error} />
      <p>{t.intro}</p>
      <form method="post" action="/reset-password">
        <Csrf token={props.token} />
        <EmailField label={t.email} value={props.email} />
        <button type="submit">{t.submit}</button>
      </form>
    </section>
  );
}

function NewPasswordForm(props: {
  token: string;
  linkToken: string;
  email: string;
  minLength: number;
  error?: string;
}) {
  return (
    <section class="card">
      <h1>{t.newTitle}</h1>
      <Message error={props.error} />
      <form method="post" action="/reset-password/new">
        <Csrf token={props.token} />
        <input type="hidden" name="token" value={props.linkToken} />
        <UsernameHint email={props.email} />
        <NewPassword id="new_password" label={t.newPassword} minLength={props.minLength} />
        <button type="submit">{t.save}</button>
      </form>
    </section>
  );
}

const Invalid = () => (
  <Outcome
    title={t.newTitle}
    kind="error"
    message={t.invalid}
    next={{ href: '/reset-password', label: t.again }}
  />
);

/**
 * Without a token: ask for a link (the same answer for every address, THREATS C4). With the
 * token from the mail: choose the new password. The page sends no Referer (the token is in its
 * URL) and signs nobody in (THREATS B12, G9).
 */
export const resetPasswordPage = new Hono<AppEnv>()
  .get('/reset-password', async (c) => {
    const linkToken = text(c.req.query('token'), 256);
    if (!linkToken) return renderPage(c, 200, t.title, <RequestForm token={await formToken(c)} />);
    const user = await resetTokenUser(c, linkToken);
    if (!user) return renderPage(c, 400, t.newTitle, <Invalid />);
    const minLength = c.var.config.MIN_PASSWORD_LENGTH;
    const body = (
      <NewPasswordForm
        token={await formToken(c)}
        linkToken={linkToken}
        email={user.email}
        minLength={minLength}
      />
    );
    return renderPage(c, 200, t.newTitle, body);
  })
  .post('/reset-password', limitBody, rateLimit('FORGOT_PASSWORD'), async (c) => {
    const form = await c.req.parseBody();
    const email = text(form.email, 320);
    if (!(await isOwnForm(c, form._csrf))) {
      const body = (
        <RequestForm token={await formToken(c)} email={email} error={strings.errors.csrf} />
      );
      return renderPage(c, 403, t.title, body);
    }
    requestPasswordReset(c, email);
    const sent = fill(t.sent, { email });
    return renderPage(
      c,
      200,
      t.sentTitle,
      <Outcome title={t.sentTitle} kind="plain" message={sent} />,
    );
  })
  .post('/reset-password/new', limitBody, async (c) => {
    const form = await c.req.parseBody();
    const linkToken = text(form.token, 256);
    const minLength = c.var.config.MIN_PASSWORD_LENGTH;
    const again = async (status: Parameters<typeof renderPage>[1], error: string) => {
      const user = await resetTokenUser(c, linkToken);
      if (!user) return renderPage(c, 400, t.newTitle, <Invalid />);
      const token = await formToken(c);
      const body = (
        <NewPasswordForm
          token={token}
          linkToken={linkToken}
          email={user.email}
          minLength={minLength}
          error={error}
        />
      );
      return renderPage(c, status, t.newTitle, body);
    };
    if (!(await isOwnForm(c, form._csrf))) return again(403, strings.errors.csrf);
    try {
      const input = await parseForm(c, newPasswordForm);
      await resetPassword(c, input.token, input.new_password);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
    const next = { href: '/sign-in', label: strings.signIn.title };
    return renderPage(
      c,
      200,
      t.doneTitle,
      <Outcome title={t.doneTitle} message={t.done} next={next} />,
    );
  });
