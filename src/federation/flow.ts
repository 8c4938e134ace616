import * as oauth from 'oauth4webapi';
import { and, eq, gt, isNull } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { oauthStates } from '../db/schema';
import type { AppEnv } from '../env';
import { githubIdentity } from './github';
import { FederationError, type Asserted } from './identities';
import { signal, type Provider } from './providers';

// The authorization-code flow with PKCE, through oauth4webapi (panva's OpenID Certified client,
// plain WebCrypto and fetch, so it runs on Workers): a start that remembers state, nonce and
// verifier server-side for one browser, and a callback that spends them once.

export const STATE_TTL_SECONDS = 600;
const BINDING = '__Host-oauth';
const INSECURE_BINDING = 'oauth';
const BINDING_VALUE = /^[A-Za-z0-9_-]{43}$/;

const bindingName = (c: Context<AppEnv>) =>
  c.var.config.COOKIE_INSECURE_DEV ? INSECURE_BINDING : BINDING;

export const redirectUri = (c: Context<AppEnv>, provider: Provider) =>
  `${c.var.config.ISSUER}/auth/oauth/${provider.config.id}/callback`;

/**
 * The random value that binds a sign-in to the browser that started it. Its cookie goes along
 * on the provider's redirect back (SameSite=None: Apple posts the answer from its own site), and
 * is kept if present, so two tabs signing in at once share it.
 */
function browserBinding(c: Context<AppEnv>): string {
  const existing = getCookie(c, bindingName(c));
  if (existing && BINDING_VALUE.test(existing)) return existing;
  const value = randomToken(32);
  const attributes = c.var.config.COOKIE_INSECURE_DEV
    ? 'HttpOnly; SameSite=Lax'
    : 'HttpOnly; Secure; SameSite=None';
  c.header(
    'Set-Cookie',
    `${bindingName(c)}=${value}; Path=/; Max-Age=${STATE_TTL_SECONDS}; ${attributes}`,
    { append: true },
  );
  return value;
}

/** Where to send the browser to sign in at the provider: state, nonce and PKCE S256. */
export async function startUrl(
  c: Context<AppEnv>,
  provider: Provider,
  returnTo: string,
  linkUserId: string | null,
): Promise<string> {
  const server = await provider.server();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const now = Date.now();
  await database(c.env.DB)
    .insert(oauthStates)
    .values({
      id: uuidv7(now),
      stateHash: await sha256(state),
      provider: provider.config.id,
      browserHash: await sha256(browserBinding(c)),
      nonce,
      codeVerifier,
      returnTo,
      linkUserId,
      createdAt: now,
      expiresAt: now + STATE_TTL_SECONDS * 1000,
    });
  const url = new URL(server.authorization_endpoint!);
  const params = url.searchParams;
  params.set('client_id', provider.client.client_id);
  params.set('redirect_uri', redirectUri(c, provider));
  params.set('response_type', 'code');
  params.set('scope', provider.scopes);
  params.set('state', state);
  params.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  params.set('code_challenge_method', 'S256');
  if (provider.oidc) params.set('nonce', nonce);
  if (provider.responseMode) params.set('response_mode', provider.responseMode);
  return url.href;
}

/**
 * Spends the state of a callback: only the browser that started it, only once, only before it
 * expires, only at the provider it was started for. Nothing else is written on a refusal.
 */
async function spendState(c: Context<AppEnv>, provider: Provider, state: string | null) {
  const binding = getCookie(c, bindingName(c));
  if (!state || state.length > 512 || !binding || !BINDING_VALUE.test(binding)) {
    throw new FederationError('state');
  }
  const now = Date.now();
  const [spent] = await database(c.env.DB)
    .update(oauthStates)
    .set({ usedAt: now })
    .where(
      and(
        eq(oauthStates.stateHash, await sha256(state)),
        eq(oauthStates.provider, provider.config.id),
        eq(oauthStates.browserHash, await sha256(binding)),
        isNull(oauthStates.usedAt),
        gt(oauthStates.expiresAt, now),
      ),
    )
    .returning();
  if (!spent) throw new FederationError('state');
  return spent;
}

/**
 * The callback: the exact state, then the code exchanged with the PKCE verifier, the ID token
 * checked (iss, aud, azp, nonce, exp by oauth4webapi; its signature against the provider's
 * JWKS, cached per isolate), GitHub's verified primary email from its API.
 */
export async function finishCallback(
  c: Context<AppEnv>,
  provider: Provider,
  params: URLSearchParams,
) {
  const flow = await spendState(c, provider, params.get('state'));
  const options = { signal, [oauth.allowInsecureRequests]: provider.insecure };
  let server: oauth.AuthorizationServer;
  let asserted: Asserted;
  try {
    server = await provider.server();
    const callback = oauth.validateAuthResponse(
      server,
      provider.client,
      params,
      params.get('state')!,
    );
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      provider.client,
      await provider.clientAuth(),
      callback,
      redirectUri(c, provider),
      flow.codeVerifier,
      options,
    );
    if (!provider.oidc) {
      const result = await oauth.processAuthorizationCodeResponse(
        server,
        provider.client,
        response,
      );
      asserted = await githubIdentity(provider, result.access_token);
    } else {
      if (provider.config.type === 'microsoft') {
        server = await microsoftTenantServer(provider, server, response);
      }
      const result = await oauth.processAuthorizationCodeResponse(
        server,
        provider.client,
        response,
        {
          expectedNonce: flow.nonce,
          requireIdToken: true,
        },
      );
      await oauth.validateApplicationLevelSignature(server, response, {
        ...options,
        [oauth.jwksCache]: jwksCacheFor(provider),
      });
      asserted = fromIdToken(provider, oauth.getValidatedIdTokenClaims(result)!);
    }
  } catch (err) {
    if (err instanceof FederationError) throw err;
    c.var.log.warn('identity provider sign-in failed', {
      provider: provider.config.id,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      code: (err as { code?: string }).code,
    });
    const denied = err instanceof oauth.AuthorizationResponseError;
    throw new FederationError(denied ? 'denied' : 'provider');
  }
  return { asserted, returnTo: flow.returnTo, linkUserId: flow.linkUserId };
}

const jwksCaches = new Map<string, oauth.JWKSCacheInput>();
function jwksCacheFor(provider: Provider): oauth.JWKSCacheInput {
  let cache = jwksCaches.get(provider.config.id);
  if (!cache) jwksCaches.set(provider.config.id, (cache = {}));
  return cache;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Entra ID signs for the user's own tenant: `iss` is https://login.microsoftonline.com/{tid}/v2.0
 * with the token's `tid`. The expected issuer is built from that `tid` (a GUID), and a tenant
 * pinned by id must be the token's; the signature is then checked as for any provider.
 */
async function microsoftTenantServer(
  provider: Provider,
  server: oauth.AuthorizationServer,
  response: Response,
): Promise<oauth.AuthorizationServer> {
  const body = (await response.clone().json()) as { id_token?: unknown };
  const tid = typeof body.id_token === 'string' ? decodeJwt(body.id_token).tid : undefined;
  const pinned = provider.config.tenant;
  if (
    typeof tid !== 'string' ||
    !GUID.test(tid) ||
    (pinned && GUID.test(pinned) && pinned !== tid)
  ) {
    throw new FederationError('provider');
  }
  return { ...server, issuer: `https://login.microsoftonline.com/${tid}/v2.0` };
}

/** The claims we keep. Microsoft's `email` is not verified unless it says so (`xms_edov`). */
function fromIdToken(provider: Provider, claims: oauth.IDToken): Asserted {
  const verified =
    provider.config.type === 'microsoft'
      ? claims.xms_edov === true || claims.xms_edov === 'true'
      : claims.email_verified === true || claims.email_verified === 'true';
  const email = typeof claims.email === 'string' ? claims.email : null;
  const name = typeof claims.name === 'string' ? claims.name : null;
  return { subject: claims.sub, email, emailVerified: email !== null && verified, name };
}
