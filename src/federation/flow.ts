import { and, eq, gt, isNull } from 'drizzle-orm';
import { decodeJwt, type JWTPayload } from 'jose';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { randomToken, sha256, uuidv7 } from '../crypto/tokens';
import { database } from '../db/client';
import { oauthStates } from '../db/schema';
import type { AppEnv } from '../env';
import { authorizationCode } from './callback';
import { githubIdentity } from './github';
import { idTokenAlgorithms, verifyIdToken } from './id-token';
import { FederationError, type Asserted } from './identities';
import { providerKeys } from './jwks';
import { AuthorizationDenied, endpoint, type ServerMetadata } from './protocol';
import type { Provider } from './providers';
import { exchangeCode } from './token-endpoint';

// The authorization-code flow with PKCE (RFC 6749, RFC 7636, OIDC Core 3.1), with our own
// small client on WebCrypto, fetch and jose: a start that remembers state, nonce and verifier
// server-side for one browser, and a callback that spends them once. Every check of the
// provider's answers (README, "Sign-in with identity providers", lists them) is in callback.ts,
// token-endpoint.ts, id-token.ts, jwks.ts and discovery.ts.

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
  const authorize = endpoint(
    server.authorization_endpoint,
    'authorization_endpoint',
    provider.insecure,
  );
  // 32 random bytes each, base64url: 43 characters, the verifier's minimum (RFC 7636 4.1).
  const state = randomToken(32);
  const nonce = randomToken(32);
  const codeVerifier = randomToken(32);
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
  const params = authorize.searchParams;
  params.set('client_id', provider.config.client_id);
  params.set('redirect_uri', redirectUri(c, provider));
  params.set('response_type', 'code');
  params.set('scope', provider.scopes);
  params.set('state', state);
  // S256: BASE64URL(SHA-256(verifier)), which is what sha256() returns.
  params.set('code_challenge', await sha256(codeVerifier));
  params.set('code_challenge_method', 'S256');
  if (provider.oidc) params.set('nonce', nonce);
  if (provider.responseMode) params.set('response_mode', provider.responseMode);
  return authorize.href;
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
 * checked (id-token.ts: signature against the provider's JWKS, cached per isolate, iss, aud,
 * azp, nonce, exp, iat), GitHub's verified primary email from its API. A provider's `error`
 * is `denied`; anything else wrong with its answers is `provider`.
 */
export async function finishCallback(
  c: Context<AppEnv>,
  provider: Provider,
  params: URLSearchParams,
) {
  const flow = await spendState(c, provider, params.get('state'));
  let asserted: Asserted;
  try {
    let server = await provider.server();
    const code = authorizationCode(server, params, params.get('state')!);
    const tokens = await exchangeCode({
      tokenEndpoint: server.token_endpoint,
      clientId: provider.config.client_id,
      clientSecret: await provider.clientSecret(),
      code,
      redirectUri: redirectUri(c, provider),
      codeVerifier: flow.codeVerifier,
      oidc: provider.oidc,
      insecure: provider.insecure,
    });
    if (!provider.oidc) {
      asserted = await githubIdentity(provider, tokens.access_token);
    } else {
      const idToken = tokens.id_token!;
      if (provider.config.type === 'microsoft') {
        server = microsoftTenantServer(provider, server, idToken);
      }
      const claims = await verifyIdToken(idToken, {
        issuer: server.issuer,
        clientId: provider.config.client_id,
        nonce: flow.nonce,
        algorithms: idTokenAlgorithms(server.id_token_signing_alg_values_supported),
        keys: providerKeys(provider.config.id, server.jwks_uri, provider.insecure),
      });
      asserted = fromIdToken(provider, claims);
    }
  } catch (err) {
    if (err instanceof FederationError) throw err;
    c.var.log.warn('identity provider sign-in failed', {
      provider: provider.config.id,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      code: (err as { code?: string }).code,
    });
    throw new FederationError(err instanceof AuthorizationDenied ? 'denied' : 'provider');
  }
  return { asserted, returnTo: flow.returnTo, linkUserId: flow.linkUserId };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Entra ID signs for the user's own tenant: `iss` is https://login.microsoftonline.com/{tid}/v2.0
 * with the token's `tid`. The expected issuer is built from that `tid` (a GUID), and a tenant
 * pinned by id must be the token's; the signature is then checked as for any provider.
 */
function microsoftTenantServer(
  provider: Provider,
  server: ServerMetadata,
  idToken: string,
): ServerMetadata {
  const tid = decodeJwt(idToken).tid;
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
function fromIdToken(provider: Provider, claims: JWTPayload): Asserted {
  const verified =
    provider.config.type === 'microsoft'
      ? claims.xms_edov === true || claims.xms_edov === 'true'
      : claims.email_verified === true || claims.email_verified === 'true';
  const email = typeof claims.email === 'string' ? claims.email : null;
  const name = typeof claims.name === 'string' ? claims.name : null;
  return { subject: claims.sub!, email, emailVerified: email !== null && verified, name };
}
