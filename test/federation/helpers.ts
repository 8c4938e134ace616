// Signing in at a stand-in identity provider (test/stand-in/identity-provider.ts) the way a
// browser does: /start, the provider's redirect back with a code, /callback.
import { env } from 'cloudflare:workers';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import type { Registered } from '../stand-in/identity-provider';
import { Browser } from '../pages/browser';

export const TENANT = '11111111-2222-3333-4444-555555555555';

const appleKeys = (async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { pem: await exportPKCS8(privateKey), jwk: await exportJWK(publicKey) };
})();

export const PROVIDERS = [
  { id: 'acme', type: 'oidc', client_id: 'acme-client', issuer: 'https://idp.stand-in.test' },
  { id: 'google', type: 'google', client_id: 'google-client' },
  { id: 'msft', type: 'microsoft', client_id: 'ms-client', tenant: 'organizations' },
  { id: 'msft-pinned', type: 'microsoft', client_id: 'ms-client', tenant: TENANT },
  {
    id: 'apple',
    type: 'apple',
    client_id: 'com.example.web',
    team_id: 'TEAM123456',
    key_id: 'KEY1234567',
  },
  { id: 'github', type: 'github', client_id: 'gh-client' },
] as const;

export const SECRETS: Record<string, string> = {
  acme: 'acme-secret',
  google: 'google-secret',
  msft: 'ms-secret',
  'msft-pinned': 'ms-secret',
  github: 'gh-secret',
};

/** The env overrides that configure every stand-in provider. */
export async function providerConfig() {
  return {
    IDENTITY_PROVIDERS: JSON.stringify(PROVIDERS),
    IDENTITY_PROVIDER_SECRETS: JSON.stringify({ ...SECRETS, apple: (await appleKeys).pem }),
  };
}

type Flow = Omit<Registered, 'code' | 'challenge' | 'nonce' | 'clientId' | 'clientSecret'>;

/**
 * /start at `provider`, then the provider's answer: a code registered with `flow` (claims, a
 * foreign key, GitHub's API answers…), sent back to /callback by the browser.
 */
export async function signInAt(
  b: Browser,
  provider: (typeof PROVIDERS)[number]['id'],
  flow: Flow = {},
  options: { returnTo?: string; state?: (real: string) => string; callback?: boolean } = {},
) {
  const overrides = await providerConfig();
  const query = options.returnTo ? `?return_to=${encodeURIComponent(options.returnTo)}` : '';
  const start = await b.get(`/auth/oauth/${provider}/start${query}`, overrides);
  const location = new URL(start.headers.get('Location') ?? 'about:blank');
  const state = location.searchParams.get('state') ?? '';
  const config = PROVIDERS.find((p) => p.id === provider)!;
  const code = crypto.randomUUID();
  await fetch('https://idp.stand-in.test/_codes', {
    method: 'POST',
    body: JSON.stringify({
      code,
      challenge: location.searchParams.get('code_challenge'),
      nonce: location.searchParams.get('nonce') ?? '',
      clientId: config.client_id,
      clientSecret: SECRETS[provider] ?? '',
      ...(provider === 'apple' ? { appleKey: (await appleKeys).jwk } : {}),
      ...flow,
    }),
  });
  const sentState = options.state ? options.state(state) : state;
  const params = new URLSearchParams({ code, state: sentState });
  const back = () =>
    provider === 'apple'
      ? b.post(`/auth/oauth/${provider}/callback`, Object.fromEntries(params), {
          origin: 'https://appleid.apple.com',
          overrides,
        })
      : b.get(`/auth/oauth/${provider}/callback?${params}`, overrides);
  const callback = options.callback === false ? null : await back();
  return { start, location, state, code, callback, back, overrides };
}

export async function count(table: string, where = '1', ...binds: unknown[]) {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...binds)
    .first<{ n: number }>();
  return row!.n;
}
