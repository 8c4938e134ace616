import { ne } from 'drizzle-orm';
import { database } from '../db/client';
import { signingKeys, type SigningKeyRow } from '../db/schema';

/** The keys in service (next, current, retiring): what the ring and the admin list show. */
export function liveKeys(d1: D1Database): Promise<SigningKeyRow[]> {
  return database(d1).select().from(signingKeys).where(ne(signingKeys.state, 'gone'));
}

/** Whether any key was ever stored (a `gone` row counts): JWT_SIGNING_KEYS is imported once. */
export async function storeWasUsed(d1: D1Database): Promise<boolean> {
  return (await d1.prepare('SELECT 1 FROM signing_keys LIMIT 1').first()) !== null;
}
