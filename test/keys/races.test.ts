// Racing isolates: the schedule and the admin routes at once never make two next or two
// current keys, and record each change once (partial unique indexes, conditional UPDATEs).
import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config';
import { signAccessToken } from '../../src/crypto/jwt';
import { forgetStoredKeys } from '../../src/keys/ring';
import { SCHEDULE, advanceKeys } from '../../src/keys/rotation';
import { call, expectProblem, login, register, signedInAdmin, withBearer } from '../helpers';
import { config, inState, runSchedule } from './helpers';

const secret = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

async function countEvents(type: string, kid?: string) {
  const row = await env.DB.prepare(
    'SELECT count(*) AS n FROM audit_events WHERE type = ?1 AND detail LIKE ?2',
  )
    .bind(type, `%${kid ?? ''}%`)
    .first<{ n: number }>();
  return row!.n;
}

const expectOneOfEach = async () => {
  expect(await inState('current')).toHaveLength(1);
  expect(await inState('next')).toHaveLength(1);
};

describe('racing key steps', () => {
  it('six first runs at once import once and make one next key', async () => {
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 6 }, () => advanceKeys(env.DB, config(), now, SCHEDULE)),
    );
    await expectOneOfEach();
    expect(await countEvents('key.imported')).toBe(1);
    expect(await countEvents('key.created')).toBe(1);
  });

  it('five scheduled runs at the activation time promote once', async () => {
    const [next] = await inState('next');
    const [current] = await inState('current');
    await Promise.all(Array.from({ length: 5 }, () => runSchedule(next!.activatesAt)));
    await expectOneOfEach();
    expect((await inState('current'))[0]!.kid).toBe(next!.kid);
    expect((await inState('retiring')).map((k) => k.kid)).toEqual([current!.kid]);
    expect(await countEvents('key.activated', next!.kid)).toBe(1);
  });

  it('five rotate requests at once leave one next and one current key', async () => {
    const { tokens } = await signedInAdmin();
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        call('/admin/keys/rotate', withBearer(tokens.access_token, { method: 'POST' })).then(
          (r) => r.status,
        ),
      ),
    );
    expect(statuses).toEqual([202, 202, 202, 202, 202]);
    await expectOneOfEach();
  });

  it('four removals of the current key at once: one 204, the others 404, one new current key', async () => {
    const admins = await Promise.all(Array.from({ length: 4 }, () => signedInAdmin()));
    const [current] = await inState('current');
    const results = await Promise.all(
      admins.map((a) =>
        call(
          `/admin/keys/${current!.kid}`,
          withBearer(a.tokens.access_token, { method: 'DELETE' }),
        ),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([204, 404, 404, 404]);
    await expectOneOfEach();
    expect((await inState('current'))[0]!.kid).not.toBe(current!.kid);
    expect(await countEvents('key.removed', current!.kid)).toBe(1);
  });
});

describe('a wrong KEY_ENCRYPTION_KEY', () => {
  it('fails signing clearly in the log, as a generic 500 on the wire, and never signs', async () => {
    await runSchedule(Date.now());
    const wrong = {
      KEY_ENCRYPTION_KEY: `1:${secret().replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`,
    };
    const wrongConfig = loadConfig({ ...env, ...wrong } as Env);
    forgetStoredKeys();
    await expect(
      signAccessToken(
        wrongConfig,
        { userId: 'u', sessionId: 's', role: 'user', emailVerified: false },
        Date.now(),
        env.DB,
      ),
    ).rejects.toThrow(/does not open with KEY_ENCRYPTION_KEY/);

    const { email, password } = await register();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await call(
      '/auth/login',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password }),
      },
      wrong,
    );
    await expectProblem(res, 500, 'internal_error');
    const logged = errors.mock.calls.map((c) => String(c[0])).join('\n');
    errors.mockRestore();
    expect(logged).toMatch(/does not open with KEY_ENCRYPTION_KEY/);
    // The right key still signs.
    expect((await login(email)).access_token).toBeTruthy();
  });
});
