// Journey 4 of the pages phase: two browsers signed in as one user; the first signs the second
// out from /account, and the second's cookie no longer refreshes.
import assert from 'node:assert/strict';
import { check } from './harness.mjs';
import { PASSWORD } from './http.mjs';
import { expectLanding, press, signInWithPassword } from './page-user.mjs';

/**
 * `first` and `second` are { context, page } of two browser contexts; `appOrigin` is an origin of
 * ALLOWED_ORIGINS on the worker's site (127.0.0.1), where an app's script would run.
 */
export async function revokeJourney({ first, second, base, email, appOrigin }) {
  // A cookie-only refresh as an app's script sends it. Not from the pages: their policy lets no
  // script fetch, and a cookie refresh needs an Origin of ALLOWED_ORIGINS, which the worker's own
  // is not. So from the app's origin, same site, to which the browser sends the SameSite=Strict
  // cookie.
  const refreshFrom = async (b) => {
    b.app ??= await b.context.newPage();
    if (b.app.url() === 'about:blank') await b.app.goto(`${appOrigin}/`);
    return b.app.evaluate(async (url) => {
      const res = await fetch(url, {
        method: 'POST',
        credentials: 'include',
        headers: { 'Content-Type': 'application/json' },
      });
      return { status: res.status, code: res.ok ? undefined : (await res.json()).code };
    }, `${base}/auth/refresh`);
  };
  const sessions = (b) => b.page.locator('#sessions li');

  await check(
    'two browser contexts sign in as one user; the second refreshes by cookie',
    async () => {
      for (const b of [first, second]) {
        const res = await signInWithPassword(b.page, base, email, PASSWORD);
        await expectLanding(b.page, res, { path: '/account', heading: 'Your account' });
      }
      const blocked = await second.page.evaluate(() =>
        fetch('/auth/refresh', { method: 'POST' }).then(
          () => 'sent',
          (err) => err.name,
        ),
      );
      assert.equal(blocked, 'TypeError', "the pages' policy lets no script of theirs fetch");
      // Before the revocation the second refreshes: its 401 below is the revocation's doing.
      assert.deepEqual(await refreshFrom(second), { status: 200, code: undefined });
      await first.page.reload();
      assert.equal(await sessions(first).count(), 2);
    },
  );

  await check("the first signs the second's session out from /account", async () => {
    const other = sessions(first).filter({ hasNot: first.page.getByText('This device') });
    assert.equal(await other.count(), 1);
    const res = await press(first.page, 'Sign out', other);
    await expectLanding(first.page, res, {
      path: '/account',
      heading: 'Your account',
      text: 'That session is signed out.',
    });
    assert.equal(new URL(first.page.url()).searchParams.get('done'), 'session');
    assert.equal(await sessions(first).count(), 1);
  });

  await check(
    "the second's cookie-only refresh is 401; its /account goes to /sign-in",
    async () => {
      const refused = await refreshFrom(second);
      assert.equal(refused.status, 401, JSON.stringify(refused));
      assert.notEqual(refused.code, 'refresh_token_missing', 'the browser did send its cookie');
      const res = await second.page.goto(`${base}/account`);
      await expectLanding(second.page, res, { path: '/sign-in', heading: 'Sign in' });
      const still = await first.page.goto(`${base}/account`);
      await expectLanding(first.page, still, { path: '/account', heading: 'Your account' });
      return `refresh ${refused.status} ${refused.code}`;
    },
  );
}
