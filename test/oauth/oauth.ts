// Helpers for the RFC 7009 / RFC 7662 endpoints: form bodies, introspection credentials.
import { call } from '../helpers';

export const FORM = 'application/x-www-form-urlencoded';

/** A POST with the fields form-encoded, as curl `-d`, requests `data=` and fetch send them. */
export function form(fields: Record<string, string>, headers: Record<string, string> = {}) {
  return {
    method: 'POST',
    headers: { 'Content-Type': FORM, ...headers },
    body: new URLSearchParams(fields).toString(),
  };
}

async function sha256Hex(value: string) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export const CLIENTS = {
  'orders-api': 'orders-secret-0123456789abcdefghijklmnopqrstu',
  'billing-api': 'billing-secret-0123456789abcdefghijklmnopqrst',
};

/** INTROSPECTION_CLIENTS holding only the two clients' hashes. */
export async function introspectionEnv(): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(CLIENTS).map(async ([id, secret]) => [id, `sha256:${await sha256Hex(secret)}`]),
  );
  return { INTROSPECTION_CLIENTS: JSON.stringify(Object.fromEntries(entries)) };
}

export const basic = (id: string, secret: string) => `Basic ${btoa(`${id}:${secret}`)}`;

/** POST /oauth/introspect as orders-api (or with `authorization`), with the test clients set. */
export async function introspect(
  token: string,
  authorization: string | null = basic('orders-api', CLIENTS['orders-api']),
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
  return call('/oauth/introspect', form({ token }, headers), {
    ...(await introspectionEnv()),
    ...extra,
  });
}

/** `{active}` of an introspection that must succeed. */
export async function isActive(token: string): Promise<boolean> {
  const res = await introspect(token);
  if (res.status !== 200) throw new Error(`introspect: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { active: boolean }).active;
}

export const revoke = (fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call('/oauth/revoke', form(fields, headers));
