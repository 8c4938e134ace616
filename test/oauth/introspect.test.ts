import { env } from 'cloudflare:workers';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  call,
  expectProblem,
  json,
  me,
  signedIn,
  signedInAdmin,
  signedInOn,
  withBearer,
  sessionDb,
} from '../helpers';
import { foreignKey, nowSeconds, signOurs, signWith, validClaims } from '../tokens';
import { CLIENTS, basic, form, introspect, introspectionEnv, isActive, revoke } from './oauth';

afterEach(() => {
  vi.restoreAllMocks();
});

const ORDERS = basic('orders-api', CLIENTS['orders-api']);

async function expectInvalidClient(res: Response) {
  expect(res.headers.get('WWW-Authenticate')).toMatch(/^Basic realm="introspection"/);
  const body = await expectProblem(res, 401, 'invalid_client');
  expect(body.error).toBe('invalid_client');
  const { request_id: _ignored, ...rest } = body;
  return rest;
}

describe('POST /oauth/introspect: the caller', () => {
  it('without credentials is 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const { tokens } = await signedIn();
    await expectInvalidClient(await introspect(tokens.access_token, null));
  });

  it('an unknown client, a wrong secret and another client`s secret get the same 401', async () => {
    const { tokens } = await signedIn();
    const answers = [];
    for (const authorization of [
      basic('orders-api', 'wrong-secret'),
      basic('nobody', CLIENTS['orders-api']),
      basic('orders-api', CLIENTS['billing-api']),
      basic('orders-api', ''),
      basic('orders-api', `${CLIENTS['orders-api']}x`),
      basic('', ''),
      `Bearer ${tokens.access_token}`,
      'Basic not-base64!',
      `Basic ${btoa('orders-api')}`,
      `Basic ${btoa('x'.repeat(2000))}`,
      // Names every object has: never a client, never a 500.
      basic('constructor', 'x'),
      basic('__proto__', 'x'),
      basic('toString', 'x'),
    ]) {
      answers.push(await expectInvalidClient(await introspect(tokens.access_token, authorization)));
    }
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
  });

  it('with no INTROSPECTION_CLIENTS configured, nobody gets in', async () => {
    const { tokens } = await signedIn();
    const res = await call(
      '/oauth/introspect',
      form({ token: tokens.access_token }, { Authorization: ORDERS }),
    );
    await expectInvalidClient(res);
  });

  it('compares the secret in constant time, and an unknown id costs the same comparison', async () => {
    const { tokens } = await signedIn();
    const compare = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    await introspect(tokens.access_token, basic('nobody', 'x'));
    await introspect(tokens.access_token, basic('orders-api', 'x'));
    await introspect(tokens.access_token);
    expect(compare).toHaveBeenCalledTimes(3);
    for (const [a, b] of compare.mock.calls) {
      expect([(a as Uint8Array).byteLength, (b as Uint8Array).byteLength]).toEqual([32, 32]);
    }
  });

  it('never logs a secret, nor an unknown id (a service that swapped id and secret)', async () => {
    const { tokens } = await signedIn();
    const lines: string[] = [];
    for (const level of ['log', 'warn', 'error'] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line)));
    }
    await introspect(tokens.access_token, basic(CLIENTS['orders-api'], 'orders-api'));
    await introspect(tokens.access_token, basic('orders-api', 'a-wrong-secret-value'));
    const refused = lines.filter((l) => l.includes('introspection client refused'));
    expect(refused).toHaveLength(2);
    expect(lines.join('\n')).not.toContain(CLIENTS['orders-api']);
    expect(lines.join('\n')).not.toContain('a-wrong-secret-value');
    expect(refused[1]).toContain('"client_id":"orders-api"');
  });

  it('accepts a form-encoded id and secret (RFC 6749 §2.3.1) and the scheme in any case', async () => {
    const { tokens } = await signedIn();
    const lower = `basic ${btoa(`orders-api:${CLIENTS['orders-api']}`)}`;
    expect((await introspect(tokens.access_token, lower)).status).toBe(200);
    const encoded = `Basic ${btoa(`orders%2Dapi:${encodeURIComponent(CLIENTS['orders-api'])}`)}`;
    expect((await introspect(tokens.access_token, encoded)).status).toBe(200);
  });

  it('is checked before the body is read: no credentials and no token is still 401', async () => {
    const res = await call('/oauth/introspect', { method: 'POST' }, await introspectionEnv());
    await expectInvalidClient(res);
  });
});

describe('POST /oauth/introspect: the answer', () => {
  it('an accepted access token is active, with its claims, no-store', async () => {
    const { user, tokens } = await signedIn();
    const res = await introspect(tokens.access_token);
    expect(res.status).toBe(200);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      active: true,
      token_type: 'Bearer',
      sub: user.id,
      sid: tokens.session_id,
      role: 'user',
      email_verified: false,
      iss: 'http://127.0.0.1:8787',
      aud: 'edge-auth',
    });
    expect(Object.keys(body).sort()).toEqual(
      [
        'active',
        'aud',
        'email_verified',
        'exp',
        'iat',
        'iss',
        'jti',
        'role',
        'sid',
        'sub',
        'token_type',
      ].sort(),
    );
    expect(body.exp).toBe((body.iat as number) + 900);
  });

  it('is false after a sign-out, and for expired, foreign-key, tampered and malformed tokens', async () => {
    const { user, tokens } = await signedIn();
    const mine = { sub: user.id, sid: tokens.session_id };
    const expired = await signOurs(
      validClaims({ ...mine, iat: nowSeconds() - 1000, exp: nowSeconds() - 60 }),
    );
    const foreign = await signWith(await foreignKey(), validClaims(mine));
    const [head, payload, signature] = tokens.access_token.split('.');
    const flipped = signature!.startsWith('A')
      ? `B${signature!.slice(1)}`
      : `A${signature!.slice(1)}`;
    const tampered = `${head}.${payload}.${flipped}`;
    const otherPayload = btoa(JSON.stringify({ ...validClaims(mine), role: 'admin' }))
      .replaceAll('=', '')
      .replaceAll('+', '-')
      .replaceAll('/', '_');
    const promoted = `${head}.${otherPayload}.${signature}`;
    for (const [name, token] of Object.entries({
      expired,
      foreign,
      tampered,
      promoted,
      garbage: 'not a token',
      unknown: 'A'.repeat(43),
      long: `${tokens.access_token}.${'a'.repeat(5000)}`,
    })) {
      const res = await introspect(token);
      expect(res.status, name).toBe(200);
      expect(await res.json(), name).toEqual({ active: false });
    }
    expect(await isActive(tokens.access_token)).toBe(true);
    const out = await call('/auth/logout', withBearer(tokens.access_token, { method: 'POST' }));
    expect(out.status).toBe(204);
    expect(await isActive(tokens.access_token)).toBe(false);
  });

  it('a refresh token is never active: it is the client`s alone', async () => {
    const { tokens } = await signedIn();
    const res = await introspect(tokens.refresh_token);
    expect(await res.json()).toEqual({ active: false });
  });

  it('is false for a token cut off by the user`s "not before" (logout-all)', async () => {
    const { tokens } = await signedIn();
    const out = await call('/auth/logout-all', withBearer(tokens.access_token, { method: 'POST' }));
    expect(out.status).toBe(204);
    expect(await isActive(tokens.access_token)).toBe(false);
  });

  it('is false once the session is revoked in D1, before the KV denylist has it', async () => {
    // KV reaches other locations up to a minute late; D1 is the record this answer reads.
    const { tokens } = await signedIn();
    await sessionDb(tokens.session_id)
      .prepare('UPDATE sessions SET revoked_at = ? WHERE id = ?')
      .bind(Date.now(), tokens.session_id)
      .run();
    expect((await me(tokens.access_token)).status).toBe(200);
    expect(await isActive(tokens.access_token)).toBe(false);
  });

  it('is false for a disabled user and after a role change', async () => {
    const admin = await signedInAdmin();
    const disabled = await signedIn();
    const demoted = await signedInAdmin();
    const patch = (id: string, body: unknown) =>
      call(
        `/admin/users/${id}`,
        withBearer(admin.tokens.access_token, { ...json(body), method: 'PATCH' }),
      );
    expect((await patch(disabled.user.id, { disabled: true })).status).toBe(200);
    expect((await patch(demoted.user.id, { role: 'user' })).status).toBe(200);
    expect(await isActive(disabled.tokens.access_token)).toBe(false);
    expect(await isActive(demoted.tokens.access_token)).toBe(false);
    expect(await isActive(admin.tokens.access_token)).toBe(true);
  });

  it('a token naming another user`s session is false, even signed with our key', async () => {
    const victim = await signedIn();
    const { user } = await signedIn();
    const forged = await signOurs(validClaims({ sub: user.id, sid: victim.tokens.session_id }));
    expect(await isActive(forged)).toBe(false);
    expect(await isActive(victim.tokens.access_token)).toBe(true);
  });

  // Deleting or disabling writes the user's row before another shard's sessions are revoked
  // (docs/sharding.md): in between, the session row is still live there, and only the read of
  // the user says no. Here the row is written and nothing else, on each shard.
  for (const shard of [0, 1] as const) {
    it(`a deleted user's token is false (sessions on shard ${shard})`, async () => {
      const { user, tokens } = await signedInOn(shard);
      expect(await isActive(tokens.access_token)).toBe(true);
      await env.DB.prepare('DELETE FROM users WHERE id = ?').bind(user.id).run();
      expect(await isActive(tokens.access_token)).toBe(false);
    });

    it(`a disabled user's token is false (sessions on shard ${shard})`, async () => {
      const { user, tokens } = await signedInOn(shard);
      await env.DB.prepare('UPDATE users SET disabled_at = ? WHERE id = ?')
        .bind(Date.now(), user.id)
        .run();
      expect(
        await sessionDb(tokens.session_id)
          .prepare('SELECT revoked_at FROM sessions WHERE id = ?')
          .bind(tokens.session_id)
          .first('revoked_at'),
      ).toBeNull();
      expect(await isActive(tokens.access_token)).toBe(false);
    });
  }
});

describe('POST /oauth/introspect: requests it refuses', () => {
  it('a missing token is 400 invalid_request; JSON is 415', async () => {
    const { tokens } = await signedIn();
    const headers = { Authorization: ORDERS };
    const clients = await introspectionEnv();
    const bodiless = await call('/oauth/introspect', { method: 'POST', headers }, clients);
    expect((await expectProblem(bodiless, 400, 'invalid_request')).error).toBe('invalid_request');
    const asJson = await call(
      '/oauth/introspect',
      json({ token: tokens.access_token }, headers),
      clients,
    );
    await expectProblem(asJson, 415, 'unsupported_media_type');
  });

  it('is rate-limited per client IP (RATE_LIMIT_INTROSPECT)', async () => {
    const { tokens } = await signedIn();
    const extra = { RATE_LIMIT_INTROSPECT: '2/60' };
    const ip = { 'CF-Connecting-IP': '198.51.100.88' };
    const send = async () =>
      call(
        '/oauth/introspect',
        form({ token: tokens.access_token }, { Authorization: ORDERS, ...ip }),
        { ...(await introspectionEnv()), ...extra },
      );
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    await expectProblem(await send(), 429, 'rate_limited');
  });
});

describe('/openapi.json', () => {
  it('documents both endpoints with a form body and the introspection client scheme', async () => {
    const doc = (await (await call('/openapi.json')).json()) as {
      paths: Record<string, { post?: { requestBody?: { required?: boolean; content: object } } }>;
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
    };
    for (const path of ['/oauth/revoke', '/oauth/introspect']) {
      const body = doc.paths[path]?.post?.requestBody;
      expect(body?.required, path).toBe(true);
      expect(Object.keys(body?.content ?? {}), path).toEqual(['application/x-www-form-urlencoded']);
    }
    expect(doc.components.securitySchemes.introspectionClient).toMatchObject({
      type: 'http',
      scheme: 'basic',
    });
  });
});

describe('POST /oauth/introspect and /oauth/revoke with keys the worker made (src/keys)', () => {
  it('read the same keys as the bearer check: a worker-made key`s token is active, then revoked', async () => {
    const admin = await signedInAdmin();
    // The first key call imports JWT_SIGNING_KEYS; removing the current key puts the worker's own
    // next key in its place, so what signs now is in D1 only, never in JWT_SIGNING_KEYS.
    const listed = await call('/admin/keys', withBearer(admin.tokens.access_token));
    const { keys } = (await listed.json()) as { keys: { kid: string; state: string }[] };
    const current = keys.find((k) => k.state === 'current')!;
    const removed = await call(
      `/admin/keys/${current.kid}`,
      withBearer(admin.tokens.access_token, { method: 'DELETE' }),
    );
    expect(removed.status).toBe(204);
    const user = await signedIn();
    const kid = decodeProtectedHeader(user.tokens.access_token).kid;
    const envKids = (JSON.parse(env.JWT_SIGNING_KEYS) as { keys: { kid: string }[] }).keys.map(
      (k) => k.kid,
    );
    expect(envKids).not.toContain(kid);
    expect((await me(user.tokens.access_token)).status).toBe(200);
    expect(await isActive(user.tokens.access_token)).toBe(true);
    expect((await revoke({ token: user.tokens.access_token })).status).toBe(200);
    await expectProblem(await me(user.tokens.access_token), 401, 'unauthorized');
    expect(await isActive(user.tokens.access_token)).toBe(false);
  });
});
