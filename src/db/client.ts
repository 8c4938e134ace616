import { drizzle } from 'drizzle-orm/d1';
import * as schema from './schema';

const instances = new WeakMap<D1Database, ReturnType<typeof create>>();
const create = (d1: D1Database) => drizzle(d1, { schema });

/** One drizzle instance per D1 binding object: building it maps the schema each time. */
export function database(d1: D1Database) {
  let db = instances.get(d1);
  if (!db) {
    db = create(d1);
    instances.set(d1, db);
  }
  return db;
}
export type Database = ReturnType<typeof database>;
