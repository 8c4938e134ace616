import * as z from 'zod';
import { Hono, type Context } from 'hono';
import { raw } from 'hono/html';
import { base32Encode, otpauthUri, qrSvg } from '../../crypto/totp';
import type { UserRow } from '../../db/schema';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { limitBody } from '../../middleware/json-body';
import { totpSecretOf } from '../../mfa/factors';
import { confirmTotpEnrolment, startTotpEnrolment, turnOffTotp } from '../../mfa/enrolment';
import { passwordField } from '../../policy/fields';
import { formToken } from '../csrf';
import { parseForm } from '../form';
import { CodeField, CurrentPassword, UsernameHint } from '../fields';
import { Csrf, Message, renderPage } from '../layout';
import { strings } from '../strings';
import { accountAction, SectionError, type AccountView } from './view';

const t = strings.account;
const code = z.string().max(64);

function TwoFactor({ view }: { view: AccountView }) {
  const on = view.user.totpEnabledAt !== null;
  return (
    <>
      <h2 id="two-factor-title">{t.mfa}</h2>
      <SectionError view={view} section="two-factor" />
      <p>{on ? t.mfaOn : t.mfaOff}</p>
      <form method="post" action={on ? '/account/mfa/disable' : '/account/mfa/setup'}>
        <Csrf token={view.token} />
        <UsernameHint email={view.user.email} />
        <CurrentPassword id="mfa-password" name="password" label={t.confirmPassword} />
        {on ? (
          <>
            <label for="mfa-code">{t.code}</label>
            <input id="mfa-code" name="code" type="text" autocomplete="one-time-code" required />
          </>
        ) : null}
        <button type="submit" class={on ? 'danger' : ''}>
          {on ? t.turnOff : t.turnOn}
        </button>
      </form>
    </>
  );
}

/** "ABCD EFGH ...": a key a person can type from the screen. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

/** The enrolment step: the QR code, the key as text, and the field for the first code. */
function Enrol(props: { token: string; secret: string; qr: string; error?: string }) {
  return (
    <section class="card">
      <h1>{t.scanTitle}</h1>
      <Message error={props.error} />
      <p>{t.scan}</p>
      <div class="qr" role="img" aria-label={t.scanTitle}>
        {raw(props.qr)}
      </div>
      <p>
        {t.key}: <code class="key">{grouped(props.secret)}</code>
      </p>
      <form method="post" action="/account/mfa/enable">
        <Csrf token={props.token} />
        <CodeField id="code" label={t.code} />
        <div class="row">
          <button type="submit">{t.enable}</button>
          <a class="button secondary" href="/account">
            {t.cancel}
          </a>
        </div>
      </form>
    </section>
  );
}

/** The recovery codes, once: to copy (with JavaScript) or download (without). */
function RecoveryCodes({ codes }: { codes: string[] }) {
  const file = `data:text/plain;charset=utf-8,${encodeURIComponent(`${codes.join('\n')}\n`)}`;
  return (
    <section class="card">
      <h1>{t.codesTitle}</h1>
      <p>{t.codes}</p>
      <ol class="codes" id="recovery-codes">
        {codes.map((rc) => (
          <li>{rc}</li>
        ))}
      </ol>
      <div class="row">
        <button
          type="button"
          class="secondary"
          data-copy="recovery-codes"
          data-copied={t.copied}
          hidden
        >
          {t.copy}
        </button>
        <a class="button secondary" href={file} download="recovery-codes.txt">
          {t.download}
        </a>
        <a class="button" href="/account">
          {t.done}
        </a>
      </div>
    </section>
  );
}

async function renderEnrol(c: Context<AppEnv>, user: UserRow, status: 200 | 400, error?: string) {
  const secret = await totpSecretOf(c.var.config, user);
  if (!secret) return c.redirect('/account#two-factor', 303);
  const uri = otpauthUri(secret, c.var.config.PRODUCT_NAME, user.email);
  const body = (
    <Enrol token={await formToken(c)} secret={base32Encode(secret)} qr={qrSvg(uri)} error={error} />
  );
  return renderPage(c, status, t.scanTitle, body);
}

export const twoFactor = {
  section: { id: 'two-factor', render: (view: AccountView) => <TwoFactor view={view} /> },
  routes: new Hono<AppEnv>()
    .post('/account/mfa/setup', limitBody, (c) =>
      accountAction(c, 'two-factor', async ({ user }) => {
        const { password } = await parseForm(c, z.object({ password: passwordField }));
        const setup = await startTotpEnrolment(c, user, password);
        const body = <Enrol token={await formToken(c)} secret={setup.secret} qr={setup.qrSvg} />;
        return renderPage(c, 200, t.scanTitle, body);
      }),
    )
    .post('/account/mfa/enable', limitBody, (c) =>
      accountAction(c, 'two-factor', async ({ user }) => {
        const input = await parseForm(c, z.object({ code }));
        try {
          const codes = await confirmTotpEnrolment(c, user, input.code);
          return renderPage(c, 200, t.codesTitle, <RecoveryCodes codes={codes} />);
        } catch (err) {
          if (!(err instanceof ApiError) || err.code !== 'invalid_mfa_code') throw err;
          return renderEnrol(c, user, 400, strings.errors.invalid_mfa_code);
        }
      }),
    )
    .post('/account/mfa/disable', limitBody, (c) =>
      accountAction(c, 'two-factor', async ({ user, sessionId }) => {
        const input = await parseForm(c, z.object({ password: passwordField, code }));
        await turnOffTotp(c, user, sessionId, input.password, input.code);
        return 'mfaOff';
      }),
    ),
};
