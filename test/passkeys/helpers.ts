import { env } from 'cloudflare:workers';
import {
  call,
  json,
  mailedToken,
  signedIn as signedInUnconfirmed,
  withBearer,
  type Tokens,
} from '../helpers';
import { Authenticator, type Algorithm, type Knobs } from './authenticator.mjs';

export type CreationOptions = {
  challenge: string;
  user: { id: string; name: string };
  rp: { id: string };
};

export const post = (path: string, body?: unknown, token?: string) => {
  const init: RequestInit = body === undefined ? { method: 'POST' } : json(body);
  return call(path, token ? withBearer(token, init) : init);
};

/** Confirms the address through the mailed link, as its owner would (once). */
export async function confirm(email: string) {
  const row = await env.DB.prepare('SELECT email_verified_at AS at FROM users WHERE email = ?')
    .bind(email)
    .first<{ at: number | null }>();
  if (row?.at) return;
  const token = await mailedToken(email, 'verify-email');
  const res = await call('/auth/email/verify', json({ token }));
  if (res.status !== 200) throw new Error(`confirm: ${res.status} ${await res.text()}`);
}

/** A user with a confirmed address, just signed in: one who may add a passkey. */
export async function signedIn() {
  const account = await signedInUnconfirmed();
  await confirm(account.email);
  return account;
}

export async function creationOptions(token: string): Promise<CreationOptions> {
  const res = await post('/users/me/passkeys/options', undefined, token);
  if (res.status !== 200) throw new Error(`options: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreationOptions;
}

export async function requestOptions(email?: string) {
  const res = await post('/auth/passkey/options', email === undefined ? undefined : { email });
  if (res.status !== 200) throw new Error(`options: ${res.status} ${await res.text()}`);
  return (await res.json()) as { challenge: string; rpId: string };
}

/** A signed-in user with one passkey registered on `authenticator`. */
export async function withPasskey(
  algorithm: Algorithm = 'ES256',
  authenticator = new Authenticator(env.ISSUER),
  account?: { email: string; user: { id: string }; tokens: Tokens },
) {
  const who = account ?? (await signedIn());
  await confirm(who.email);
  const options = await creationOptions(who.tokens.access_token);
  const { json: response } = await authenticator.create(options, {}, algorithm);
  const res = await post('/users/me/passkeys', { response }, who.tokens.access_token);
  if (res.status !== 201) throw new Error(`register passkey: ${res.status} ${await res.text()}`);
  const passkey = (await res.json()) as { id: string; name: string };
  return { ...who, authenticator, passkey };
}

/** Options, the authenticator's assertion, then /auth/passkey/verify. */
export async function signInWith(
  authenticator: Authenticator,
  knobs: Knobs = {},
  email?: string,
  credential = authenticator.credentials[0],
) {
  const options = await requestOptions(email);
  const response = await authenticator.get(options, credential, knobs);
  return post('/auth/passkey/verify', { response });
}

export async function countRows(table: string, where: string, ...binds: unknown[]) {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)
    .bind(...binds)
    .first<{ n: number }>();
  return row!.n;
}
