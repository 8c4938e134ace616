import { SignJWT, importPKCS8 } from 'jose';
import type { Config } from '../config';
import type { ProviderConfig } from './config';
import { discover } from './discovery';
import { REQUEST_TIMEOUT_MS, type ServerMetadata } from './protocol';

/** A configured provider, ready to start and finish a sign-in. */
export type Provider = {
  config: ProviderConfig;
  label: string;
  /** OpenID Connect (an ID token) or plain OAuth 2 (GitHub). */
  oidc: boolean;
  scopes: string;
  /** Apple posts the answer back as a form. */
  responseMode?: 'form_post';
  /** The client secret sent to the token endpoint (client_secret_post); Apple's is a JWT. */
  clientSecret: () => Promise<string>;
  /** Metadata; for `oidc` found by discovery (cached per isolate). */
  server: () => Promise<ServerMetadata>;
  /** Requests over plain http: only a local provider in development (config refuses it in production). */
  insecure: boolean;
};

const LABELS = {
  google: 'Google',
  microsoft: 'Microsoft',
  apple: 'Apple',
  github: 'GitHub',
  oidc: 'single sign-on',
} as const;

export const signal = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);

function staticServer(server: ServerMetadata) {
  return () => Promise.resolve(server);
}

/** Apple's client secret: a short-lived ES256 JWT signed with the team's key (Sign in with Apple). */
async function appleClientSecret(config: ProviderConfig, privateKey: string): Promise<string> {
  const key = await importPKCS8(privateKey, 'ES256');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: config.key_id! })
    .setIssuer(config.team_id!)
    .setSubject(config.client_id)
    .setAudience('https://appleid.apple.com')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(key);
}

/** The provider with this id, or null when none is configured under it. */
export function providerById(config: Config, id: string): Provider | null {
  const p = config.IDENTITY_PROVIDERS.find((candidate) => candidate.id === id);
  if (!p) return null;
  const secret = config.IDENTITY_PROVIDER_SECRETS[p.id]!;
  const insecure = config.ENVIRONMENT !== 'production';
  const secretPost = () => Promise.resolve(secret);
  const base = { config: p, label: p.name ?? LABELS[p.type], insecure };
  switch (p.type) {
    case 'google':
      return {
        ...base,
        oidc: true,
        scopes: scopes(p, 'openid email profile'),
        clientSecret: secretPost,
        server: staticServer({
          issuer: 'https://accounts.google.com',
          authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
          token_endpoint: 'https://oauth2.googleapis.com/token',
          jwks_uri: 'https://www.googleapis.com/oauth2/v3/certs',
        }),
      };
    case 'microsoft': {
      const tenant = p.tenant ?? 'common';
      const root = `https://login.microsoftonline.com/${tenant}`;
      return {
        ...base,
        oidc: true,
        scopes: scopes(p, 'openid email profile'),
        clientSecret: secretPost,
        // Entra ID names the token's own tenant in `iss`: microsoft.ts checks it per token.
        server: staticServer({
          issuer: `${root}/v2.0`,
          authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
          token_endpoint: `${root}/oauth2/v2.0/token`,
          jwks_uri: `${root}/discovery/v2.0/keys`,
        }),
      };
    }
    case 'apple':
      return {
        ...base,
        oidc: true,
        scopes: scopes(p, 'name email'),
        responseMode: 'form_post',
        clientSecret: () => appleClientSecret(p, secret),
        server: staticServer({
          issuer: 'https://appleid.apple.com',
          authorization_endpoint: 'https://appleid.apple.com/auth/authorize',
          token_endpoint: 'https://appleid.apple.com/auth/token',
          jwks_uri: 'https://appleid.apple.com/auth/keys',
        }),
      };
    case 'github': {
      const e = p.endpoints;
      return {
        ...base,
        oidc: false,
        scopes: scopes(p, 'read:user user:email'),
        clientSecret: secretPost,
        server: staticServer({
          issuer: 'https://github.com',
          authorization_endpoint: e?.authorization ?? 'https://github.com/login/oauth/authorize',
          token_endpoint: e?.token ?? 'https://github.com/login/oauth/access_token',
        }),
      };
    }
    case 'oidc':
      return {
        ...base,
        oidc: true,
        scopes: scopes(p, 'openid email profile'),
        clientSecret: secretPost,
        server: () => discover(p.issuer!, insecure && p.issuer!.startsWith('http:')),
      };
  }
}

function scopes(p: ProviderConfig, fallback: string) {
  return p.scopes?.join(' ') ?? fallback;
}

/** The configured providers, for the sign-in page's buttons. */
export function providers(config: Config): Provider[] {
  return config.IDENTITY_PROVIDERS.map((p) => providerById(config, p.id)!);
}
