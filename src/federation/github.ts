import type { Asserted } from './identities';
import { FederationError } from './identities';
import { signal, type Provider } from './providers';

type GitHubUser = { id: number; login: string; name: string | null };
type GitHubEmail = { email: string; primary: boolean; verified: boolean };

/**
 * GitHub is OAuth 2 without OpenID Connect: who signed in comes from its REST API, `/user` for
 * the stable numeric id and `/user/emails` for the address. Only the primary email, and only
 * when GitHub has verified it, is taken as the user's (an unverified one is no proof of a
 * mailbox).
 */
export async function githubIdentity(provider: Provider, accessToken: string): Promise<Asserted> {
  const api = provider.config.endpoints?.api ?? 'https://api.github.com';
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${api}${path}`, {
      headers: {
        Authorization: `Bearer ${accessToken}`,
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'edge-auth-worker',
      },
      signal: signal(),
    });
    if (!res.ok) throw new FederationError('provider');
    return (await res.json()) as T;
  };
  const [user, emails] = await Promise.all([
    get<GitHubUser>('/user'),
    get<GitHubEmail[]>('/user/emails'),
  ]);
  if (typeof user.id !== 'number' || !Array.isArray(emails)) throw new FederationError('provider');
  const primary = emails.find((e) => e.primary && e.verified && typeof e.email === 'string');
  return {
    subject: String(user.id),
    email: primary?.email ?? null,
    emailVerified: primary !== undefined,
    name: user.name ?? user.login ?? null,
  };
}
