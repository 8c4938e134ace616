import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import {
  BREACHED_PASSWORD,
  PADDED_PASSWORD,
  RANGE_STAND_IN_HOST,
  sha1Hex,
} from '../stand-in/range-api';
import { PASSWORD, call, expectProblem, json, signedIn, uniqueEmail, withBearer } from '../helpers';

afterEach(() => vi.restoreAllMocks());

/**
 * The range check against the stand-in; `mode` picks its slow or failing variant. Only the slow
 * one gets a short timeout: a busy test machine must not turn the others into a fail-open.
 */
const rangeCheck = (mode: '' | '/slow' | '/error' = '') => ({
  BREACHED_PASSWORD_CHECK: 'range',
  BREACHED_PASSWORD_API_URL: `https://${RANGE_STAND_IN_HOST}${mode}`,
  BREACHED_PASSWORD_TIMEOUT_MS: mode === '/slow' ? '300' : '10000',
});
const registerWith = (password: string, overrides: Record<string, string> = rangeCheck()) =>
  call('/auth/register', json({ email: uniqueEmail(), password }), overrides);
type Received = { path: string; addPadding: string | null; body: string };
const received = async () =>
  (await (await fetch(`https://${RANGE_STAND_IN_HOST}/_requests`)).json()) as Received[];
const fieldErrors = async (res: Response) =>
  ((await expectProblem(res, 422, 'validation_failed')) as unknown as { errors: unknown[] }).errors;
const warnings = () => {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
  return () => warn.mock.calls.map((args) => String(args[0]));
};

describe('the breached-password check (BREACHED_PASSWORD_CHECK=range)', () => {
  it('is off by default: nothing leaves the worker', async () => {
    expect(loadConfig(env).BREACHED_PASSWORD_CHECK).toBe('off');
    const before = (await received()).length;
    expect((await registerWith(BREACHED_PASSWORD, {})).status).toBe(201);
    expect((await received()).length).toBe(before);
  });

  it('refuses a password the range API counts, with the 422 of the other rules', async () => {
    expect(await fieldErrors(await registerWith(BREACHED_PASSWORD))).toEqual([
      { path: 'password', message: 'has appeared in a data breach' },
    ]);
  });

  it('hashes the NFKC form: a compatibility variant of a breached password is refused', async () => {
    const variant = BREACHED_PASSWORD.replace('42', '\uff14\uff12');
    expect(await fieldErrors(await registerWith(variant))).toEqual([
      { path: 'password', message: 'has appeared in a data breach' },
    ]);
  });

  it('accepts a password that is not in its range, or only as a padding line of count 0', async () => {
    expect((await registerWith(PASSWORD)).status).toBe(201);
    expect((await registerWith(PADDED_PASSWORD)).status).toBe(201);
  });

  it('sends only the first five hex digits of the SHA-1, asking for padding', async () => {
    const hash = await sha1Hex(BREACHED_PASSWORD);
    await registerWith(BREACHED_PASSWORD);
    const sent = (await received()).at(-1)!;
    expect(sent).toEqual({ path: `/range/${hash.slice(0, 5)}`, addPadding: 'true', body: '' });
  });

  it('guards the password change and the reset too', async () => {
    const { tokens, email } = await signedIn();
    const change = await call(
      '/users/me/password',
      withBearer(
        tokens.access_token,
        json({ current_password: PASSWORD, new_password: BREACHED_PASSWORD }),
      ),
      rangeCheck(),
    );
    expect(await fieldErrors(change)).toEqual([
      { path: 'new_password', message: 'has appeared in a data breach' },
    ]);

    expect((await call('/auth/password/forgot', json({ email }))).status).toBe(202);
    const mailbox = (await (await call('/dev/mailbox.json')).json()) as {
      messages: { to: string; text: string }[];
    };
    const mail = mailbox.messages.find((m) => m.to === email && m.text.includes('reset-password'));
    const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(mail!.text)![1];
    const reset = await call(
      '/auth/password/reset',
      json({ token, new_password: BREACHED_PASSWORD }),
      rangeCheck(),
    );
    expect(await fieldErrors(reset)).toEqual([
      { path: 'new_password', message: 'has appeared in a data breach' },
    ]);
  });

  it.each([
    ['does not answer within BREACHED_PASSWORD_TIMEOUT_MS', '/slow', 'timeout'],
    ['answers an error', '/error', 'status 503'],
  ] as const)(
    'fails open when the API %s, with a warning that holds neither password nor hash',
    async (_when, mode, reason) => {
      const logged = warnings();
      const started = Date.now();
      const res = await registerWith(BREACHED_PASSWORD, rangeCheck(mode));
      expect(res.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(2_500);
      const lines = logged().map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'breached-password check unavailable; password accepted without it',
          reason,
        }),
      );
      const hash = await sha1Hex(BREACHED_PASSWORD);
      for (const secret of [BREACHED_PASSWORD, hash, hash.slice(5)]) {
        expect(logged().join('\n')).not.toContain(secret);
      }
    },
  );

  it('refuses a configuration it does not know (fails closed like every setting)', () => {
    expect(() => loadConfig({ ...env, BREACHED_PASSWORD_CHECK: 'on' } as Env)).toThrow(
      /BREACHED_PASSWORD_CHECK/,
    );
    expect(() =>
      loadConfig({ ...env, BREACHED_PASSWORD_API_URL: 'https://api.example/' } as Env),
    ).toThrow(/BREACHED_PASSWORD_API_URL/);
  });
});
