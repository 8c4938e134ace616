// The lifecycle's bodiless routes in every form clients send them (see test/bodiless.test.ts).
import { describe, expect, it } from 'vitest';
import { call, expectProblem, mailTo, register, signedIn, signedInAdmin } from '../helpers';

const BODILESS: [string, RequestInit][] = [
  ['no body, no Content-Type', {}],
  ['Content-Length: 0', { headers: { 'Content-Length': '0' } }],
  ['an empty stream without a type', { body: new Uint8Array(0) }],
  ['zero bytes as text/plain', { body: '' }],
  ['zero bytes as application/json', { headers: { 'Content-Type': 'application/json' }, body: '' }],
  [
    'zero bytes as a form',
    { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' },
  ],
];

function bodiless(method: string, token: string, form: RequestInit): RequestInit {
  const headers = { ...(form.headers as Record<string, string>), Authorization: `Bearer ${token}` };
  return { ...form, method, headers };
}

describe.each(BODILESS)('a bodiless request: %s', (_name, form) => {
  it('DELETE /admin/users/{id} answers 204', async () => {
    const { tokens } = await signedInAdmin();
    const { user } = await signedIn();
    const res = await call(
      `/admin/users/${user.id}`,
      bodiless('DELETE', tokens.access_token, form),
    );
    expect(res.status, await res.clone().text()).toBe(204);
  });

  it('POST /admin/users/{id}/unlock answers 204', async () => {
    const { tokens } = await signedInAdmin();
    const { user } = await register();
    const path = `/admin/users/${user.id}/unlock`;
    const res = await call(path, bodiless('POST', tokens.access_token, form));
    expect(res.status, await res.clone().text()).toBe(204);
  });

  it('POST /admin/users/{id}/password-reset answers 202', async () => {
    const { tokens } = await signedInAdmin();
    const { user, email } = await register();
    const path = `/admin/users/${user.id}/password-reset`;
    const res = await call(path, bodiless('POST', tokens.access_token, form));
    expect(res.status, await res.clone().text()).toBe(202);
    expect((await mailTo(email)).some((m) => m.text.includes('reset-password?token='))).toBe(true);
  });

  it('POST /users/me/delete answers 403 invalid_current_password, not 400 or 415', async () => {
    const { tokens } = await signedIn();
    const res = await call('/users/me/delete', bodiless('POST', tokens.access_token, form));
    await expectProblem(res, 403, 'invalid_current_password');
  });
});
