import {
  ProviderError,
  endpoint,
  jsonObject,
  nonEmptyString,
  send,
  type ServerMetadata,
} from './protocol';

// OpenID Connect Discovery 1.0 for a provider configured by its issuer (type `oidc`): the
// document at {issuer}/.well-known/openid-configuration, cached per isolate for an hour (a
// failure is not cached, so the next sign-in asks again).

const DISCOVERY_TTL_MS = 3_600_000;
const discovered = new Map<string, { at: number; server: Promise<ServerMetadata> }>();

/** The metadata of `issuer`; `insecure` lets an http issuer be asked (local, not production). */
export function discover(issuer: string, insecure: boolean): Promise<ServerMetadata> {
  const cached = discovered.get(issuer);
  if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.server;
  const server = (async () => {
    const url = endpoint(issuer, 'issuer', insecure);
    url.pathname = `${url.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`;
    return discoveryResponse(issuer, await send(url, {}));
  })();
  discovered.set(issuer, { at: Date.now(), server });
  server.catch(() => discovered.delete(issuer));
  return server;
}

/**
 * OIDC Discovery 4.3: the `issuer` in the document MUST be the issuer it was fetched for, else
 * one provider could pass itself off as another (mix-up). Compared as URLs, so only a bare
 * origin's trailing slash may differ; ID tokens must then name the document's issuer exactly.
 */
export async function discoveryResponse(issuer: string, res: Response): Promise<ServerMetadata> {
  const doc = await jsonObject(res, 'discovery');
  if (!nonEmptyString(doc.issuer) || !URL.canParse(doc.issuer)) {
    throw new ProviderError('invalid_metadata', 'discovery has no "issuer" URL');
  }
  if (new URL(doc.issuer).href !== new URL(issuer).href) {
    throw new ProviderError(
      'issuer_mismatch',
      `discovery "issuer" ${JSON.stringify(doc.issuer)} is not ${JSON.stringify(issuer)}`,
    );
  }
  return { ...doc, issuer: doc.issuer };
}
