import * as z from 'zod';
import { Hono, type Context } from 'hono';
import { grantFor, signInWithPassword } from '../accounts/sign-in';
import { auditContext } from '../audit/audit';
import { database } from '../db/client';
import { EmailCodeLink } from '../email-code/link';
import type { Config } from '../config';
import type { AppEnv } from '../env';
import { federationError, ProviderButtons } from '../federation/buttons';
import { PasskeySignIn } from '../passkeys/pages';
import { passkeysUsable } from '../passkeys/ceremonies';
import { verifyChallenge } from '../mfa/challenge';
import { limitBody } from '../middleware/json-body';
import { rateLimit } from '../middleware/rate-limit';
import { passwordField } from '../policy/fields';
import { clientMeta } from '../request-meta';
import type { SessionGrant } from '../sessions/rotation';
import { setSessionCookie } from '../sessions/grant';
import { formToken, isOwnForm } from './csrf';
import { parseForm, pageFailure } from './form';
import { CodeField, CurrentPassword, EmailField } from './fields';
import { Csrf, Message, renderPage } from './layout';
import { safeReturnTo } from './return-to';
import { pageSession } from './session';
import { strings } from './strings';

const t = strings.signIn;
const returnTo = z.string().max(2048).optional();
const passwordStep = z.object({
  email: z.string().max(320),
  password: passwordField,
  return_to: returnTo,
});
const codeStep = z.object({
  mfa_token: z.string().max(256),
  code: z.string().max(64),
  return_to: returnTo,
});

function SignInForm(props: {
  config: Config;
  token: string;
  returnTo: string;
  email?: string;
  error?: string;
}) {
  return (
    <section class="card">
      <h1>{t.title}</h1>
      <Message error={props.error} />
      <form method="post" action="/sign-in">
        <Csrf token={props.token} />
        <input type="hidden" name="return_to" value={props.returnTo} />
        <EmailField label={t.email} value={props.email} webauthn={passkeysUsable(props.config)} />
        <CurrentPassword id="password" name="password" label={t.password} />
        <button type="submit">{t.submit}</button>
      </form>
      <PasskeySignIn config={props.config} token={props.token} returnTo={props.returnTo} autofill />
      <EmailCodeLink returnTo={props.returnTo} />
      <ProviderButtons config={props.config} returnTo={props.returnTo} />
      <p class="muted">
        <a href="/reset-password">{t.forgot}</a>
      </p>
      <p class="muted">
        {t.noAccount} <a href="/sign-up">{t.signUp}</a>
      </p>
    </section>
  );
}

export function CodeForm(props: {
  /** Offers a passkey as the second step too, where passkeys are usable. */
  config?: Config;
  token: string;
  mfaToken: string;
  returnTo: string;
  error?: string;
}) {
  const c = strings.code;
  const hidden = (
    <>
      <Csrf token={props.token} />
      <input type="hidden" name="mfa_token" value={props.mfaToken} />
      <input type="hidden" name="return_to" value={props.returnTo} />
    </>
  );
  return (
    <section class="card">
      <h1>{c.title}</h1>
      <Message error={props.error} />
      <p>{c.intro}</p>
      <form method="post" action="/sign-in/code">
        {hidden}
        <CodeField id="code" label={c.code} />
        <button type="submit">{c.submit}</button>
      </form>
      <details>
        <summary>{c.recoveryToggle}</summary>
        <form method="post" action="/sign-in/code">
          {hidden}
          <label for="recovery">{c.recovery}</label>
          <input
            id="recovery"
            name="code"
            type="text"
            autocomplete="off"
            spellcheck={false}
            required
          />
          <button type="submit" class="secondary">
            {c.recoverySubmit}
          </button>
        </form>
      </details>
      {props.config ? (
        <PasskeySignIn
          config={props.config}
          token={props.token}
          returnTo={props.returnTo}
          mfaToken={props.mfaToken}
        />
      ) : null}
      <p class="muted">
        <a href="/sign-in">{c.restart}</a>
      </p>
    </section>
  );
}

/** Signed in: the session cookie, then on to where the sign-in was meant to lead. */
export function signedIn(c: Context<AppEnv>, grant: SessionGrant, now: number, to: string) {
  setSessionCookie(c, grant, now);
  return c.redirect(to, 303);
}

export const signIn = new Hono<AppEnv>()
  .get('/sign-in', async (c) => {
    const to = safeReturnTo(c.var.config, c.req.query('return_to'));
    if (await pageSession(c)) return c.redirect(to, 303);
    // Back from an identity provider that refused (?error=): say why.
    const error = federationError(c.req.query('error'));
    const form = (
      <SignInForm config={c.var.config} token={await formToken(c)} returnTo={to} error={error} />
    );
    return renderPage(c, error ? 400 : 200, t.title, form);
  })
  .post('/sign-in', limitBody, rateLimit('LOGIN'), async (c) => {
    const form = await c.req.parseBody();
    const to = safeReturnTo(c.var.config, form.return_to);
    const email = typeof form.email === 'string' ? form.email.slice(0, 320) : '';
    const again = async (status: Parameters<typeof renderPage>[1], error: string) =>
      renderPage(
        c,
        status,
        t.title,
        <SignInForm
          config={c.var.config}
          token={await formToken(c)}
          returnTo={to}
          email={email}
          error={error}
        />,
      );
    if (!(await isOwnForm(c, form._csrf))) return again(403, strings.errors.csrf);
    try {
      const input = await parseForm(c, passwordStep);
      const result = await signInWithPassword(c, input.email, input.password);
      if (result.kind === 'mfa_required') {
        return renderPage(
          c,
          200,
          strings.code.title,
          <CodeForm
            config={c.var.config}
            token={await formToken(c)}
            mfaToken={result.mfaToken}
            returnTo={to}
          />,
        );
      }
      await result.persisting;
      return signedIn(c, result.grant, result.now, to);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
  })
  .post('/sign-in/code', limitBody, rateLimit('MFA_VERIFY'), async (c) => {
    const form = await c.req.parseBody();
    const to = safeReturnTo(c.var.config, form.return_to);
    const mfaToken = typeof form.mfa_token === 'string' ? form.mfa_token.slice(0, 256) : '';
    const again = async (status: Parameters<typeof renderPage>[1], error: string) =>
      renderPage(
        c,
        status,
        strings.code.title,
        <CodeForm
          config={c.var.config}
          token={await formToken(c)}
          mfaToken={mfaToken}
          returnTo={to}
          error={error}
        />,
      );
    if (!(await isOwnForm(c, form._csrf))) return again(403, strings.errors.csrf);
    try {
      const input = await parseForm(c, codeStep);
      const now = Date.now();
      const db = database(c.env.DB);
      const ctx = auditContext(c);
      const meta = clientMeta(c);
      const { user, session } = await verifyChallenge(
        db,
        c.var.config,
        ctx,
        input.mfa_token,
        input.code,
        now,
        meta,
      );
      return signedIn(c, grantFor(user, session), now, to);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return again(failure.status, failure.message);
    }
  });
