// A provider for one test (test/stand-in/scripted-provider.ts), configured into the worker as an
// `oidc` provider found by discovery, and a sign-in at it the way a browser makes one. The test
// decides every answer: the discovery document, the JWKS, the token endpoint's answer and the
// ID token in it, and the callback's parameters.
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import { afterEach, beforeEach, expect, vi } from 'vitest';
import type { Answer, Recorded } from '../stand-in/scripted-provider';
import { Browser } from '../pages/browser';
import { count } from './helpers';

export const CLIENT_ID = 'rp-client';
export const CLIENT_SECRET = 'rp-client-secret-0123456789';
const HOST = 'https://op.stand-in.test';

export type Key = { privateKey: CryptoKey; jwk: JWK };

export async function rsaKey(kid: string): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function scriptedOp(options: { type?: 'oidc' | 'github' } = {}) {
  const id = crypto.randomUUID();
  const issuer = `${HOST}/${id}`;
  const key = await rsaKey('op-1');
  const answer = async (answers: Record<string, Answer>) => {
    const res = await fetch(`${HOST}/_answers/${id}`, {
      method: 'PUT',
      body: JSON.stringify(answers),
    });
    if (res.status !== 204) throw new Error(`scripted provider: ${res.status}`);
  };
  const discovery = {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    authorization_response_iss_parameter_supported: true,
  };
  await answer({
    'GET /.well-known/openid-configuration': { body: discovery },
    'GET /jwks': { body: { keys: [key.jwk] } },
  });
  // The provider's id is the same in every test: the worker's caches are per issuer and URL.
  const provider =
    options.type === 'github'
      ? {
          id: 'scripted-gh',
          type: 'github',
          client_id: CLIENT_ID,
          endpoints: {
            authorization: `${issuer}/authorize`,
            token: `${issuer}/token`,
            api: issuer,
          },
        }
      : { id: 'scripted', type: 'oidc', client_id: CLIENT_ID, issuer };
  const overrides: Record<string, string> = {
    IDENTITY_PROVIDERS: JSON.stringify([provider]),
    IDENTITY_PROVIDER_SECRETS: JSON.stringify({ [provider.id]: CLIENT_SECRET }),
  };

  /** An ID token for this sign-in, valid unless `claims` or `header` say otherwise. */
  async function idToken(
    nonce: string,
    claims: JWTPayload = {},
    sign: { key?: CryptoKey | Uint8Array; header?: Record<string, unknown> } = {},
  ) {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: issuer,
      aud: CLIENT_ID,
      sub: `sub-${crypto.randomUUID()}`,
      iat: now,
      exp: now + 300,
      nonce,
      email: `op-${crypto.randomUUID()}@example.com`,
      email_verified: true,
      ...claims,
    };
    for (const [name, value] of Object.entries(payload)) {
      if (value === undefined) delete payload[name as keyof typeof payload];
    }
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid, ...sign.header } as never)
      .sign(sign.key ?? key.privateKey);
  }

  return {
    id,
    issuer,
    key,
    discovery,
    provider,
    overrides,
    answer,
    idToken,
    requests: async (): Promise<Recorded[]> =>
      (await fetch(`${HOST}/_requests/${id}`)).json() as Promise<Recorded[]>,
    /** /start in a fresh browser: where it sends the browser, and the nonce and state in it. */
    async start(extra: Record<string, string> = {}) {
      const browser = new Browser();
      const start = await browser.get(`/auth/oauth/${provider.id}/start`, {
        ...overrides,
        ...extra,
      });
      const location = new URL(start.headers.get('Location') ?? '', 'https://auth.test');
      const state = location.searchParams.get('state') ?? '';
      const nonce = location.searchParams.get('nonce') ?? '';
      const back = (params: Record<string, string> | URLSearchParams = {}) => {
        const query = new URLSearchParams(params);
        if (!query.has('state')) query.set('state', state);
        return browser.get(`/auth/oauth/${provider.id}/callback?${query}`, {
          ...overrides,
          ...extra,
        });
      };
      return { browser, start, location, state, nonce, back };
    },
  };
}

export type ScriptedOp = Awaited<ReturnType<typeof scriptedOp>>;

/** Where a callback sent the browser: the `error` of /sign-in?error=…, or null. */
export const errorOf = (res: { headers: Headers }) =>
  new URL(res.headers.get('Location') ?? '', 'https://auth.test').searchParams.get('error');

/**
 * A sign-in at `op` whose token endpoint answers `token` (made with this sign-in's nonce), and
 * whose callback carries `params` over the code, the state and the provider's `iss`.
 */
export async function signIn(
  op: ScriptedOp,
  token: (nonce: string) => Promise<unknown>,
  params: Record<string, string> = {},
) {
  const flow = await op.start();
  expect(flow.start.status).toBe(302);
  const body = await token(flow.nonce);
  await op.answer({ 'POST /token': { body } });
  const callback = await flow.back({ code: 'the-code', iss: op.issuer, ...params });
  return { ...flow, callback, body };
}

export const bearer = (idToken?: string) => ({
  access_token: 'an-access-token',
  token_type: 'Bearer',
  expires_in: 300,
  ...(idToken === undefined ? {} : { id_token: idToken }),
});

/** The sign-in ended on /sign-in?error=`error`, and no user, identity or session came of it. */
export async function expectNothingWritten(
  result: Awaited<ReturnType<typeof signIn>>,
  error = 'provider',
) {
  expect(result.callback.status, result.callback.headers.get('Location') ?? '').toBe(302);
  expect(errorOf(result.callback)).toBe(error);
  expect(result.browser.cookies.has('__Host-refresh_token')).toBe(false);
  const idToken = (result.body as { id_token?: unknown }).id_token;
  if (typeof idToken === 'string' && idToken.split('.').length === 3) {
    const { sub, email } = decodeJwt(idToken);
    expect(await count('users', 'email = ?', String(email))).toBe(0);
    expect(await count('identities', 'subject = ?', String(sub))).toBe(0);
  }
}

/** The worker's warnings during each test, and the one about a failed sign-in, parsed. */
export function watchLog() {
  const log = {
    lines: [] as string[],
    refusal(): { error: string; code?: string } {
      const lines = log.lines.filter((l) => l.includes('identity provider sign-in failed'));
      expect(lines, log.lines.join('\n')).toHaveLength(1);
      return JSON.parse(lines[0]!) as { error: string; code?: string };
    },
  };
  beforeEach(() => {
    log.lines = [];
    vi.spyOn(console, 'warn').mockImplementation(
      (line: unknown) => void log.lines.push(String(line)),
    );
  });
  afterEach(() => void vi.restoreAllMocks());
  return log;
}
