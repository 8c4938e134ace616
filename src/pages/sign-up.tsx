import * as z from 'zod';
import { Hono } from 'hono';
import { mailAccountExists } from '../accounts/email-links';
import { registerAccount } from '../accounts/register';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { rateLimit } from '../middleware/rate-limit';
import { emailField, passwordField } from '../policy/fields';
import { nameField } from '../users/users';
import { formToken, isOwnForm } from './csrf';
import { pageFailure, parseForm } from './form';
import { EmailField, NameField, NewPassword, Outcome } from './fields';
import { Csrf, Message, renderPage } from './layout';
import { fill, strings } from './strings';

const t = strings.signUp;
const signUpForm = z.object({
  email: emailField,
  password: passwordField,
  // An empty field is no name, not a name that fails "must not be empty".
  name: z.preprocess((v) => (v === '' ? undefined : v), nameField.optional()),
});

function SignUpForm(props: {
  token: string;
  minLength: number;
  email?: string;
  name?: string;
  error?: string;
}) {
  return (
    <section class="card">
      <h1>{t.title}</h1>
      <Message error={props.error} />
      <form method="post" action="/sign-up">
        <Csrf token={props.token} />
        <NameField label={t.name} value={props.name} required={false} />
        <EmailField label={t.email} value={props.email} />
        <NewPassword id="password" label={t.password} minLength={props.minLength} />
        <button type="submit">{t.submit}</button>
      </form>
      <p class="muted">
        {t.haveAccount} <a href="/sign-in">{t.signIn}</a>
      </p>
    </section>
  );
}

export const signUp = new Hono<AppEnv>()
  .get('/sign-up', async (c) =>
    renderPage(
      c,
      200,
      t.title,
      <SignUpForm token={await formToken(c)} minLength={c.var.config.MIN_PASSWORD_LENGTH} />,
    ),
  )
  .post('/sign-up', limitBody, rateLimit('REGISTER'), async (c) => {
    const form = await c.req.parseBody();
    const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 320) : '');
    const again = async (status: Parameters<typeof renderPage>[1], error: string) =>
      renderPage(
        c,
        status,
        t.title,
        <SignUpForm
          token={await formToken(c)}
          minLength={c.var.config.MIN_PASSWORD_LENGTH}
          email={text(form.email)}
          name={text(form.name)}
          error={error}
        />,
      );
    if (!(await isOwnForm(c, form._csrf))) return again(403, strings.errors.csrf);
    try {
      const input = await parseForm(c, signUpForm);
      const created = await registerAccount(c, input);
      // Taken: the page says what it says for a new account, and the owner of the address
      // hears about it by mail; only the mailbox learns that the account exists.
      if (!created) mailAccountExists(c, input.email);
      const sent = fill(t.sent, { email: input.email });
      const next = { href: '/sign-in', label: t.signIn };
      return renderPage(
        c,
        200,
        t.sentTitle,
        <Outcome title={t.sentTitle} kind="plain" message={sent} next={next} />,
      );
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
  });
