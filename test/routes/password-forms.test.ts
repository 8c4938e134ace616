// One normalisation path for every route that takes a password (register, login, change, reset,
// re-authentication): NFKC, then the length in code points. A password accepted at registration
// must be accepted at every login, in whatever Unicode form the client's keyboard sends it.
import { describe, expect, it } from 'vitest';
import {
  call,
  expectProblem,
  json,
  login,
  mailedToken,
  register,
  uniqueEmail,
  withBearer,
} from '../helpers';

/** `n` distinct Hangul syllables: one code point each composed (NFC), two or three in NFD. */
function hangul(n: number): string {
  const out: string[] = [];
  for (let i = 0; out.length < n; i += 97) out.push(String.fromCodePoint(0xac00 + (i % 11172)));
  return out.join('');
}

describe('a 128-syllable Hangul password', () => {
  const composed = hangul(128);
  const decomposed = composed.normalize('NFD');

  it('is as long as the maximum only after normalisation', () => {
    expect([...composed]).toHaveLength(128);
    expect([...decomposed].length).toBeGreaterThan(256);
  });

  it('registered in NFD signs in, in NFD and in NFC', async () => {
    const { email } = await register(uniqueEmail(), decomposed);
    expect((await login(email, decomposed)).access_token).toBeTruthy();
    expect((await login(email, composed)).access_token).toBeTruthy();
  });

  it('works as the current and the new password of a change, and of a reset', async () => {
    const { email } = await register(uniqueEmail(), composed);
    const tokens = await login(email, decomposed);
    const other = hangul(127).normalize('NFD') + 'x';
    const change = await call(
      '/users/me/password',
      withBearer(tokens.access_token, json({ current_password: decomposed, new_password: other })),
    );
    expect(change.status).toBe(204);
    expect((await login(email, other.normalize('NFC'))).access_token).toBeTruthy();

    await call('/auth/password/forgot', json({ email }));
    const token = await mailedToken(email, 'reset-password');
    const reset = await call('/auth/password/reset', json({ token, new_password: decomposed }));
    expect(reset.status).toBe(204);
    expect((await login(email, composed)).access_token).toBeTruthy();
  });

  it('one code point more is 422 at registration and at login alike', async () => {
    const tooLong = hangul(129).normalize('NFD');
    const email = uniqueEmail();
    const reg = await call('/auth/register', json({ email, password: tooLong }));
    const body = await expectProblem(reg, 422, 'validation_failed');
    expect(body.errors).toEqual([
      expect.objectContaining({ path: 'password', message: 'must be at most 128 characters' }),
    ]);
    const res = await call('/auth/login', json({ email, password: tooLong }));
    await expectProblem(res, 422, 'validation_failed');
  });
});
