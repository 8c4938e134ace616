import * as z from 'zod';
import { Hono, type Context } from 'hono';
import { grantFor } from '../accounts/sign-in';
import { auditContext, auditEvent } from '../audit/audit';
import { NO_PASSWORD } from '../crypto/password';
import { database } from '../db/client';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { limitBody } from '../middleware/json-body';
import {
  accountAction,
  renderAccount,
  SectionError,
  type AccountView,
} from '../pages/account/view';
import { formToken, isOwnForm } from '../pages/csrf';
import { CurrentPassword, NewPassword, Outcome, UsernameHint } from '../pages/fields';
import { pageFailure, parseForm } from '../pages/form';
import { Csrf, Message, renderPage } from '../pages/layout';
import { pageSession } from '../pages/session';
import { fill, strings } from '../pages/strings';
import { emailField, passwordField } from '../policy/fields';
import { clearRefreshCookie } from '../sessions/cookie';
import { setSessionCookie } from '../sessions/grant';
import { CONFIRM_PAGE, confirmEmailChange, requestEmailChange } from './email-change';
import { personalData } from './export';
import { acceptInvite, invitedUser, INVITE_PAGE } from './invitation';
import { deleteOwnAccount } from './self-deletion';
import { readDb } from '../replicas/read-db';

const t = strings.lifecycle;
const text = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');

// The /account sections (email change, data export, deletion) and the pages the lifecycle's
// mails link to. Links only show a button: a mail scanner's GET spends nothing (THREATS G10).

function EmailChange({ view }: { view: AccountView }) {
  const hasPassword = view.user.passwordHash !== NO_PASSWORD;
  return (
    <>
      <h2 id="email-title">{t.emailTitle}</h2>
      <SectionError view={view} section="email" />
      <p class="muted">{hasPassword ? t.emailIntro : t.noPassword}</p>
      {hasPassword ? (
        <form method="post" action="/account/email">
          <Csrf token={view.token} />
          <label for="new-email">{t.newEmail}</label>
          <input id="new-email" name="new_email" type="email" autocomplete="email" required />
          <CurrentPassword id="email-password" name="password" label={t.password} />
          <button type="submit">{t.sendLink}</button>
        </form>
      ) : null}
    </>
  );
}

const Export = () => (
  <>
    <h2 id="export-title">{t.exportTitle}</h2>
    <p class="muted">{t.exportIntro}</p>
    <p>
      <a class="button secondary" href="/account/export" download="account-export.json">
        {t.download}
      </a>
    </p>
  </>
);

function Delete({ view }: { view: AccountView }) {
  const hasPassword = view.user.passwordHash !== NO_PASSWORD;
  return (
    <>
      <h2 id="delete-title">{t.deleteTitle}</h2>
      <SectionError view={view} section="delete" />
      <p>{t.deleteIntro}</p>
      {hasPassword ? null : <p class="muted">{t.deleteNoPassword}</p>}
      <form method="post" action="/account/delete">
        <Csrf token={view.token} />
        {hasPassword ? (
          <>
            <UsernameHint email={view.user.email} />
            <CurrentPassword id="delete-password" name="password" label={t.password} />
          </>
        ) : null}
        {view.user.totpEnabledAt !== null ? (
          <>
            <label for="delete-code">{t.code}</label>
            <input id="delete-code" name="code" type="text" autocomplete="one-time-code" required />
          </>
        ) : null}
        <label class="check">
          <input type="checkbox" name="confirm" value="yes" required /> {t.understand}
        </label>
        <button type="submit" class="danger">
          {t.delete}
        </button>
      </form>
    </>
  );
}

const deleteForm = z.object({
  confirm: z.literal('yes', 'must be ticked'),
  password: passwordField.optional(),
  code: z.string().max(64).optional(),
});

export const emailSection = {
  section: { id: 'email', render: (view: AccountView) => <EmailChange view={view} /> },
  routes: new Hono<AppEnv>().post('/account/email', limitBody, (c) =>
    accountAction(c, 'email', async ({ user, sessionId }) => {
      const input = await parseForm(
        c,
        z.object({ new_email: emailField, password: passwordField }),
      );
      await requestEmailChange(c, user, sessionId, input.new_email, input.password);
      return 'emailChange';
    }),
  ),
};

export const exportSection = {
  section: { id: 'export', render: () => <Export /> },
  // A download, read with the page's session cookie (SameSite=Strict: another site's link
  // arrives without it and lands on the sign-in page).
  routes: new Hono<AppEnv>().get('/account/export', async (c) => {
    const session = await pageSession(c);
    if (!session) return c.redirect('/sign-in', 303);
    const db = database(c.env.DB);
    await db.batch([auditEvent(db, auditContext(c), 'account.exported', session.user.id)]);
    const data = await personalData(readDb(c), session.user, Date.now());
    c.header('Cache-Control', 'no-store');
    c.header('Content-Disposition', 'attachment; filename="account-export.json"');
    return c.json(data);
  }),
};

export const deleteSection = {
  section: { id: 'delete', render: (view: AccountView) => <Delete view={view} /> },
  routes: new Hono<AppEnv>().post('/account/delete', limitBody, (c) =>
    accountAction(c, 'delete', async ({ user, sessionId }) => {
      const input = await parseForm(c, deleteForm);
      try {
        await deleteOwnAccount(c, user, sessionId, input.password || undefined, input.code);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'recent_sign_in_required') {
          return renderAccount(c, 403, { section: 'delete', message: t.deleteNoPassword });
        }
        throw err;
      }
      clearRefreshCookie(c);
      return c.redirect('/account-deleted', 303);
    }),
  ),
};

function ConfirmChange(props: { token: string; linkToken: string; error?: string }) {
  return (
    <section class="card">
      <h1>{t.confirmTitle}</h1>
      <Message error={props.error} />
      <p>{t.confirmIntro}</p>
      <form method="post" action={`/${CONFIRM_PAGE}`}>
        <Csrf token={props.token} />
        <input type="hidden" name="token" value={props.linkToken} />
        <button type="submit">{t.confirm}</button>
      </form>
    </section>
  );
}

function InviteForm(props: {
  token: string;
  linkToken: string;
  email: string;
  minLength: number;
  error?: string;
}) {
  return (
    <section class="card">
      <h1>{t.inviteTitle}</h1>
      <Message error={props.error} />
      <p>{fill(t.inviteIntro, { email: props.email })}</p>
      <form method="post" action={`/${INVITE_PAGE}`}>
        <Csrf token={props.token} />
        <input type="hidden" name="token" value={props.linkToken} />
        <UsernameHint email={props.email} />
        <NewPassword
          id="new_password"
          label={strings.reset.newPassword}
          minLength={props.minLength}
        />
        <button type="submit">{t.inviteSave}</button>
      </form>
    </section>
  );
}

const InviteInvalid = () => (
  <Outcome
    title={t.inviteTitle}
    kind="error"
    message={t.inviteInvalid}
    next={{ href: '/sign-in', label: strings.signIn.title }}
  />
);

async function inviteForm(
  c: Context<AppEnv>,
  linkToken: string,
  status: Parameters<typeof renderPage>[1],
  error?: string,
) {
  const user = linkToken ? await invitedUser(c, linkToken) : undefined;
  if (!user) return renderPage(c, 400, t.inviteTitle, <InviteInvalid />);
  const body = (
    <InviteForm
      token={await formToken(c)}
      linkToken={linkToken}
      email={user.email}
      minLength={c.var.config.MIN_PASSWORD_LENGTH}
      {...(error ? { error } : {})}
    />
  );
  return renderPage(c, status, t.inviteTitle, body);
}

/** The pages the lifecycle's mails link to, and the page after a deletion. */
export const lifecyclePages = new Hono<AppEnv>()
  .get(`/${CONFIRM_PAGE}`, async (c) => {
    const body = (
      <ConfirmChange token={await formToken(c)} linkToken={text(c.req.query('token'), 256)} />
    );
    return renderPage(c, 200, t.confirmTitle, body);
  })
  .post(`/${CONFIRM_PAGE}`, limitBody, async (c) => {
    const form = await c.req.parseBody();
    const linkToken = text(form.token, 256);
    if (!(await isOwnForm(c, form._csrf))) {
      const token = await formToken(c);
      const body = (
        <ConfirmChange token={token} linkToken={linkToken} error={strings.errors.csrf} />
      );
      return renderPage(c, 403, t.confirmTitle, body);
    }
    try {
      const user = await confirmEmailChange(c, linkToken);
      const done = fill(t.confirmed, { email: user.email });
      const next = { href: '/account', label: strings.account.title };
      const body = <Outcome title={t.confirmedTitle} message={done} next={next} />;
      return renderPage(c, 200, t.confirmedTitle, body);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      const taken = err instanceof ApiError && err.code === 'email_taken';
      const message = taken ? strings.errors.email_taken : t.confirmInvalid;
      const next = { href: '/account', label: strings.account.title };
      const body = <Outcome title={t.confirmTitle} kind="error" message={message} next={next} />;
      return renderPage(c, taken ? 409 : 400, t.confirmTitle, body);
    }
  })
  .get(`/${INVITE_PAGE}`, (c) => inviteForm(c, text(c.req.query('token'), 256), 200))
  .post(`/${INVITE_PAGE}`, limitBody, async (c) => {
    const form = await c.req.parseBody();
    const linkToken = text(form.token, 256);
    if (!(await isOwnForm(c, form._csrf))) {
      return inviteForm(c, linkToken, 403, strings.errors.csrf);
    }
    let accepted;
    try {
      const input = await parseForm(
        c,
        z.object({ token: z.string().max(256), new_password: passwordField }),
      );
      accepted = await acceptInvite(c, input.token, input.new_password);
    } catch (err) {
      const failure = pageFailure(c, err);
      if (!failure) throw err;
      return inviteForm(c, linkToken, failure.status, failure.message);
    }
    if (accepted.session) {
      setSessionCookie(c, grantFor(accepted.user, accepted.session), Date.now());
      return c.redirect('/account', 303);
    }
    const next = { href: '/sign-in', label: strings.signIn.title };
    const body = <Outcome title={t.inviteDoneTitle} message={t.inviteDone} next={next} />;
    return renderPage(c, 200, t.inviteDoneTitle, body);
  })
  .get('/account-deleted', (c) =>
    renderPage(
      c,
      200,
      t.deletedTitle,
      <Outcome
        title={t.deletedTitle}
        message={t.deleted}
        next={{ href: '/sign-up', label: strings.signUp.title }}
      />,
    ),
  );
