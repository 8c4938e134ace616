import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { PASSWORD, call, expectProblem, json, uniqueEmail } from '../helpers';

const registerRaw = (body: unknown) => call('/auth/register', json(body));
const countUsers = async () =>
  (await env.DB.prepare('SELECT COUNT(*) AS n FROM users').first<{ n: number }>())!.n;
const fieldErrors = async (res: Response) =>
  (
    (await expectProblem(res, 422, 'validation_failed')) as unknown as {
      errors: { path: string; message: string }[];
    }
  ).errors;

describe('POST /auth/register', () => {
  it('creates a basic, unverified user and answers 201 with the user object', async () => {
    const email = uniqueEmail();
    const res = await registerRaw({ email, password: PASSWORD, name: '  Ana  ' });
    expect(res.status).toBe(201);
    const user = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(user).sort()).toEqual([
      'created_at',
      'email',
      'email_verified',
      'id',
      'mfa_enabled',
      'name',
      'role',
    ]);
    expect(user).toMatchObject({
      email,
      name: 'Ana',
      role: 'user',
      email_verified: false,
      mfa_enabled: false,
    });
    expect(user.id).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(user.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('ignores mass-assigned fields (role, email_verified, id)', async () => {
    const email = uniqueEmail();
    const res = await registerRaw({
      email,
      password: PASSWORD,
      role: 'admin',
      email_verified: true,
      id: '00000000-0000-7000-8000-000000000000',
      __proto__: { role: 'admin' },
    });
    const user = (await res.json()) as Record<string, unknown>;
    expect(user).toMatchObject({ role: 'user', email_verified: false });
    expect(user.id).not.toBe('00000000-0000-7000-8000-000000000000');
  });

  it('stores the canonical email and refuses a case or Unicode variant with 409', async () => {
    const local = `jos\u00e9.${Date.now()}`;
    const res = await registerRaw({
      email: ` ${local.toUpperCase()}@EXAMPLE.COM `,
      password: PASSWORD,
    });
    expect(((await res.json()) as { email: string }).email).toBe(`${local}@example.com`);
    const decomposed = `${local.normalize('NFD')}@example.com`;
    await expectProblem(
      await registerRaw({ email: decomposed, password: PASSWORD }),
      409,
      'email_taken',
    );
  });

  it('creates exactly one account for concurrent registrations of one email', async () => {
    const email = uniqueEmail('race');
    const before = await countUsers();
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => registerRaw({ email, password: PASSWORD })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    expect(await countUsers()).toBe(before + 1);
  });

  it.each([
    ['too short', 'short pass', 'must be at least 12 characters'],
    ['too long (129 code points)', '😀'.repeat(129), 'must be at most 128 characters'],
    ['common', 'qwerty123456', 'is too common'],
    ['one repeated character', 'aaaaaaaaaaaaaaa', 'must not repeat one character'],
    ['a sequence', '123456789012345', 'must not be a simple sequence'],
    ['the service name', 'my edge auth password', 'must not contain the name of this service'],
  ])('refuses a %s password with 422 and changes nothing', async (_name, password, message) => {
    const before = await countUsers();
    const errors = await fieldErrors(await registerRaw({ email: uniqueEmail(), password }));
    expect(errors).toEqual([{ path: 'password', message }]);
    expect(await countUsers()).toBe(before);
  });

  it.each(['password1234', 'P@ssw0rd1234', 'Summer2024!!!', 'qwertyuiop12', 'iloveyou1234'])(
    'refuses %j: a common password in another case, with substitutions or a suffix',
    async (password) => {
      const errors = await fieldErrors(await registerRaw({ email: uniqueEmail(), password }));
      expect(errors).toEqual([{ path: 'password', message: 'is too common' }]);
    },
  );

  it.each(['abcabcabcabc', 'passwordpassword', 'Qwerty-qwerty-'])(
    'refuses %j: a pattern too short to be a password, repeated',
    async (password) => {
      const errors = await fieldErrors(await registerRaw({ email: uniqueEmail(), password }));
      expect(errors).toEqual([{ path: 'password', message: 'must not repeat a short pattern' }]);
    },
  );

  it.each(['edge-auth-123', 'EDGE_AUTH_2024', 'my.3dge.4uth.pass'])(
    'refuses %j: the service name with punctuation or substitutions',
    async (password) => {
      const errors = await fieldErrors(await registerRaw({ email: uniqueEmail(), password }));
      expect(errors).toEqual([
        { path: 'password', message: 'must not contain the name of this service' },
      ]);
    },
  );

  it('refuses a password containing the email’s local part without its punctuation', async () => {
    const email = `ana.maria-lopez.${Date.now()}@example.com`;
    const local = email.split('@')[0]!.replace(/[.-]/g, '');
    const errors = await fieldErrors(
      await registerRaw({ email, password: `My name is ${local.toUpperCase()}!` }),
    );
    expect(errors[0]!.message).toBe('must not contain your email address');
  });

  it('refuses a password containing the email address', async () => {
    const email = uniqueEmail('hello');
    const errors = await fieldErrors(await registerRaw({ email, password: `${email}12345` }));
    expect(errors[0]!.message).toBe('must not contain your email address');
  });

  it('counts length in code points: 12 emoji are enough, 11 are not', async () => {
    expect(
      (await registerRaw({ email: uniqueEmail(), password: '🔑🐙🌵🎲🚲🧩🪁🦉🍄🎻🧭🪐' })).status,
    ).toBe(201);
    const errors = await fieldErrors(
      await registerRaw({ email: uniqueEmail(), password: '🔑🐙🌵🎲🚲🧩🪁🦉🍄🎻🧭' }),
    );
    expect(errors[0]!.message).toBe('must be at least 12 characters');
  });

  it.each([
    'not-an-email',
    'a@b',
    'ann@exa mple.com',
    'ann\r\n@example.com',
    'ann@example.com\r\nBcc: x@evil.com',
    '"quoted"@example.com',
    'ann@ü.example',
    'ann@example.com.',
    `${'a'.repeat(65)}@example.com`,
    '\uff41\uff4e\uff4e@example.com',
  ])('refuses the email %j with 422 on the email field', async (email) => {
    const errors = await fieldErrors(await registerRaw({ email, password: PASSWORD }));
    expect(errors.map((e) => e.path)).toEqual(['email']);
  });

  it('refuses an empty or control-character name', async () => {
    for (const name of ['   ', 'evil\u0000name', 'x'.repeat(101)]) {
      const errors = await fieldErrors(
        await registerRaw({ email: uniqueEmail(), password: PASSWORD, name }),
      );
      expect(errors.map((e) => e.path)).toEqual(['name']);
    }
  });

  it('treats SQL in fields as literals', async () => {
    const name = "Robert'); DROP TABLE users;--";
    const res = await registerRaw({ email: uniqueEmail(), password: PASSWORD, name });
    expect(((await res.json()) as { name: string }).name).toBe(name);
    expect(await countUsers()).toBeGreaterThan(0);
  });
});
