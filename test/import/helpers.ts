import { env } from 'cloudflare:workers';
import { call, json, signedInAdmin, withBearer } from '../helpers';

/** The Python-made hashes from vitest.config.ts, all of one password. */
export function fixtures(): { password: string; hashes: Record<string, string> } {
  const parsed = JSON.parse(env.IMPORT_FIXTURES) as {
    password: string;
    hashes: Record<string, string>;
    error?: string;
  };
  if (parsed.error) throw new Error(`no Python-made hashes: ${parsed.error}`);
  return parsed;
}

let admin: Promise<string> | undefined;
/** One admin's access token for the file. */
export const adminToken = () => (admin ??= signedInAdmin().then((a) => a.tokens.access_token));

export async function importBatch(users: unknown[], token?: string) {
  return call('/admin/users/import', withBearer(token ?? (await adminToken()), json({ users })));
}

export async function storedHash(email: string) {
  const row = await env.DB.prepare('SELECT password_hash FROM users WHERE email = ?')
    .bind(email)
    .first<{ password_hash: string }>();
  return row?.password_hash;
}

export async function auditOf(type: string, userId?: string) {
  const { results } = await env.DB.prepare(
    `SELECT user_id, detail FROM audit_events WHERE type = ? ${userId ? 'AND user_id = ?' : ''}`,
  )
    .bind(...(userId ? [type, userId] : [type]))
    .all<{ user_id: string; detail: string }>();
  return results;
}
