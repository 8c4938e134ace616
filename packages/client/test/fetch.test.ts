import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EMAIL, PASSWORD, browser } from './helpers.ts';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

async function signedIn() {
  const { worker, open } = await browser('memory');
  const { client, events } = open();
  await client.signIn({ email: EMAIL, password: PASSWORD });
  const api = (path: string) => `https://api.test${path}`;
  return { worker, client, events, api };
}

describe('client.fetch', () => {
  it('adds the bearer', async () => {
    const { worker, client, api } = await signedIn();
    const res = await client.fetch(api('/users/me'));
    expect(res.status).toBe(200);
    expect(worker.log.at(-1)?.authorization).toBe(`Bearer ${await client.getAccessToken()}`);
  });

  it('after a 401 for the token: refreshes once and sends the request again, body included', async () => {
    const { worker, client, api } = await signedIn();
    worker.cutAccessTokens();
    const res = await client.fetch(api('/api/echo'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ order: 42 }),
    });
    expect(res.status).toBe(200);
    expect((await res.json()).body).toEqual({ order: 42 });
    expect(worker.stats).toMatchObject({ refreshes: 1, rotations: 1 });
    const echoes = worker.log.filter((entry) => entry.path === '/api/echo');
    expect(echoes).toHaveLength(2);
    expect(echoes[0]!.authorization).not.toBe(echoes[1]!.authorization);
  });

  it('retries only once: a second 401 is an AuthError', async () => {
    const { worker, open } = await browser('memory');
    // An API that refuses every token, the fresh one too.
    const { client } = open((fetch) => (input, init) => {
      if (new Request(input, init).url.endsWith('/users/me')) worker.cutAccessTokens();
      return fetch(input, init);
    });
    await client.signIn({ email: EMAIL, password: PASSWORD });
    await expect(client.fetch('https://api.test/users/me')).rejects.toMatchObject({
      code: 'unauthorized',
      status: 401,
    });
    expect(worker.stats.refreshes).toBe(1);
    expect(worker.log.filter((entry) => entry.path === '/users/me')).toHaveLength(2);
  });

  it('never retries a 403: an AuthError with code, status and requestId', async () => {
    const { worker, client, api } = await signedIn();
    await expect(client.fetch(api('/api/forbidden'))).rejects.toMatchObject({
      name: 'AuthError',
      code: 'forbidden',
      status: 403,
      requestId: expect.stringMatching(/^req-/),
    });
    expect(worker.stats.refreshes).toBe(0);
    expect(worker.log.filter((entry) => entry.path === '/api/forbidden')).toHaveLength(1);
  });

  it('does not retry a 401 whose code is about something else', async () => {
    const { worker, client, api } = await signedIn();
    await expect(client.fetch(api('/api/wrong-code'))).rejects.toMatchObject({
      code: 'invalid_mfa_code',
    });
    expect(worker.stats.refreshes).toBe(0);
  });

  it('hands back an error that is not problem+json as it is, without a retry', async () => {
    const { worker, client, api } = await signedIn();
    const res = await client.fetch(api('/api/broken'));
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('upstream down');
    expect(worker.stats.refreshes).toBe(0);
  });

  it('sends no bearer when signed out', async () => {
    const { worker, client, api } = await signedIn();
    await client.signOut();
    await expect(client.fetch(api('/users/me'))).rejects.toMatchObject({ code: 'unauthorized' });
    expect(worker.log.at(-1)?.authorization).toBeNull();
    expect(worker.stats.refreshes).toBe(0);
  });
});

describe('identity providers', () => {
  it('builds the start URL with return_to, lists identities, and reports a refused unlink', async () => {
    const { client } = await signedIn();
    expect(client.providerSignInUrl('google', { returnTo: 'https://app.test/after' })).toMatch(
      /^https:\/\/auth-\d+\.test\/auth\/oauth\/google\/start\?return_to=https%3A%2F%2Fapp\.test%2Fafter$/,
    );
    expect((await client.identities()).map((i) => i.provider)).toEqual(['google']);
    await expect(client.unlinkIdentity('id-1')).rejects.toMatchObject({
      code: 'last_sign_in_method',
      status: 409,
    });
  });
});
