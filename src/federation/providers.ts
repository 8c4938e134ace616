import * as oauth from 'oauth4webapi';
import { SignJWT, importPKCS8 } from 'jose';
import type { Config } from '../config';
import type { ProviderConfig } from './config';

/** A configured provider, ready to start and finish a sign-in. */
export type Provider = {
  config: ProviderConfig;
  label: string;
  /** OpenID Connect (an ID token) or plain OAuth 2 (GitHub). */
  oidc: boolean;
  scopes: string;
  /** Apple posts the answer back as a form. */
  responseMode?: 'form_post';
  client: oauth.Client;
  clientAuth: () => Promise<oauth.ClientAuth>;
  /** Metadata; for `oidc` found by discovery (cached per isolate). */
  server: () => Promise<oauth.AuthorizationServer>;
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

// Per isolate: discovery documents (an hour) and the libraries' JWKS caches, per provider.
const discovered = new Map<string, { at: number; server: Promise<oauth.AuthorizationServer> }>();
const DISCOVERY_TTL_MS = 3_600_000;
export const REQUEST_TIMEOUT_MS = 5_000;
export const signal = () => AbortSignal.timeout(REQUEST_TIMEOUT_MS);

function staticServer(server: oauth.AuthorizationServer) {
  return () => Promise.resolve(server);
}

function discover(issuer: string, insecure: boolean) {
  return () => {
    const cached = discovered.get(issuer);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.server;
    const server = (async () => {
      const url = new URL(issuer);
      const res = await oauth.discoveryRequest(url, {
        signal: signal(),
        [oauth.allowInsecureRequests]: insecure,
      });
      return oauth.processDiscoveryResponse(url, res);
    })();
    discovered.set(issuer, { at: Date.now(), server });
    server.catch(() => discovered.delete(issuer));
    return server;
  };
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
  const client: oauth.Client = { client_id: p.client_id };
  const secretPost = () => Promise.resolve(oauth.ClientSecretPost(secret));
  const base = { config: p, label: p.name ?? LABELS[p.type], client, insecure };
  switch (p.type) {
    case 'google':
      return {
        ...base,
        oidc: true,
        scopes: scopes(p, 'openid email profile'),
        clientAuth: secretPost,
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
        clientAuth: secretPost,
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
        clientAuth: async () => oauth.ClientSecretPost(await appleClientSecret(p, secret)),
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
        clientAuth: secretPost,
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
        clientAuth: secretPost,
        server: discover(p.issuer!, insecure && p.issuer!.startsWith('http:')),
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
