import { env } from 'cloudflare:workers';
import { PASSWORD, call, json, mailedToken, withBearer } from '../helpers';

/** A POST with a bearer token and a JSON body. */
export const post = (token: string, path: string, body: unknown) =>
  call(path, withBearer(token, json(body)));

export const requestChange = (token: string, newEmail: string, password = PASSWORD) =>
  post(token, '/users/me/email', { new_email: newEmail, password });

export const confirmChange = (token: string) => call('/auth/email/change/confirm', json({ token }));

export const changeToken = (newEmail: string) => mailedToken(newEmail, 'confirm-email-change');

export async function auditTypes(userId: string) {
  const { results } = await env.DB.prepare(
    'SELECT type FROM audit_events WHERE user_id = ? ORDER BY id',
  )
    .bind(userId)
    .all<{ type: string }>();
  return results.map((r) => r.type);
}

export async function count(sql: string, ...params: unknown[]) {
  const row = await env.DB.prepare(sql)
    .bind(...params)
    .first<{ n: number }>();
  return row!.n;
}
