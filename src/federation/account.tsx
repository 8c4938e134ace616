import * as z from 'zod';
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { limitBody } from '../middleware/json-body';
import { accountAction, SectionError, type AccountView } from '../pages/account/view';
import { parseForm } from '../pages/form';
import { Csrf, renderPage } from '../pages/layout';
import { fill, strings } from '../pages/strings';
import { federationError } from './buttons';
import { startUrl } from './flow';
import { identitiesOf, unlinkIdentity } from './identities';
import { providerById, providers } from './providers';

const t = strings.account;

/** The /account section: linked identities (unlink), and a link button per other provider. */
async function Identities({ view }: { view: AccountView }) {
  const linked = await identitiesOf(view.c, view.user.id);
  const all = providers(view.c.var.config);
  const label = (id: string) => all.find((p) => p.config.id === id)?.label ?? id;
  const failed = federationError(view.c.req.query('error'));
  return (
    <>
      <h2 id="identities-title">{t.identities}</h2>
      <SectionError view={view} section="identities" />
      {failed ? (
        <p class="error" role="alert">
          {failed}
        </p>
      ) : null}
      {linked.length === 0 ? <p class="muted">{t.noIdentities}</p> : null}
      <ul class="sessions">
        {linked.map((identity) => (
          <li>
            <div>
              <strong>{label(identity.provider)}</strong>
              {identity.email ? <span class="hint"> · {identity.email}</span> : null}
            </div>
            <form method="post" action="/account/identities/unlink">
              <Csrf token={view.token} />
              <input type="hidden" name="identity_id" value={identity.id} />
              <button type="submit" class="secondary">
                {t.unlink}
              </button>
            </form>
          </li>
        ))}
      </ul>
      <div class="row">
        {all
          .filter((p) => !linked.some((l) => l.provider === p.config.id))
          .map((p) => (
            <form method="post" action="/account/identities/link">
              <Csrf token={view.token} />
              <input type="hidden" name="provider" value={p.config.id} />
              <button type="submit" class="secondary">
                {fill(t.link, { provider: p.label })}
              </button>
            </form>
          ))}
      </div>
    </>
  );
}

/**
 * On to the provider from a page of ours. A 303 answering the form post would be blocked: the
 * browser holds every redirect of a form submission to the page's `form-action` (CSP Level 3),
 * which names only us and the origins a sign-in returns to. A Refresh (or the link, where it is
 * not followed) starts a navigation of its own.
 */
function continueTo(c: Context<AppEnv>, provider: string, url: string) {
  const title = fill(strings.federation.leaving, { provider });
  c.header('Refresh', `0; url=${url}`);
  return renderPage(
    c,
    200,
    title,
    <section class="card">
      <h1>{title}</h1>
      <p>
        <a class="button" href={url}>
          {strings.federation.continue}
        </a>
      </p>
    </section>,
  );
}

export const identitiesSection = {
  section: {
    id: 'identities',
    shown: (view: AccountView) => view.c.var.config.IDENTITY_PROVIDERS.length > 0,
    render: (view: AccountView) => <Identities view={view} />,
  },
  routes: new Hono<AppEnv>()
    .post('/account/identities/link', limitBody, (c) =>
      accountAction(c, 'identities', async ({ user }) => {
        const { provider } = await parseForm(c, z.object({ provider: z.string().max(32) }));
        const p = providerById(c.var.config, provider);
        if (!p) throw new ApiError('not_found', 'No such identity provider.');
        return continueTo(c, p.label, await startUrl(c, p, '/account', user.id));
      }),
    )
    .post('/account/identities/unlink', limitBody, (c) =>
      accountAction(c, 'identities', async ({ user }) => {
        const { identity_id } = await parseForm(c, z.object({ identity_id: z.string().max(64) }));
        await unlinkIdentity(c, user.id, identity_id);
        return 'unlinked';
      }),
    ),
};
