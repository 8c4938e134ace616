import type { Context } from 'hono';
import type { Child } from '../jsx/jsx-runtime';
import type { SessionRow, UserRow } from '../../db/schema';
import type { AppEnv } from '../../env';
import { formToken, isOwnForm } from '../csrf';
import { pageFailure } from '../form';
import { renderPage } from '../layout';
import { pageSession, pageSessionWithSessions, type PageSession } from '../session';
import { strings } from '../strings';

/** What every section of the account page is drawn from. */
export type AccountView = {
  /** For a section that reads what only it shows (an async component). */
  c: Context<AppEnv>;
  user: UserRow;
  sessionId: string;
  sessions: SessionRow[];
  /** The form token of this browser. */
  token: string;
  /** MIN_PASSWORD_LENGTH, for the new-password fields. */
  minLength: number;
  /** A refusal to show in one section. */
  error?: { section: string; message: string };
};

export type Section = {
  id: string;
  render: (view: AccountView) => Child;
  /** Whether the section belongs on the page at all (a capability that is not configured). */
  shown?: (view: AccountView) => boolean;
};

/**
 * The sections of /account, in order. A capability adds its section here and its form routes
 * to `accountRoutes` (account/index.tsx): nothing else on the page changes.
 */
const sections: Section[] = [];
export const addSection = (section: Section) => sections.push(section);

export const NOTICES = strings.account.saved;
export type Notice = keyof typeof NOTICES;

/** /account, or the sign-in page when nobody is signed in. */
export async function renderAccount(
  c: Context<AppEnv>,
  status: Parameters<typeof renderPage>[1] = 200,
  error?: AccountView['error'],
) {
  const found = await pageSessionWithSessions(c);
  if (!found) return c.redirect('/sign-in', 303);
  const token = await formToken(c);
  const minLength = c.var.config.MIN_PASSWORD_LENGTH;
  const view: AccountView = { c, ...found, token, minLength, ...(error ? { error } : {}) };
  const done = c.req.query('done') ?? '';
  const notice = Object.hasOwn(NOTICES, done) ? NOTICES[done as Notice] : null;
  return renderPage(
    c,
    status,
    strings.account.title,
    <>
      <h1>{strings.account.title}</h1>
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      {sections
        .filter((s) => s.shown?.(view) ?? true)
        .map((s) => (
          <section class="card" id={s.id} aria-labelledby={`${s.id}-title`}>
            {s.render(view)}
          </section>
        ))}
    </>,
    token,
  );
}

/**
 * A form post from /account: the signed-in session (else to sign-in), this browser's form token,
 * then `act`. Success goes back to /account with what was done (POST, redirect, GET); a refusal
 * is shown in the section the form belongs to, with the status that says why.
 */
export async function accountAction(
  c: Context<AppEnv>,
  section: string,
  act: (session: PageSession, form: Record<string, unknown>) => Promise<Notice | Response>,
) {
  const session = await pageSession(c);
  if (!session) return c.redirect('/sign-in', 303);
  const form = await c.req.parseBody();
  if (!(await isOwnForm(c, form._csrf))) {
    return renderAccount(c, 403, { section, message: strings.errors.csrf });
  }
  try {
    const done = await act(session, form);
    if (done instanceof Response) return done;
    return c.redirect(`/account?done=${done}#${section}`, 303);
  } catch (err) {
    const failure = pageFailure(c, err);
    if (!failure) throw err;
    return renderAccount(c, failure.status, { section, message: failure.message });
  }
}

/** The refusal for this section, if the last post was refused there. */
export const SectionError = ({ view, section }: { view: AccountView; section: string }) =>
  view.error?.section === section ? (
    <p class="error" role="alert">
      {view.error.message}
    </p>
  ) : null;
