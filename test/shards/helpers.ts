import { env } from 'cloudflare:workers';
import { PASSWORD, login, register, uniqueEmail } from '../helpers';

/** The database of shard `n` (docs/sharding.md): DB for 0, SESSIONS_n otherwise. */
export const shardDb = (n: number): D1Database => (n === 0 ? env.DB : env.SESSIONS_1);

/** The database holding a session, from the marker of its id ("1.<uuid>" is shard 1). */
export const dbOfSession = (sessionId: string) => shardDb(sessionId.startsWith('1.') ? 1 : 0);

/** A registered user whose sessions go to shard `n`, signed in once. */
export async function signedInOn(n: number, tag = 'shard') {
  const account = await register(uniqueEmail(tag));
  await env.DB.prepare('UPDATE users SET session_shard = ? WHERE id = ?')
    .bind(n, account.user.id)
    .run();
  return { ...account, tokens: await login(account.email, PASSWORD) };
}

export async function count(db: D1Database, query: string, ...binds: unknown[]) {
  const row = await db
    .prepare(query)
    .bind(...binds)
    .first<{ n: number }>();
  return row!.n;
}
