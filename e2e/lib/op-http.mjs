// Signing in at the real OP over plain HTTP, the way its pages would be used by a browser
// (cookies by path, its login and consent forms), stopping at the redirect back to the worker:
// the callback URL, with its code and state unspent, and the binding cookie it needs. Chromium
// cannot hold that request back itself: Playwright routes a navigation's first request, never
// the requests its redirects make.
import assert from 'node:assert/strict';
import { request } from './http.mjs';

/** A cookie jar for one origin that honours Path and deletion (enough for node-oidc-provider). */
export function cookieJar() {
  const cookies = new Map(); // `${path} ${name}` -> { name, value, path }
  return {
    store(res) {
      for (const header of res.headers.getSetCookie()) {
        const [pair, ...attrs] = header.split(';').map((p) => p.trim());
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq);
        const path = attrs.find((a) => /^path=/i.test(a))?.slice(5) || '/';
        const expires = attrs.find((a) => /^expires=/i.test(a))?.slice(8);
        const key = `${path} ${name}`;
        if (expires && Date.parse(expires) < Date.now()) cookies.delete(key);
        else cookies.set(key, { name, value: pair.slice(eq + 1), path });
      }
    },
    header(url) {
      const { pathname } = new URL(url);
      return [...cookies.values()]
        .filter((c) => pathname === c.path || pathname.startsWith(c.path.replace(/\/?$/, '/')))
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
    },
  };
}

/** The OP's development form on this page: its action and hidden `prompt`. */
function opForm(html) {
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(action && prompt, `an OP form in: ${html.slice(0, 300)}`);
  return { action: action.replace(/&amp;/g, '&'), prompt };
}

/**
 * /auth/oauth/op/start on the worker, then the OP: its login form as `login` (unless `opJar`
 * holds its session already) and its consent form, until it redirects back; with `binding`, as
 * the browser holding that binding cookie. Resolves { url, cookie, binding, opJar } of that
 * redirect, which nobody has followed.
 */
export async function holdCallbackOverHttp(s, login, { opJar = cookieJar(), binding } = {}) {
  const cookie = binding ? `__Host-oauth=${binding}` : undefined;
  const start = await request(s.direct, 'GET', '/auth/oauth/op/start', { cookie });
  assert.equal(start.status, 302, start.text);
  binding ??= start.cookies.find((c) => c.name === '__Host-oauth')?.value;
  assert.ok(binding, 'the start set the __Host-oauth binding cookie');
  let url = start.headers.get('location');
  let form;
  for (let hops = 0; hops < 12; hops++) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers: {
        Cookie: opJar.header(url),
        ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      body: form,
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    opJar.store(res);
    form = undefined;
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location'), url);
      if (next.origin !== s.op.issuer) {
        assert.equal(next.pathname, '/auth/oauth/op/callback', next.href);
        return { url: next.href, cookie: `__Host-oauth=${binding}`, binding, opJar };
      }
      url = next.href;
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `${url}: ${html.slice(0, 300)}`);
    const { action, prompt } = opForm(html);
    const fields = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt };
    url = new URL(action, url).href;
    form = new URLSearchParams(fields).toString();
  }
  throw new Error('the OP did not redirect back within 12 steps');
}

/**
 * The binding cookie of a Chromium context, made by letting it start a sign-in of its own (left
 * at the OP's login page): the worker keeps an existing binding, so a flow started over HTTP
 * with the same cookie belongs to this browser.
 */
export async function bindingOf(page, context, base) {
  await page.goto(`${base}/auth/oauth/op/start`);
  const cookie = (await context.cookies(base)).find((c) => c.name === '__Host-oauth');
  assert.ok(cookie, 'the start gave the browser its __Host-oauth cookie');
  return cookie.value;
}
