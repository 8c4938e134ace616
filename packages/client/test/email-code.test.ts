import { describe, expect, it } from 'vitest';
import { EMAIL, browser } from './helpers.ts';
import { EMAIL_CODE } from './fake-worker.ts';

describe('sign-in with an email code', () => {
  it('asks for a code, then signs in with it (memory mode)', async () => {
    const { worker, open } = await browser('memory');
    const { client, events } = open();
    await expect(client.sendEmailCode(EMAIL)).resolves.toBeUndefined();
    expect(worker.log.at(-1)).toMatchObject({
      path: '/auth/email-code/send',
      body: { email: EMAIL },
    });
    expect(await client.verifyEmailCode(EMAIL, EMAIL_CODE)).toEqual({
      mfaRequired: false,
      sessionId: expect.any(String),
    });
    expect(events).toMatchObject([{ type: 'signed_in', fromOtherTab: false }]);
    expect((await client.getUser())?.email).toBe(EMAIL);
  });

  it('resolves alike for an unknown address', async () => {
    const { open } = await browser('memory');
    await expect(open().client.sendEmailCode('nobody@example.com')).resolves.toBeUndefined();
  });

  it('throws invalid_code for a wrong or used code, and stays signed out', async () => {
    const { open } = await browser('memory');
    const { client, events } = open();
    await client.sendEmailCode(EMAIL);
    await expect(client.verifyEmailCode(EMAIL, '000000')).rejects.toMatchObject({
      code: 'invalid_code',
      status: 401,
    });
    expect(await client.getAccessToken()).toBeNull();
    await client.verifyEmailCode(EMAIL, EMAIL_CODE);
    await expect(client.verifyEmailCode(EMAIL, EMAIL_CODE)).rejects.toMatchObject({
      code: 'invalid_code',
    });
    expect(events).toHaveLength(1);
  });

  it('returns the second step when two-factor is on; verifyMfa finishes it', async () => {
    const { worker, open } = await browser('memory');
    const { client } = open();
    worker.enableMfa(EMAIL);
    await client.sendEmailCode(EMAIL);
    const step = await client.verifyEmailCode(EMAIL, EMAIL_CODE);
    expect(step).toEqual({ mfaRequired: true, mfaToken: expect.any(String), expiresIn: 300 });
    expect(await client.getAccessToken()).toBeNull();
    if (!step.mfaRequired) throw new Error('expected the second step');
    expect(await client.verifyMfa(step.mfaToken, '123456')).toMatchObject({ mfaRequired: false });
    expect(await client.getAccessToken()).toEqual(expect.any(String));
  });

  it('signs in every tab in cookie mode, with the session in the cookie only', async () => {
    const { worker, open } = await browser('cookie');
    const first = open();
    const second = open();
    await first.client.sendEmailCode(EMAIL);
    await first.client.verifyEmailCode(EMAIL, EMAIL_CODE);
    expect(worker.jar.refresh).toEqual(expect.any(String));
    const verify = worker.log.find((e) => e.path === '/auth/email-code/verify')!;
    expect(verify.credentials).toBe('include');
    await new Promise((r) => setTimeout(r, 20));
    expect(second.events).toMatchObject([{ type: 'signed_in', fromOtherTab: true }]);
  });
});
