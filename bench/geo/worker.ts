// The worker of `npm run bench -- --geo` (bench/lib/geo.mjs): the real worker's fetch, with its
// D1 and KV bindings wrapped by the latency model (model.ts) for a client far from the primary.
// Each response carries what the request waited for (X-Geo-Usage); the client times it.
// Two bench-only routes, never in the real worker: /__geo/admin makes a user an admin (the admin
// row needs one), /__geo/write-batch times D1's local write rate (`--capacity`).
import worker from '../../src/index';
import { emptyUsage, FAR_CLIENT, geoBindings } from './model';

/** When this isolate last read each KV key: a location's KV cache, warm across requests. */
const kvSeen = new Map<string, number>();

type GeoEnv = Env & { DB: D1Database; KV: KVNamespace };

async function writeBatches(db: D1Database, n: number, size: number) {
  await db.exec('CREATE TABLE IF NOT EXISTS geo_writes (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  for (let i = 0; i < n; i++) {
    const key = crypto.randomUUID();
    // Like a refresh rotation: an UPDATE of one row and INSERTs, one transaction.
    const statements = [db.prepare('INSERT INTO geo_writes (k, v) VALUES (?, 0)').bind(key)];
    for (let j = 1; j < size; j++) {
      statements.push(db.prepare('UPDATE geo_writes SET v = v + 1 WHERE k = ?').bind(key));
    }
    await db.batch(statements);
  }
}

export default {
  async fetch(request: Request, env: GeoEnv, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/__geo/admin' && request.method === 'POST') {
      const { email } = (await request.json()) as { email: string };
      await env.DB.prepare("UPDATE users SET role = 'admin' WHERE email = ?").bind(email).run();
      return new Response(null, { status: 204 });
    }
    if (url.pathname === '/__geo/write-batch') {
      const n = Math.min(10_000, Number(url.searchParams.get('n') ?? '1') | 0);
      const size = Math.min(20, Math.max(1, Number(url.searchParams.get('size') ?? '4') | 0));
      await writeBatches(env.DB, n, size);
      return new Response('ok');
    }
    const usage = emptyUsage();
    const model = geoBindings(env, usage, FAR_CLIENT, kvSeen);
    const res = await worker.fetch(request, { ...env, ...model } as Env, ctx);
    const body = await res.arrayBuffer();
    const bodiless = request.method === 'HEAD' || [101, 204, 205, 304].includes(res.status);
    const out = new Response(bodiless ? null : body, res);
    out.headers.set('X-Geo-Usage', JSON.stringify(usage));
    return out;
  },
};
