import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { changePassword } from '../../accounts/password-change';
import type { AppEnv } from '../../env';
import { limitBody } from '../../middleware/json-body';
import { passwordField } from '../../policy/fields';
import { parseForm } from '../form';
import { Csrf } from '../layout';
import { fill, strings } from '../strings';
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
        {/* For password managers: the account whose password this is. */}
        <input
          type="email"
          name="username"
          autocomplete="username"
          value={view.user.email}
          hidden
          readonly
        />
        <label for="current_password">{t.currentPassword}</label>
        <input
          id="current_password"
          name="current_password"
          type="password"
          autocomplete="current-password"
          required
        />
        <label for="new_password">{t.newPassword}</label>
        <input
          id="new_password"
          name="new_password"
          type="password"
          autocomplete="new-password"
          minlength={minLength}
          required
        />
        <p class="hint">{fill(strings.signUp.passwordHint, { min: minLength })}</p>
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
