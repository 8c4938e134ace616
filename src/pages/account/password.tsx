import * as z from 'zod';
import { Hono } from 'hono';
import { changePassword } from '../../accounts/password-change';
import type { AppEnv } from '../../env';
import { limitBody } from '../../middleware/json-body';
import { passwordField } from '../../policy/fields';
import { parseForm } from '../form';
import { CurrentPassword, NewPassword, UsernameHint } from '../fields';
import { Csrf } from '../layout';
import { strings } from '../strings';
import { accountAction, SectionError, type AccountView } from './view';

const t = strings.account;
const changeForm = z.object({ current_password: passwordField, new_password: passwordField });

function Password({ view, minLength }: { view: AccountView; minLength: number }) {
  return (
    <>
      <h2 id="password-title">{t.password}</h2>
      <SectionError view={view} section="password" />
      <form method="post" action="/account/password">
        <Csrf token={view.token} />
        <UsernameHint email={view.user.email} />
        <CurrentPassword id="current_password" name="current_password" label={t.currentPassword} />
        <NewPassword id="new_password" label={t.newPassword} minLength={minLength} />
        <button type="submit">{t.changePassword}</button>
      </form>
    </>
  );
}

export const password = {
  section: {
    id: 'password',
    render: (view: AccountView) => <Password view={view} minLength={view.minLength} />,
  },
  routes: new Hono<AppEnv>().post('/account/password', limitBody, (c) =>
    accountAction(c, 'password', async ({ user, sessionId }) => {
      const input = await parseForm(c, changeForm);
      await changePassword(c, user, sessionId, input.current_password, input.new_password);
      return 'password';
    }),
  ),
};
