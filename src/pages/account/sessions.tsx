import * as z from 'zod';
import { Hono } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { limitBody } from '../../middleware/json-body';
import { clearRefreshCookie } from '../../sessions/cookie';
import { revokeOwnSession, signOutEverywhere } from '../../sessions/sign-out';
import { iso } from '../../users/users';
import { parseForm } from '../form';
import { Csrf } from '../layout';
import { fill, strings } from '../strings';
import { accountAction, SectionError, type AccountView } from './view';

const t = strings.account;

/** A short, readable name for a user agent: enough to tell one's own devices apart. */
function device(userAgent: string | null): string {
  if (!userAgent) return t.unknownDevice;
  const browser = /(Edg|Firefox|Chrome|Safari|curl|python-requests|node)[/ ]?/i.exec(
    userAgent,
  )?.[1];
  const os = /(Windows|Mac OS X|iPhone|iPad|Android|Linux)/.exec(userAgent)?.[1];
  return [browser, os].filter(Boolean).join(' on ') || userAgent.slice(0, 40);
}

function Sessions({ view }: { view: AccountView }) {
  return (
    <>
      <h2 id="sessions-title">{t.sessions}</h2>
      <SectionError view={view} section="sessions" />
      <ul class="sessions">
        {view.sessions.map((s) => (
          <li>
            <div>
              <strong>{s.id === view.sessionId ? t.thisDevice : device(s.userAgent)}</strong>
              <br />
              <span class="hint">
                {fill(t.lastUsed, {
                  when: iso(s.lastUsedAt).replace('T', ' ').replace('Z', ' UTC'),
                })}
                {s.ip ? ` · ${s.ip}` : ''}
              </span>
            </div>
            {s.id === view.sessionId ? null : (
              <form method="post" action="/account/sessions/revoke">
                <Csrf token={view.token} />
                <input type="hidden" name="session_id" value={s.id} />
                <button type="submit" class="secondary">
                  {t.revoke}
                </button>
              </form>
            )}
          </li>
        ))}
      </ul>
      <form method="post" action="/account/sessions/revoke-all">
        <Csrf token={view.token} />
        <button type="submit" class="danger">
          {t.everywhere}
        </button>
      </form>
    </>
  );
}

export const sessions = {
  section: { id: 'sessions', render: (view: AccountView) => <Sessions view={view} /> },
  routes: new Hono<AppEnv>()
    .post('/account/sessions/revoke', limitBody, (c) =>
      accountAction(c, 'sessions', async ({ user, sessionId }) => {
        const { session_id } = await parseForm(c, z.object({ session_id: z.string().max(64) }));
        if (!(await revokeOwnSession(c, user.id, sessionId, session_id))) {
          throw new ApiError('not_found', 'No such session.');
        }
        return 'session';
      }),
    )
    .post('/account/sessions/revoke-all', limitBody, (c) =>
      accountAction(c, 'sessions', async ({ user, sessionId }) => {
        await signOutEverywhere(c, user.id, sessionId);
        clearRefreshCookie(c);
        return c.redirect('/sign-in', 303);
      }),
    ),
};
