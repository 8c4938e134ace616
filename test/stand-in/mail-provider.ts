// A local stand-in for Resend's HTTP API, running in Node (the vitest config process). The
// worker's real outbound fetch() calls arrive here through miniflare's `outboundService`.
//   POST https://mail.stand-in.test/emails   like Resend: 200 {"id"} or an error
//   GET  https://mail.stand-in.test/_sent    what it received, for the tests to read
// Addresses steer failures: bounce@... gets a 500, slow@... an answer after 3 s.
export const STAND_IN_HOST = 'mail.stand-in.test';
export const STAND_IN_KEY = 're_test_stand_in_key';

type Received = { authorization: string | null; contentType: string | null; body: unknown };
const sent: Received[] = [];

export async function mailStandIn(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.hostname !== STAND_IN_HOST) {
    return new Response('no network in tests', { status: 502 });
  }
  if (request.method === 'GET' && url.pathname === '/_sent') return Response.json(sent);
  if (request.method !== 'POST' || url.pathname !== '/emails')
    return new Response('not found', { status: 404 });
  const body = (await request.json()) as { to: string[] };
  sent.push({
    authorization: request.headers.get('authorization'),
    contentType: request.headers.get('content-type'),
    body,
  });
  if (request.headers.get('authorization') !== `Bearer ${STAND_IN_KEY}`) {
    return Response.json(
      { name: 'validation_error', message: 'API key is invalid' },
      { status: 401 },
    );
  }
  if (body.to.some((t) => t.startsWith('bounce@')))
    return Response.json({ name: 'internal_server_error' }, { status: 500 });
  if (body.to.some((t) => t.startsWith('slow@'))) await new Promise((r) => setTimeout(r, 3_000));
  return Response.json({ id: crypto.randomUUID() });
}
