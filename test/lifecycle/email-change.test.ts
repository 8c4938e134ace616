import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD,
  call,
  expectProblem,
  json,
  login,
  mailTo,
  mailedToken,
  refresh,
  register,
  signedIn,
  uniqueEmail,
  withBearer,
} from '../helpers';
import { auditTypes, changeToken, confirmChange, requestChange } from './helpers';

describe('POST /users/me/email', () => {
  it('mails a link to the new address and a notice to the old; nothing changes yet', async () => {
    const { email, user, tokens } = await signedIn();
    const next = uniqueEmail('new');
    const res = await requestChange(tokens.access_token, next);
    expect(res.status).toBe(202);
    expect((await mailTo(next))[0]!.text).toMatch(/confirm-email-change\?token=/);
    expect((await mailTo(email))[0]!.text).toContain(next);
    const me = await call('/users/me', withBearer(tokens.access_token));
    expect(((await me.json()) as { email: string }).email).toBe(email);
    await login(email);
    expect(await auditTypes(user.id)).toContain('email.change_requested');
  });

  it('refuses a wrong password with 403 and mails nothing', async () => {
    const { tokens } = await signedIn();
    const next = uniqueEmail('new');
    const res = await requestChange(tokens.access_token, next, 'not the password at all');
    await expectProblem(res, 403, 'invalid_current_password');
    expect(await mailTo(next)).toHaveLength(0);
  });

  it('answers 409 for an address that already has an account', async () => {
    const { tokens } = await signedIn();
    const other = await register();
    await expectProblem(await requestChange(tokens.access_token, other.email), 409, 'email_taken');
    expect(await mailTo(other.email)).toHaveLength(1); // only its own verification mail
  });

  it('answers 422 for an invalid address, its own address, or a missing password', async () => {
    const { email, tokens } = await signedIn();
    await expectProblem(await requestChange(tokens.access_token, 'nope'), 422, 'validation_failed');
    await expectProblem(await requestChange(tokens.access_token, email), 422, 'validation_failed');
    const res = await call(
      '/users/me/email',
      withBearer(tokens.access_token, json({ new_email: uniqueEmail() })),
    );
    await expectProblem(res, 422, 'validation_failed');
  });

  it('answers 401 without an access token', async () => {
    const res = await call(
      '/users/me/email',
      json({ new_email: uniqueEmail(), password: PASSWORD }),
    );
    await expectProblem(res, 401, 'unauthorized');
  });

  it('is counted per user (RATE_LIMIT_EMAIL_CHANGE): the sixth request in an hour is 429', async () => {
    const { tokens } = await signedIn();
    for (let i = 0; i < 5; i++) {
      expect((await requestChange(tokens.access_token, uniqueEmail())).status).toBe(202);
    }
    await expectProblem(
      await requestChange(tokens.access_token, uniqueEmail()),
      429,
      'rate_limited',
    );
  });
});

describe('POST /auth/email/change/confirm', () => {
  it('moves the account to the new address, verified; sessions are kept', async () => {
    const { email, user, tokens } = await signedIn();
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    const res = await confirmChange(await changeToken(next));
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const body = (await res.json()) as { id: string; email: string; email_verified: boolean };
    expect(body).toMatchObject({ id: user.id, email: next, email_verified: true });
    // The old address no longer signs in; the new one does; the session still refreshes.
    await expectProblem(
      await call('/auth/login', json({ email, password: PASSWORD })),
      401,
      'invalid_credentials',
    );
    await login(next);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
    expect((await mailTo(email)).some((m) => m.text.includes('no longer signs in'))).toBe(true);
    expect(await auditTypes(user.id)).toContain('email.changed');
  });

  it('is single-use, and refuses unknown tokens', async () => {
    const { tokens } = await signedIn();
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    const token = await changeToken(next);
    expect((await confirmChange(token)).status).toBe(200);
    await expectProblem(await confirmChange(token), 400, 'invalid_token');
    await expectProblem(await confirmChange('x'.repeat(43)), 400, 'invalid_token');
  });

  it('refuses a link superseded by a newer request', async () => {
    const { email, tokens } = await signedIn();
    const first = uniqueEmail('first');
    const second = uniqueEmail('second');
    await requestChange(tokens.access_token, first);
    const old = await changeToken(first);
    await requestChange(tokens.access_token, second);
    await expectProblem(await confirmChange(old), 400, 'invalid_token');
    await login(email);
    expect((await confirmChange(await changeToken(second))).status).toBe(200);
  });

  it('refuses a link once the account has another address than when it was asked', async () => {
    const { user, tokens } = await signedIn();
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    const moved = uniqueEmail('moved');
    await env.DB.prepare('UPDATE users SET email = ? WHERE id = ?').bind(moved, user.id).run();
    await expectProblem(await confirmChange(await changeToken(next)), 400, 'invalid_token');
    await login(moved);
  });

  it('answers 409 when the address was registered after the request; neither account changes', async () => {
    const { email, tokens } = await signedIn();
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    const token = await changeToken(next);
    const squatter = await register(next);
    await expectProblem(await confirmChange(token), 409, 'email_taken');
    await login(email);
    await login(squatter.email);
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM users WHERE email = ?')
      .bind(next)
      .first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });

  it('lets exactly one of two parallel confirmations to one address win', async () => {
    const a = await signedIn();
    const b = await signedIn();
    const target = uniqueEmail('contested');
    await requestChange(a.tokens.access_token, target);
    const tokenA = await changeToken(target);
    await requestChange(b.tokens.access_token, target);
    const tokenB = await changeToken(target);
    expect(tokenA).not.toBe(tokenB);
    const results = await Promise.all([confirmChange(tokenA), confirmChange(tokenB)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409]);
    const { results: owners } = await env.DB.prepare('SELECT id FROM users WHERE email = ?')
      .bind(target)
      .all<{ id: string }>();
    expect(owners).toHaveLength(1);
    // The loser kept its address.
    const loser = owners[0]!.id === a.user.id ? b : a;
    await login(loser.email);
  });

  it('lets one of ten parallel submissions of one link succeed', async () => {
    const { tokens } = await signedIn();
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    const token = await changeToken(next);
    const results = await Promise.all(Array.from({ length: 10 }, () => confirmChange(token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 400)).toHaveLength(9);
  });

  it('spends reset links mailed to the old address', async () => {
    const { email, tokens } = await signedIn();
    await call('/auth/password/forgot', json({ email }));
    const reset = await mailedToken(email, 'reset-password');
    const next = uniqueEmail('new');
    await requestChange(tokens.access_token, next);
    expect((await confirmChange(await changeToken(next))).status).toBe(200);
    const res = await call(
      '/auth/password/reset',
      json({ token: reset, new_password: 'a brand new passphrase here' }),
    );
    await expectProblem(res, 400, 'invalid_token');
  });

  it('refuses a verify-email token as a change token (purpose)', async () => {
    const { email } = await signedIn();
    const verify = await mailedToken(email, 'verify-email');
    await expectProblem(await confirmChange(verify), 400, 'invalid_token');
  });
});

describe('a pending email change and the account owner locking others out', () => {
  // Whoever knows the password asks to move the account to their own address; the owner, warned
  // by the notice, then secures the account. The link must die with that, or its confirmation
  // (which needs no session) would hand the account over.
  async function pending() {
    const owner = await signedIn();
    const attacker = uniqueEmail('attacker');
    expect((await requestChange(owner.tokens.access_token, attacker)).status).toBe(202);
    return { owner, attacker, link: await changeToken(attacker) };
  }

  it('a password reset spends it', async () => {
    const { owner, link } = await pending();
    await call('/auth/password/forgot', json({ email: owner.email }));
    const reset = await mailedToken(owner.email, 'reset-password');
    const res = await call(
      '/auth/password/reset',
      json({ token: reset, new_password: 'a brand new passphrase 77' }),
    );
    expect(res.status).toBe(204);
    await expectProblem(await confirmChange(link), 400, 'invalid_token');
  });

  it('a password change and sign-out everywhere spend it', async () => {
    const changed = await pending();
    const res = await call(
      '/users/me/password',
      withBearer(
        changed.owner.tokens.access_token,
        json({ current_password: PASSWORD, new_password: 'a brand new passphrase 78' }),
      ),
    );
    expect(res.status).toBe(204);
    await expectProblem(await confirmChange(changed.link), 400, 'invalid_token');

    const signedOut = await pending();
    const out = await call(
      '/auth/logout-all',
      withBearer(signedOut.owner.tokens.access_token, { method: 'POST' }),
    );
    expect(out.status).toBe(204);
    await expectProblem(await confirmChange(signedOut.link), 400, 'invalid_token');
  });

  it('a disabled account cannot confirm one', async () => {
    const { owner, link } = await pending();
    await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE id = ?')
      .bind(Date.now(), owner.user.id)
      .run();
    await expectProblem(await confirmChange(link), 400, 'invalid_token');
  });
});
