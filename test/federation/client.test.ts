// The worker's own OAuth 2 / OIDC client, attacked check by check through /start and /callback
// at a provider that sends what a real one never would (test/stand-in/scripted-provider.ts).
// Every refusal must end where it did with oauth4webapi (/sign-in?error=provider, or denied for
// the provider's own `error`), write nothing, and be logged for the reason it was made.
import { describe, expect, it } from 'vitest';
import { count } from './helpers';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  bearer,
  errorOf,
  expectNothingWritten,
  scriptedOp,
  signIn,
  watchLog,
} from './scripted-op';

const log = watchLog();
const refusal = () => log.refusal();

describe('the scripted provider, answering correctly (the control)', () => {
  it('signs in, with a form-encoded client_secret_post code exchange and the PKCE verifier', async () => {
    const op = await scriptedOp();
    const result = await signIn(op, async (nonce) => bearer(await op.idToken(nonce)));
    expect(result.callback.status, result.callback.headers.get('Location') ?? '').toBe(200);
    expect(result.browser.cookies.has('__Host-refresh_token')).toBe(true);
    const exchange = (await op.requests()).find((r) => r.method === 'POST')!;
    expect(exchange.path).toBe('/token');
    expect(exchange.headers['content-type']).toBe(
      'application/x-www-form-urlencoded;charset=UTF-8',
    );
    const form = new URLSearchParams(exchange.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: expect.stringMatching(/\/auth\/oauth\/scripted\/callback$/),
      code_verifier: expect.stringMatching(/^[\w-]{43}$/),
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
    const digest = await crypto.subtle.digest(
      'SHA-256',
      new TextEncoder().encode(form.get('code_verifier')!),
    );
    const challenge = btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
    expect(result.location.searchParams.get('code_challenge')).toBe(challenge);
  });

  it('takes token_type in any case, aud as a one-member array, azp naming us, no iss when not promised', async () => {
    const op = await scriptedOp();
    await op.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...op.discovery, authorization_response_iss_parameter_supported: false },
      },
    });
    const result = await signIn(
      op,
      async (nonce) => ({
        ...bearer(await op.idToken(nonce, { aud: [CLIENT_ID], azp: CLIENT_ID })),
        token_type: 'bEaReR',
      }),
      { iss: '' },
    );
    expect(result.callback.status, result.callback.headers.get('Location') ?? '').toBe(200);
  });
});

describe('discovery', () => {
  it('refuses a document for another issuer: the start fails before any state is written', async () => {
    const op = await scriptedOp();
    await op.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...op.discovery, issuer: `${op.issuer}-impostor` },
      },
    });
    const states = await count('oauth_states', 'provider = ?', 'scripted');
    const { start } = await op.start();
    expect(start.headers.get('Location')).toBe('/sign-in?error=provider');
    expect(await count('oauth_states', 'provider = ?', 'scripted')).toBe(states);
    const [warning] = log.lines.filter((l) => l.includes('identity provider unavailable'));
    expect(warning).toContain('"code":"issuer_mismatch"');
  });

  it.each([
    ['not JSON', { text: '<html>' }, 'invalid_json'],
    ['not an object', { body: [1, 2] }, 'invalid_json'],
    ['a 404', { status: 404, body: {} }, 'unexpected_status'],
    ['a redirect (never followed)', { status: 302, body: {} }, 'unexpected_status'],
    [
      'without issuer',
      { body: { authorization_endpoint: 'https://x.test/a' } },
      'invalid_metadata',
    ],
  ])('refuses a discovery answer that is %s', async (_name, answer, code) => {
    const op = await scriptedOp();
    // A redirect to the right document is not followed either.
    const location = { Location: `${op.issuer}/.well-known/openid-configuration` };
    await op.answer({ 'GET /.well-known/openid-configuration': { ...answer, headers: location } });
    const { start } = await op.start();
    expect(start.headers.get('Location')).toBe('/sign-in?error=provider');
    const [warning] = log.lines.filter((l) => l.includes('identity provider unavailable'));
    expect(warning).toContain(`"code":"${code}"`);
  });
});

describe('https only in production', () => {
  const production = {
    ENVIRONMENT: 'production',
    MAIL_TRANSPORT: 'resend',
    MAIL_API_KEY: 'k',
    MAIL_FROM: 'a@b.c',
    COOKIE_INSECURE_DEV: '',
  };

  it('refuses an http authorization endpoint from an https issuer', async () => {
    const op = await scriptedOp();
    const http = `http://127.0.0.1:9/${op.id}/authorize`;
    await op.answer({
      'GET /.well-known/openid-configuration': {
        body: { ...op.discovery, authorization_endpoint: http },
      },
    });
    const { start } = await op.start(production);
    expect(start.headers.get('Location')).toBe('/sign-in?error=provider');
    expect(log.lines.join('\n')).toContain('"code":"url_refused"');
  });

  it.each(['token_endpoint', 'jwks_uri'])(
    'refuses an http %s from an https issuer, writing nothing',
    async (field) => {
      const op = await scriptedOp();
      await op.answer({
        'GET /.well-known/openid-configuration': {
          body: { ...op.discovery, [field]: `http://op.stand-in.test/${op.id}/x` },
        },
      });
      const flow = await op.start(production);
      await op.answer({ 'POST /token': { body: bearer(await op.idToken(flow.nonce)) } });
      const callback = await flow.back({ code: 'c', iss: op.issuer });
      expect(errorOf(callback)).toBe('provider');
      expect(refusal().code).toBe('url_refused');
      expect((await op.requests()).some((r) => r.method === 'POST')).toBe(
        field !== 'token_endpoint',
      );
    },
  );
});

describe('the authorization response', () => {
  it('maps the provider’s error to denied, once iss and state are right', async () => {
    const op = await scriptedOp();
    const result = await signIn(op, async (nonce) => bearer(await op.idToken(nonce)), {
      error: 'access_denied',
      code: '',
    });
    await expectNothingWritten(result, 'denied');
    expect(refusal().code).toBe('authorization_denied');
    expect((await op.requests()).some((r) => r.method === 'POST')).toBe(false);
  });

  it.each([
    ['an iss of another provider (RFC 9207 mix-up)', { iss: 'https://evil.example' }],
    ['no iss from a provider that promises it', { iss: '' }],
    ['an error under the wrong iss', { iss: 'https://evil.example', error: 'access_denied' }],
  ])('refuses %s, before the code is sent anywhere', async (_name, params) => {
    const op = await scriptedOp();
    const result = await signIn(op, async (nonce) => bearer(await op.idToken(nonce)), params);
    await expectNothingWritten(result);
    expect(refusal().code).toBe('callback_issuer');
    expect((await op.requests()).some((r) => r.method === 'POST')).toBe(false);
  });

  it.each([
    ['no code', { code: '' }],
    ['a JARM response', { response: 'eyJ.x.y' }],
    ['an implicit id_token', { id_token: 'eyJ.x.y' }],
    ['an implicit token', { token: 'at' }],
  ])('refuses a callback with %s', async (_name, params) => {
    const op = await scriptedOp();
    const result = await signIn(op, async (nonce) => bearer(await op.idToken(nonce)), params);
    await expectNothingWritten(result);
    expect(refusal().code).toBe('invalid_callback');
  });

  it('refuses a parameter sent twice', async () => {
    const op = await scriptedOp();
    const flow = await op.start();
    await op.answer({ 'POST /token': { body: bearer(await op.idToken(flow.nonce)) } });
    const params = new URLSearchParams({ code: 'one', iss: op.issuer });
    params.append('code', 'two');
    const callback = await flow.back(params);
    expect(errorOf(callback)).toBe('provider');
    expect(refusal().code).toBe('invalid_callback');
  });
});

describe('the token endpoint’s answer', () => {
  it.each([
    [
      'invalid_grant (a spent code)',
      { status: 400, body: { error: 'invalid_grant' } },
      'token_error',
    ],
    ['invalid_client', { status: 401, body: { error: 'invalid_client' } }, 'token_error'],
    ['HTTP 503, not JSON', { status: 503, text: 'unavailable' }, 'unexpected_status'],
    ['a body that is not JSON', { text: 'access_token=x' }, 'invalid_json'],
  ])('maps %s to provider', async (_name, answer, code) => {
    const op = await scriptedOp();
    const flow = await op.start();
    await op.answer({ 'POST /token': answer });
    const callback = await flow.back({ code: 'c', iss: op.issuer });
    expect(errorOf(callback)).toBe('provider');
    expect(refusal().code).toBe(code);
  });

  it.each([
    ['token_type DPoP', { token_type: 'DPoP' }, 'unsupported_token_type'],
    ['token_type mac', { token_type: 'mac' }, 'unsupported_token_type'],
    ['no token_type', { token_type: undefined }, 'invalid_token_response'],
    ['no access_token', { access_token: undefined }, 'invalid_token_response'],
    ['a negative expires_in', { expires_in: -1 }, 'invalid_token_response'],
    ['a refresh_token that is not a string', { refresh_token: 1 }, 'invalid_token_response'],
    ['a scope that is not a string', { scope: ['openid'] }, 'invalid_token_response'],
    ['no id_token', { id_token: undefined }, 'id_token_missing'],
    ['an empty id_token', { id_token: '' }, 'invalid_token_response'],
  ])('refuses an answer with %s', async (_name, change, code) => {
    const op = await scriptedOp();
    const result = await signIn(op, async (nonce) => {
      const body: Record<string, unknown> = { ...bearer(await op.idToken(nonce)), ...change };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      return body;
    });
    await expectNothingWritten(result);
    expect(refusal().code).toBe(code);
  });

  it('refuses an ID token from a plain OAuth 2 provider (GitHub), which it cannot check', async () => {
    const op = await scriptedOp({ type: 'github' });
    const result = await signIn(op, async (nonce) => bearer(await op.idToken(nonce)), { iss: '' });
    await expectNothingWritten(result);
    expect(refusal().code).toBe('unexpected_id_token');
  });
});
