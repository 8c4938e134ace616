import * as z from 'zod';
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { limitBody } from '../middleware/json-body';
import { formToken, isOwnForm } from '../pages/csrf';
import { CodeField, EmailField } from '../pages/fields';
import { pageFailure, parseForm } from '../pages/form';
import { Csrf, Message, renderPage } from '../pages/layout';
import { safeReturnTo } from '../pages/return-to';
import { pageSession } from '../pages/session';
import { CodeForm, signedIn } from '../pages/sign-in';
import { fill, strings } from '../pages/strings';
import { sendLimit, verifyLimit } from './api';
import { EMAIL_CODE_TTL_SECONDS } from './codes';
import { sendEmailCode, signInWithEmailCode } from './sign-in';

const t = strings.emailCode;
const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
const codeStep = z.object({
  email: z.string().max(320),
  code: z.string().max(64),
  return_to: z.string().max(2048).optional(),
});

type Props = { token: string; returnTo: string; email?: string; error?: string };

const PasswordLink = ({ returnTo }: { returnTo: string }) => (
  <p class="muted">
    <a href={`/sign-in?return_to=${encodeURIComponent(returnTo)}`}>{t.password}</a>
  </p>
);

function AskForm(props: Props) {
  return (
    <section class="card">
      <h1>{t.title}</h1>
      <Message error={props.error} />
      <p>{t.intro}</p>
      <form method="post" action="/sign-in/email-code">
        <Csrf token={props.token} />
        <input type="hidden" name="return_to" value={props.returnTo} />
        <EmailField label={t.email} value={props.email} />
        <button type="submit">{t.send}</button>
      </form>
      <PasswordLink returnTo={props.returnTo} />
    </section>
  );
}

function CheckForm(props: Props & { email: string }) {
  const hidden = (
    <>
      <Csrf token={props.token} />
      <input type="hidden" name="email" value={props.email} />
      <input type="hidden" name="return_to" value={props.returnTo} />
    </>
  );
  const minutes = EMAIL_CODE_TTL_SECONDS / 60;
  return (
    <section class="card">
      <h1>{t.sentTitle}</h1>
      <Message error={props.error} />
      <p>{fill(t.sent, { email: props.email, minutes })}</p>
      <form method="post" action="/sign-in/email-code/verify">
        {hidden}
        <CodeField id="code" label={t.code} />
        <button type="submit">{t.submit}</button>
      </form>
      <form method="post" action="/sign-in/email-code">
        {hidden}
        <button type="submit" class="secondary">
          {t.again}
        </button>
      </form>
      <PasswordLink returnTo={props.returnTo} />
    </section>
  );
}

/**
 * "Email me a code instead": ask for a code (the same answer for every address), then enter it
 * on the next page. It ends like the password form: the session cookie and on to return_to, or
 * the second step when two-factor is on. Mounted with the pages (src/pages/index.tsx).
 */
export const emailCodePage = new Hono<AppEnv>()
  .get('/sign-in/email-code', async (c) => {
    const to = safeReturnTo(c.var.config, c.req.query('return_to'));
    if (await pageSession(c)) return c.redirect(to, 303);
    return renderPage(c, 200, t.title, <AskForm token={await formToken(c)} returnTo={to} />);
  })
  .post('/sign-in/email-code', limitBody, sendLimit, async (c) => {
    const form = await c.req.parseBody();
    const to = safeReturnTo(c.var.config, form.return_to);
    const email = text(form.email, 320);
    const token = await formToken(c);
    if (!(await isOwnForm(c, form._csrf))) {
      const body = (
        <AskForm token={token} returnTo={to} email={email} error={strings.errors.csrf} />
      );
      return renderPage(c, 403, t.title, body);
    }
    sendEmailCode(c, email);
    return renderPage(c, 200, t.sentTitle, <CheckForm token={token} returnTo={to} email={email} />);
  })
  .post('/sign-in/email-code/verify', limitBody, verifyLimit, async (c) => {
    const form = await c.req.parseBody();
    const to = safeReturnTo(c.var.config, form.return_to);
    const email = text(form.email, 320);
    const again = async (status: Parameters<typeof renderPage>[1], error: string) => {
      const body = (
        <CheckForm token={await formToken(c)} returnTo={to} email={email} error={error} />
      );
      return renderPage(c, status, t.sentTitle, body);
    };
    if (!(await isOwnForm(c, form._csrf))) return again(403, strings.errors.csrf);
    try {
      const input = await parseForm(c, codeStep);
      const result = await signInWithEmailCode(c, input.email, input.code);
      if (result.kind === 'mfa_required') {
        const step = (
          <CodeForm
            config={c.var.config}
            token={await formToken(c)}
            mfaToken={result.mfaToken}
            returnTo={to}
          />
        );
        return renderPage(c, 200, strings.code.title, step);
      }
      await result.persisting;
      return signedIn(c, result.grant, result.now, to);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
  });
