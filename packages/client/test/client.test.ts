import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthError } from '../src/index.ts';
import { EMAIL, PASSWORD, advance, browser } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('sign-in and the access token (memory mode)', () => {
  it('keeps the access token until 30 s before it expires, then refreshes once', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    expect(await client.signIn({ email: EMAIL, password: PASSWORD })).toMatchObject({
      mfaRequired: false,
    });
    expect(events).toMatchObject([{ type: 'signed_in', fromOtherTab: false }]);
    const first = await client.getAccessToken();
    advance(869);
    expect(await client.getAccessToken()).toBe(first);
    expect(worker.stats.refreshes).toBe(0);
    advance(2);
    const second = await client.getAccessToken();
    expect(second).not.toBe(first);
    expect(worker.stats.refreshes).toBe(1);
    expect(events).toHaveLength(1);
  });

  it('sends the refresh token in the body and asks for no cookies', async () => {
    const { worker, open } = await browser('memory');
    const { client } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    await client.getAccessToken({ forceRefresh: true });
    const refresh = worker.log.find((entry) => entry.path === '/auth/refresh')!;
    expect(refresh.body).toEqual({ refresh_token: expect.stringMatching(/^rt-/) });
    expect(refresh.credentials).toBe('omit');
  });

  it('refreshes once for twenty concurrent callers', async () => {
    const { worker, open } = await browser('memory');
    const { client } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    advance(880);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => client.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(worker.stats).toMatchObject({ refreshes: 1, rotations: 1, reused: 0 });
  });

  it('returns the second step when two-factor is on; verifyMfa signs in', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    worker.enableMfa(EMAIL);
    const step = await client.signIn({ email: EMAIL, password: PASSWORD });
    expect(step).toEqual({ mfaRequired: true, mfaToken: expect.any(String), expiresIn: 300 });
    expect(await client.getAccessToken()).toBeNull();
    if (!step.mfaRequired) throw new Error('expected the second step');
    await expect(client.verifyMfa(step.mfaToken, '000000')).rejects.toMatchObject({
      code: 'invalid_mfa_code',
      status: 401,
    });
    expect(await client.verifyMfa(step.mfaToken, '123456')).toMatchObject({ mfaRequired: false });
    expect((await client.getUser())?.email).toBe(EMAIL);
    expect(events).toMatchObject([{ type: 'signed_in' }]);
  });

  it('turns a problem into an AuthError with code, status and requestId', async () => {
    const { open } = await browser('memory');
    const error = await open()
      .client.signUp({ email: EMAIL, password: PASSWORD })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({
      code: 'email_taken',
      status: 409,
      requestId: expect.stringMatching(/^req-/),
    });
  });
});

describe('the end of a session', () => {
  it('signOut ends the session at the worker and here', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    await client.signOut();
    expect(await client.getAccessToken()).toBeNull();
    expect(await client.getUser()).toBeNull();
    const logout = worker.log.find((entry) => entry.path === '/auth/logout')!;
    expect(logout.body).toEqual({ refresh_token: expect.stringMatching(/^rt-/) });
    expect(logout.authorization).toMatch(/^Bearer at-/);
    expect(events.map((e) => e.type)).toEqual(['signed_in', 'signed_out']);
  });

  it('a refresh the worker refuses signs out, with its code', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    worker.revokeAll(EMAIL);
    advance(880);
    expect(await client.getAccessToken()).toBeNull();
    expect(events[1]).toMatchObject({
      type: 'signed_out',
      error: { code: 'invalid_refresh_token', status: 401 },
    });
  });

  it('signOutEverywhere ends every session of the user', async () => {
    const { open } = await browser('memory');
    const [phone, laptop] = [open(), open()];
    await phone.client.signIn({ email: EMAIL, password: PASSWORD });
    await laptop.client.signIn({ email: EMAIL, password: PASSWORD });
    await phone.client.signOutEverywhere();
    expect(await phone.client.getAccessToken()).toBeNull();
    advance(880);
    expect(await laptop.client.getAccessToken()).toBeNull();
    expect(laptop.events.at(-1)).toMatchObject({ type: 'signed_out' });
  });
});

describe('a network drop during refresh', () => {
  it('sends the refresh again once when it got no answer', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    worker.fail('/auth/refresh', 'network');
    advance(880);
    expect(await client.getAccessToken()).toEqual(expect.stringMatching(/^at-/));
    expect(worker.stats).toMatchObject({ refreshes: 1, rotations: 1 });
    expect(events.map((e) => e.type)).toEqual(['signed_in']);
  });

  it('after a lost answer, the same token gets the same successor (grace window)', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    worker.fail('/auth/refresh', 'lost');
    advance(880);
    expect(await client.getAccessToken()).toEqual(expect.stringMatching(/^at-/));
    expect(worker.stats).toMatchObject({ refreshes: 2, rotations: 1, graceAnswers: 1, reused: 0 });
    advance(880);
    expect(await client.getAccessToken()).toEqual(expect.stringMatching(/^at-/));
    expect(worker.stats).toMatchObject({ rotations: 2, reused: 0 });
    expect(events.map((e) => e.type)).toEqual(['signed_in']);
  });

  it('reports refresh_failed and stays signed in when the retry fails too', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await client.signIn({ email: EMAIL, password: PASSWORD });
    worker.fail('/auth/refresh', 'network', 500);
    advance(880);
    await expect(client.getAccessToken()).rejects.toMatchObject({
      code: 'http_error',
      status: 500,
    });
    expect(events.at(-1)).toMatchObject({ type: 'refresh_failed', error: { status: 500 } });
    expect(await client.getAccessToken()).toEqual(expect.stringMatching(/^at-/));
    expect(events.map((e) => e.type)).toEqual(['signed_in', 'refresh_failed']);
  });
});
