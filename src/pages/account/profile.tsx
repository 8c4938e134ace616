import * as z from 'zod';
import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { database } from '../../db/client';
import { users } from '../../db/schema';
import type { AppEnv } from '../../env';
import { limitBody } from '../../middleware/json-body';
import { nameField } from '../../users/users';
import { parseForm } from '../form';
import { NameField } from '../fields';
import { Csrf } from '../layout';
import { strings } from '../strings';
import { accountAction, SectionError, type AccountView } from './view';
import { profileStores, userWritten } from '../../profile/cache';

const t = strings.account;

function Profile({ view }: { view: AccountView }) {
  return (
    <>
      <h2 id="profile-title">{t.profile}</h2>
      <SectionError view={view} section="profile" />
      <p>
        {t.email}: <strong>{view.user.email}</strong>{' '}
        <span class="hint">({view.user.emailVerifiedAt !== null ? t.verified : t.unverified})</span>
      </p>
      <form method="post" action="/account/name">
        <Csrf token={view.token} />
        <NameField label={t.name} value={view.user.name} />
        <button type="submit">{t.saveName}</button>
      </form>
    </>
  );
}

export const profile = {
  section: { id: 'profile', render: (view: AccountView) => <Profile view={view} /> },
  routes: new Hono<AppEnv>().post('/account/name', limitBody, (c) =>
    accountAction(c, 'profile', async ({ user }) => {
      const { name } = await parseForm(c, z.object({ name: nameField }));
      const [updated] = await database(c.env.DB)
        .update(users)
        .set({ name, updatedAt: Date.now() })
        .where(eq(users.id, user.id))
        .returning();
      await userWritten(profileStores(c), user.id, updated ?? null);
      return 'name';
    }),
  ),
};
