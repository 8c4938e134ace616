import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { resend } from '../../src/mail/resend';
import { STAND_IN_HOST, STAND_IN_KEY } from '../stand-in/mail-provider';
import { call, json, register, uniqueEmail } from '../helpers';

afterEach(() => vi.restoreAllMocks());

const viaStandIn = {
  MAIL_TRANSPORT: 'resend',
  MAIL_API_URL: `https://${STAND_IN_HOST}`,
  MAIL_API_KEY: STAND_IN_KEY,
  MAIL_FROM: 'Edge Auth <auth@example.com>',
  MAIL_TIMEOUT_MS: '300',
};
type Sent = {
  authorization: string;
  contentType: string;
  body: { from: string; to: string[]; subject: string; text: string; html: string };
};
const sentTo = async (address: string) =>
  ((await (await fetch(`https://${STAND_IN_HOST}/_sent`)).json()) as Sent[]).filter((s) =>
    s.body.to.includes(address),
  );
const transport = (overrides: Record<string, string> = {}) => {
  const config = loadConfig({ ...env, ...viaStandIn, ...overrides } as Env);
  return resend(config, createLogger('error', { test: 'resend' }));
};
const message = (to: string) => ({
  to,
  subject: 'Hello',
  text: 'Plain body',
  html: '<p>HTML body</p>',
});

describe('the Resend transport (against a local stand-in)', () => {
  it('POSTs /emails with the API key and Resend’s JSON shape', async () => {
    const to = uniqueEmail('provider');
    await transport().send(message(to));
    const [sent] = await sentTo(to);
    expect(sent).toEqual({
      authorization: `Bearer ${STAND_IN_KEY}`,
      contentType: 'application/json',
      body: {
        from: 'Edge Auth <auth@example.com>',
        to: [to],
        subject: 'Hello',
        text: 'Plain body',
        html: '<p>HTML body</p>',
      },
    });
  });

  it('logs a refusal and does not throw', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    await expect(
      transport().send(message(`bounce@${Date.now()}.example.com`)),
    ).resolves.toBeUndefined();
    await expect(
      transport({ MAIL_API_KEY: 'wrong' }).send(message(uniqueEmail())),
    ).resolves.toBeUndefined();
    const lines = error.mock.calls.map((c) => JSON.parse(String(c[0])));
    expect(lines.map((l) => l.status)).toEqual([500, 401]);
    expect(JSON.stringify(lines)).not.toContain(STAND_IN_KEY);
  });

  it('gives up after MAIL_TIMEOUT_MS, logs it, and does not throw', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const started = Date.now();
    await expect(
      transport().send(message(`slow@${Date.now()}.example.com`)),
    ).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(JSON.parse(String(error.mock.calls[0]![0]))).toMatchObject({
      msg: 'mail provider unreachable',
    });
  });

  it('carries the real flows: a reset mail reaches the provider with the APP_URL link', async () => {
    const { email } = await register();
    expect((await call('/auth/password/forgot', json({ email }), viaStandIn)).status).toBe(202);
    const [sent] = await sentTo(email);
    expect(sent!.body.subject).toMatch(/^Reset your/);
    expect(sent!.body.text).toMatch(
      /https:\/\/app\.example\.com\/reset-password\?token=[A-Za-z0-9_-]{43}/,
    );
    expect(sent!.body.html).toContain('href="https://app.example.com/reset-password?token=');
  });
});
