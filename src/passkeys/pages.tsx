import * as z from 'zod';
import { Hono } from 'hono';
import type { Config } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { sendLater } from '../mail/send';
import { templates } from '../mail/templates';
import { database } from '../db/client';
import { challengeOwner, closeChallenge } from '../mfa/challenge';
import { uuidv7 } from '../crypto/tokens';
import { limitBody } from '../middleware/json-body';
import { rateLimit } from '../middleware/rate-limit';
import { accountAction, SectionError, type AccountView } from '../pages/account/view';
import { isOwnForm } from '../pages/csrf';
import { parseForm } from '../pages/form';
import { Csrf } from '../pages/layout';
import { safeReturnTo } from '../pages/return-to';
import { pageSession } from '../pages/session';
import { strings } from '../pages/strings';
import { setSessionCookie } from '../sessions/grant';
import { nameField } from '../users/users';
import { authenticationResponse, OPTIONS_BUCKET, registrationResponse } from './api';
import {
  addPasskeyRefusal,
  authenticationOptions,
  passkeysUsable,
  registerPasskey,
  registrationOptions,
  signInWithPasskey,
} from './ceremonies';
import { deletePasskey, passkeysOf, renamePasskey } from './store';

const t = strings.passkeys;
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The browser's answer, posted as JSON text in a form field by /pages.js. */
const posted = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .max(12_000)
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/**
 * "Sign in with a passkey" on /sign-in (and on the code step): a form /pages.js reveals and
 * drives; the email field's autofill offers passkeys too (conditional mediation).
 */
export function PasskeySignIn(props: {
  config: Config;
  token: string;
  returnTo: string;
  autofill?: boolean;
  /** On the code step: only a passkey of the account whose password was just typed. */
  mfaToken?: string;
}) {
  if (!passkeysUsable(props.config)) return null;
  return (
    <form
      method="post"
      action="/sign-in/passkey"
      data-passkey="sign-in"
      data-options="/sign-in/passkey/options"
      data-autofill={props.autofill ? '' : undefined}
      hidden
    >
      <Csrf token={props.token} />
      <input type="hidden" name="return_to" value={props.returnTo} />
      <input type="hidden" name="response" value="" />
      {props.mfaToken ? <input type="hidden" name="mfa_token" value={props.mfaToken} /> : null}
      <p class="error" role="alert" data-passkey-error hidden>
        {t.failed}
      </p>
      <button type="submit" class="secondary">
        {t.signIn}
      </button>
    </form>
  );
}

/** /sign-in/passkey: the options for the script, then the answer as a form post. */
export const passkeySignIn = new Hono<AppEnv>()
  .post('/sign-in/passkey/options', limitBody, rateLimit('LOGIN', OPTIONS_BUCKET), async (c) => {
    const form = await c.req.parseBody();
    if (!(await isOwnForm(c, form._csrf))) throw new ApiError('csrf_rejected');
    c.header('Cache-Control', 'no-store');
    const mfaToken = typeof form.mfa_token === 'string' ? form.mfa_token.slice(0, 256) : '';
    if (!mfaToken) return c.json(await authenticationOptions(c, undefined));
    // The second step: bound to the password's account (a spent or unknown token: to nobody).
    const owner = await challengeOwner(database(c.env.DB), mfaToken, Date.now());
    return c.json(await authenticationOptions(c, undefined, owner ?? `nobody:${uuidv7()}`));
  })
  .post('/sign-in/passkey', limitBody, rateLimit('LOGIN'), async (c) => {
    const form = await c.req.parseBody();
    if (!(await isOwnForm(c, form._csrf))) throw new ApiError('csrf_rejected');
    const input = await parseForm(
      c,
      z.object({
        response: posted(authenticationResponse),
        return_to: z.string().max(2048),
        mfa_token: z.string().max(256).optional(),
      }),
    );
    const signedIn = await signInWithPasskey(c, input.response);
    await signedIn.persisting;
    // The code step this passkey made needless is closed.
    if (input.mfa_token) {
      await closeChallenge(
        database(c.env.DB),
        input.mfa_token,
        signedIn.grant.userId,
        signedIn.now,
      );
    }
    setSessionCookie(c, signedIn.grant, signedIn.now);
    return c.redirect(safeReturnTo(c.var.config, input.return_to), 303);
  });

/** The /account section: the user's passkeys (rename, delete) and "Add a passkey". */
async function Passkeys({ view }: { view: AccountView }) {
  const rows = await passkeysOf(view.c, view.user.id);
  // What registration would refuse, said before anyone tries.
  const current = view.sessions.find((s) => s.id === view.sessionId);
  const refused = addPasskeyRefusal(view.user, current?.createdAt)?.code;
  const blocked =
    refused === 'email_not_verified'
      ? t.confirmFirst
      : refused === 'recent_sign_in_required'
        ? t.signInAgain
        : null;
  return (
    <>
      <h2 id="passkeys-title">{t.title}</h2>
      <SectionError view={view} section="passkeys" />
      <p class="muted">{t.intro}</p>
      {rows.length === 0 ? <p class="muted">{t.none}</p> : null}
      <ul class="sessions">
        {rows.map((p) => (
          <li>
            <div>
              <strong>{p.name}</strong>
              <span class="hint">
                {' · '}
                {t.added} {date(p.createdAt)}
                {p.lastUsedAt ? ` · ${t.lastUsed} ${date(p.lastUsedAt)}` : ''}
              </span>
              <form method="post" action="/account/passkeys/rename" class="inline">
                <Csrf token={view.token} />
                <input type="hidden" name="passkey_id" value={p.id} />
                <label for={`rename-${p.id}`}>{t.rename}</label>
                <input
                  id={`rename-${p.id}`}
                  name="name"
                  type="text"
                  maxlength={100}
                  required
                  value={p.name}
                />
                <button type="submit" class="secondary">
                  {t.save}
                </button>
              </form>
            </div>
            <form method="post" action="/account/passkeys/delete">
              <Csrf token={view.token} />
              <input type="hidden" name="passkey_id" value={p.id} />
              <button type="submit" class="secondary">
                {t.delete}
              </button>
            </form>
          </li>
        ))}
      </ul>
      {blocked ? <p class="muted">{blocked}</p> : null}
      <form
        method="post"
        action="/account/passkeys"
        data-passkey={blocked ? undefined : 'register'}
        data-options="/account/passkeys/options"
        hidden
      >
        <Csrf token={view.token} />
        <input type="hidden" name="response" value="" />
        <label for="passkey-name">{t.name}</label>
        <input
          id="passkey-name"
          name="name"
          type="text"
          maxlength={100}
          placeholder={t.namePlaceholder}
        />
        <p class="error" role="alert" data-passkey-error hidden>
          {t.failed}
        </p>
        <button type="submit">{t.add}</button>
      </form>
      <noscript>
        <p class="muted">{t.needsScript}</p>
      </noscript>
    </>
  );
}

const passkeyId = z.object({ passkey_id: z.string().max(64) });

export const passkeysSection = {
  section: {
    id: 'passkeys',
    shown: (view: AccountView) => passkeysUsable(view.c.var.config),
    render: (view: AccountView) => <Passkeys view={view} />,
  },
  routes: new Hono<AppEnv>()
    .post('/account/passkeys/options', limitBody, rateLimit('LOGIN', OPTIONS_BUCKET), async (c) => {
      const session = await pageSession(c);
      if (!session) throw new ApiError('unauthorized', 'Sign in first.');
      const form = await c.req.parseBody();
      if (!(await isOwnForm(c, form._csrf))) throw new ApiError('csrf_rejected');
      c.header('Cache-Control', 'no-store');
      return c.json(await registrationOptions(c, session.user, session.sessionId));
    })
    .post('/account/passkeys', limitBody, (c) =>
      accountAction(c, 'passkeys', async ({ user, sessionId }) => {
        const input = await parseForm(
          c,
          z.object({
            response: posted(registrationResponse),
            name: z.literal('').or(nameField).optional(),
          }),
        );
        const row = await registerPasskey(
          c,
          user,
          sessionId,
          input.response,
          input.name || undefined,
        );
        sendLater(c, templates.passkeyAdded(user.email, c.var.config.PRODUCT_NAME, row.name));
        return 'passkey';
      }),
    )
    .post('/account/passkeys/rename', limitBody, (c) =>
      accountAction(c, 'passkeys', async ({ user }) => {
        const input = await parseForm(c, passkeyId.extend({ name: nameField }));
        await renamePasskey(c, user.id, input.passkey_id, input.name);
        return 'passkeyRenamed';
      }),
    )
    .post('/account/passkeys/delete', limitBody, (c) =>
      accountAction(c, 'passkeys', async ({ user }) => {
        const input = await parseForm(c, passkeyId);
        await deletePasskey(c, user.id, input.passkey_id);
        return 'passkeyDeleted';
      }),
    ),
};
