// The federation phase's refusals. Against the real OP, signed in at over plain HTTP up to its
// redirect back (e2e/lib/op-http.mjs), then the callback spoiled, replayed or raced: a state that is not this sign-in's,
// a state from another browser, a replayed callback, a replayed code, five parallel callbacks
// for one state, the OP stopped between its answer and the code exchange. Against the forging
// OP: a wrong nonce, iss or aud, an expired token, another key. Against an issuer where nothing
// listens. Each ends on /sign-in with its message, and D1 shows what was (not) written.
import assert from 'node:assert/strict';
import { d1Rows, d1Snapshot, expectWritten } from './d1.mjs';
import { FORGERIES } from './forged-op.mjs';
import { check } from './harness.mjs';
import { REFRESH_COOKIE, request } from './http.mjs';
import { continueWith, expectRefusal, settleOn } from './federation-browser.mjs';
import { bindingOf, holdCallbackOverHttp } from './op-http.mjs';
import { cookiesByName } from './page-user.mjs';

/** A held callback sent over plain HTTP (no redirects followed) to the worker's own address. */
function sendCallback(s, url, cookie) {
  const { pathname, search } = new URL(url);
  return request(s.direct, 'GET', pathname + search, { cookie });
}

const location = (res) => res.headers.get('location');
const signedInAt = (res) => res.status === 200 && /Refresh|Signing you in/.test(res.text);

function withParam(url, name, value) {
  const spoiled = new URL(url);
  spoiled.searchParams.set(name, value);
  return spoiled.href;
}

/** Lines the worker logged from `mark` on that match `pattern`. */
function logged(s, mark, pattern) {
  return s.worker
    .output()
    .slice(mark)
    .split('\n')
    .filter((line) => pattern.test(line));
}

export async function opRefusals(s) {
  const { base } = s;
  // Back from the OP with rita's code, before the worker saw it; the OP remembers rita in
  // `opJar`, so later sign-ins come straight back with a new code and state.
  const { context, page } = await s.browse();
  const first = await holdCallbackOverHttp(s, 'rita', {
    binding: await bindingOf(page, context, base),
  });
  const again = () => holdCallbackOverHttp(s, 'rita', { opJar: first.opJar });

  await check('state mismatch: another state, or this state in another browser', async () => {
    const before = await d1Snapshot(s.worker);
    await page.goto(withParam(first.url, 'state', 'a-state-this-browser-never-started'));
    const message = await expectRefusal(page, base, 'state');
    const other = await s.browse();
    await other.page.goto(first.url);
    await expectRefusal(other.page, base, 'state');
    await other.context.close();
    return `${expectWritten(before, await d1Snapshot(s.worker))}: "${message}"`;
  });

  await check(
    'the genuine callback still signs in (the refusals spent nothing of it)',
    async () => {
      await page.goto(first.url);
      await settleOn(page, base, '/account');
      assert.ok((await cookiesByName(context, base))[REFRESH_COOKIE], 'signed in');
    },
  );
  await context.close();

  await check('a replayed callback URL (same browser cookie) is refused: state', async () => {
    const before = await d1Snapshot(s.worker);
    const res = await sendCallback(s, first.url, first.cookie);
    assert.equal(res.status, 302);
    assert.equal(location(res), '/sign-in?error=state');
    return expectWritten(before, await d1Snapshot(s.worker));
  });

  await check('a replayed code under a fresh state: the OP refuses it, so do we', async () => {
    const fresh = await again();
    const before = await d1Snapshot(s.worker);
    const mark = s.worker.output().length;
    const code = new URL(first.url).searchParams.get('code');
    const res = await sendCallback(s, withParam(fresh.url, 'code', code), fresh.cookie);
    assert.equal(location(res), '/sign-in?error=provider', `${res.status} ${location(res)}`);
    // The OP's token endpoint said no (invalid_grant), which the worker logs as such.
    await new Promise((r) => setTimeout(r, 300));
    const [line] = logged(s, mark, /identity provider sign-in failed/);
    assert.match(line ?? '', /"code":"token_error"/, 'refused by the OP, not by us');
    assert.match(line ?? '', /answered invalid_grant/);
    // The state was spent by that attempt: its own code cannot use it any more.
    const late = await sendCallback(s, fresh.url, fresh.cookie);
    assert.equal(location(late), '/sign-in?error=state');
    return expectWritten(before, await d1Snapshot(s.worker));
  });

  await check('five parallel callbacks for one state: exactly one signs in', async () => {
    const held = await again();
    const before = await d1Snapshot(s.worker);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => sendCallback(s, held.url, held.cookie)),
    );
    const won = answers.filter(signedInAt);
    const lost = answers.filter((r) => location(r) === '/sign-in?error=state');
    assert.equal(won.length, 1, answers.map((r) => `${r.status} ${location(r)}`).join(', '));
    assert.equal(lost.length, 4);
    assert.equal(won[0].cookies.filter((c) => c.name === REFRESH_COOKIE).length, 1);
    return expectWritten(before, await d1Snapshot(s.worker), {
      sessions: 1,
      refresh_tokens: 1,
      'audit:login.succeeded': 1,
    });
  });
}

export async function forgeryRefusals(s) {
  const { base, forged } = s;
  const { forger } = forged;
  const signIn = async (mode) => {
    forger.mode = mode;
    const { context, page } = await s.browse();
    await page.goto(`${base}/auth/oauth/forger/start`);
    return { context, page };
  };

  await check('the forging OP, honest: its correct ID token signs in (the control)', async () => {
    const before = await d1Snapshot(s.worker);
    const { context, page } = await signIn('ok');
    await settleOn(page, base, '/account');
    await context.close();
    return expectWritten(before, await d1Snapshot(s.worker), {
      users: 1,
      identities: 1,
      sessions: 1,
      refresh_tokens: 1,
      'audit:user.registered': 1,
      'audit:login.succeeded': 1,
    });
  });

  const before = await d1Snapshot(s.worker);
  for (const [mode, reason] of Object.entries(FORGERIES)) {
    await check(`forged ID token (${mode}): /sign-in with the message, no cookie`, async () => {
      const mark = s.worker.output().length;
      const { context, page } = await signIn(mode);
      await expectRefusal(page, base, 'provider');
      assert.equal((await cookiesByName(context, base))[REFRESH_COOKIE], undefined);
      await context.close();
      // Why, from the worker's log: the words of the check that refused it.
      await new Promise((r) => setTimeout(r, 300));
      const [line] = logged(s, mark, /identity provider sign-in failed/);
      assert.ok(line, 'the worker logged the refusal');
      const quoted = /"error":("(?:[^"\\]|\\.)*")/.exec(line)?.[1];
      const why = quoted ? JSON.parse(quoted) : line;
      assert.match(why, reason, 'refused for the forgery, not for something else');
      return why;
    });
  }
  await check('forged ID tokens: nothing written (no user, identity, session)', async () => {
    const written = expectWritten(before, await d1Snapshot(s.worker));
    const forged = forger.issued.filter((t) => t.mode !== 'ok');
    const list = (key) => forged.map((t) => `'${t[key]}'`).join(', ');
    const [found] = await d1Rows(
      s.worker,
      `SELECT (SELECT COUNT(*) FROM users WHERE email IN (${list('email')})) AS users,
        (SELECT COUNT(*) FROM identities WHERE subject IN (${list('sub')})) AS identities`,
    );
    assert.deepEqual(found, { users: 0, identities: 0 }, 'none of the forged subjects or emails');
    return `${written}; none of the ${forged.length} forged subjects or addresses`;
  });
}

export async function providerDown(s) {
  const { base, op } = s;
  await check('an issuer where nothing listens: /sign-in with the message at once', async () => {
    const before = await d1Snapshot(s.worker);
    const { context, page } = await s.browse();
    await continueWith(page, base, 'Offline OP');
    const message = await expectRefusal(page, base, 'provider');
    await context.close();
    const states = await d1Rows(s.worker, `SELECT id FROM oauth_states WHERE provider = 'offline'`);
    assert.deepEqual(states, [], 'not even a state: the start failed before writing one');
    return `${expectWritten(before, await d1Snapshot(s.worker))}, no state: "${message}"`;
  });

  await check('the OP stopped after it answered: the code exchange fails closed', async () => {
    const { context, page } = await s.browse();
    const held = await holdCallbackOverHttp(s, 'rita', {
      binding: await bindingOf(page, context, base),
    });
    await op.stop();
    const before = await d1Snapshot(s.worker);
    await page.goto(held.url);
    const message = await expectRefusal(page, base, 'provider');
    assert.equal((await cookiesByName(context, base))[REFRESH_COOKIE], undefined);
    await context.close();
    return `${expectWritten(before, await d1Snapshot(s.worker))}: "${message}"`;
  });
}
