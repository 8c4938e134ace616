import { z } from '@hono/zod-openapi';
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
        <label for="name">{t.name}</label>
        <input
          id="name"
          name="name"
          type="text"
          autocomplete="name"
          maxlength={100}
          value={props.name ?? ''}
        />
        <label for="email">{t.email}</label>
        <input
          id="email"
          name="email"
          type="email"
          autocomplete="username"
          required
          value={props.email ?? ''}
        />
        <label for="password">{t.password}</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          minlength={props.minLength}
          aria-describedby="password-hint"
          required
        />
        <p class="hint" id="password-hint">
          {fill(t.passwordHint, { min: props.minLength })}
        </p>
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
      return renderPage(
        c,
        200,
        t.sentTitle,
        <section class="card">
          <h1>{t.sentTitle}</h1>
          <p>{fill(t.sent, { email: input.email })}</p>
          <p>
            <a class="button" href="/sign-in">
              {t.signIn}
            </a>
          </p>
        </section>,
      );
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
  });
