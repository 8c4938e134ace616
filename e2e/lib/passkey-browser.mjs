// A person with a passkey in Chromium: a virtual authenticator through the DevTools protocol's
// WebAuthn domain (a platform authenticator with resident keys and user verification, as a
// laptop or phone has), and the passkey buttons of /sign-in and /account.
//
// Chromium's virtual authenticator answers a conditional request (the email field's autofill on
// /sign-in) at once, where a person first picks the passkey from the list. (With the protocol's
// UI on, it waits for that pick, but headless Chromium can make none, and a modal request then
// hangs too.) So each tab holds the autofill's request at its options fetch, as if nobody
// picked, unless the next one is let through (`autofillNext`). A press of "Sign in with a
// passkey" aborts the pending one, as it does in a browser.
import assert from 'node:assert/strict';
import { waitFor } from './harness.mjs';
import { REFRESH_COOKIE } from './http.mjs';
import { cookiesByName, expectLanding, fillIn, press } from './page-user.mjs';

const PLATFORM = {
  protocol: 'ctap2',
  transport: 'internal',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
  // A synced passkey, as the platforms make them now: backup eligible and backed up.
  defaultBackupEligibility: true,
  defaultBackupState: true,
};

/** What the pages say (src/pages/strings.ts). */
export const SAID = {
  added: 'Passkey added.',
  deleted: 'Passkey deleted.',
  refused: 'That passkey could not be used here. Try again, or sign in another way.',
};

/** The DevTools protocol gives credential ids in base64 with padding; WebAuthn uses base64url. */
export const base64url = (base64) => Buffer.from(base64, 'base64').toString('base64url');

/** A virtual authenticator attached to `page`'s tab (it stays across navigations). */
export async function virtualAuthenticator(context, page, options = {}) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { ...PLATFORM, ...options },
  });
  const id = { authenticatorId };
  return {
    async credentials() {
      return (await cdp.send('WebAuthn.getCredentials', id)).credentials;
    },
    remove: (credentialId) => cdp.send('WebAuthn.removeCredential', { ...id, credentialId }),
    add: (credential) => cdp.send('WebAuthn.addCredential', { ...id, credential }),
    setVerified: (isUserVerified) =>
      cdp.send('WebAuthn.setUserVerified', { ...id, isUserVerified }),
  };
}

/**
 * A tab on the worker at `base` with a virtual authenticator and the autofill gate (see the top
 * of this file). Every options answer the tab received is in `options`, newest last.
 */
export async function passkeyTab(s) {
  const { context, page } = await s.browse();
  const authenticator = await virtualAuthenticator(context, page);
  const held = [];
  const options = [];
  let heldHere = false;
  let letThrough = false;
  let pressing = null;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) heldHere = false;
  });
  const release = () => {
    for (const route of held.splice(0)) route.continue().catch(() => {});
  };
  await page.route(`${s.base}/sign-in/passkey/options`, async (route) => {
    if (!pressing && !letThrough) {
      held.push(route);
      heldHere = true;
      return;
    }
    letThrough = false;
    const res = await route.fetch();
    const fetched = await res.json();
    const answer = pressing?.rewrite ? pressing.rewrite(fetched) : fetched;
    options.push(answer);
    await route.fulfill({ response: res, json: answer });
    // The held autofill request goes on now, with its signal aborted by the press.
    release();
  });

  const tab = {
    context,
    page,
    authenticator,
    options,
    autofillNext() {
      letThrough = true;
    },
    /**
     * Presses "Sign in with a passkey" (on /sign-in, after its autofill request was held, or on
     * the code step); resolves the response of the page the form post led to. `rewrite(options)`
     * changes the options the browser gets.
     */
    async pressSignIn({ rewrite } = {}) {
      if (await page.locator('form[data-passkey="sign-in"][data-autofill]').count()) {
        await waitFor('the autofill request of this /sign-in', () => heldHere, {
          timeoutMs: 10_000,
        });
      }
      pressing = { rewrite };
      try {
        return await press(page, 'Sign in with a passkey');
      } finally {
        pressing = null;
      }
    },
    /** /sign-in, then the button: the browser lands signed in on /account. */
    async signIn(label = 'the button') {
      await page.goto(`${s.base}/sign-in`);
      const res = await tab.pressSignIn();
      await expectLanding(page, res, { path: '/account', heading: 'Your account' });
      assert.ok((await cookiesByName(context, s.base))[REFRESH_COOKIE], `signed in by ${label}`);
      return res;
    },
    /** "Add a passkey" on /account, optionally named; lands on /account with the notice. */
    async addPasskey(name) {
      await page.goto(`${s.base}/account`);
      const section = page.locator('#passkeys');
      if (name) await fillIn(page, { 'Name for the new passkey (optional)': name }, section);
      const res = await press(page, 'Add a passkey', section);
      await expectLanding(page, res, { path: '/account', text: SAID.added });
      return res;
    },
    async signOut() {
      const out = await press(page, 'Sign out', page.locator('header'));
      await expectLanding(page, out, { path: '/sign-in', heading: 'Sign in' });
      assert.equal((await cookiesByName(context, s.base))[REFRESH_COOKIE], undefined);
    },
    /**
     * The assertion the browser would post from /sign-in, captured before it leaves: the form
     * post is answered 204 here (the browser stays), so the worker never sees it.
     */
    async captureAssertion() {
      const target = `${s.base}/sign-in/passkey`;
      let posted;
      const captured = new Promise((resolve) => (posted = resolve));
      await page.route(target, (route) => {
        posted(route.request().postData());
        return route.fulfill({ status: 204 });
      });
      await page.goto(`${s.base}/sign-in`);
      await waitFor('the autofill request of this /sign-in', () => heldHere, { timeoutMs: 10_000 });
      pressing = {};
      try {
        await page.getByRole('button', { name: 'Sign in with a passkey', exact: true }).click();
        const form = new URLSearchParams(await captured);
        return JSON.parse(form.get('response'));
      } finally {
        pressing = null;
        await page.unroute(target);
      }
    },
    /** Asserts the refusal page of a passkey sign-in: 401, the message, no session cookie. */
    async expectRefused(res) {
      await expectLanding(page, res, { path: '/sign-in/passkey', status: 401, text: SAID.refused });
      assert.equal((await cookiesByName(context, s.base))[REFRESH_COOKIE], undefined, 'no cookie');
    },
    async close() {
      release();
      await context.close();
    },
  };
  return tab;
}
