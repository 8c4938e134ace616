// A provider whose every answer a test scripts, for the tests that try to break each check of
// the worker's OAuth 2 / OIDC client (test/federation/client.test.ts) with what a real provider
// never sends: a discovery document for another issuer, a JWKS that rotates, an ID token signed
// with HS256, a token_type that is not Bearer… Each test takes a fresh scenario id, so tests in
// parallel never see each other's answers. Under https://op.stand-in.test/{id}/ it answers
// what the test set for "METHOD /path" (404 otherwise) and records every request:
//   PUT https://op.stand-in.test/_answers/{id}   {"GET /jwks": {status?, headers?, body?, text?}}
//   GET https://op.stand-in.test/_requests/{id}  [{method, path, query, headers, body}]

export const SCRIPTED_HOST = 'op.stand-in.test';

export type Answer = {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (text/plain unless `headers` say otherwise). */
  text?: string;
};

export type Recorded = {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
};

const scenarios = new Map<string, { answers: Record<string, Answer>; requests: Recorded[] }>();

function scenario(id: string) {
  let s = scenarios.get(id);
  if (!s) scenarios.set(id, (s = { answers: {}, requests: [] }));
  return s;
}

export async function scriptedProvider(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const [, first = '', ...rest] = url.pathname.split('/');
  if (first === '_answers' && request.method === 'PUT') {
    Object.assign(scenario(rest.join('/')).answers, await request.json());
    return new Response(null, { status: 204 });
  }
  if (first === '_requests') return Response.json(scenario(rest.join('/')).requests);
  const s = scenario(first);
  const path = `/${rest.join('/')}`;
  s.requests.push({
    method: request.method,
    path,
    query: url.search,
    headers: Object.fromEntries(request.headers),
    body: await request.text(),
  });
  const answer = s.answers[`${request.method} ${path}`];
  if (!answer) return Response.json({ error: 'not_found' }, { status: 404 });
  const status = answer.status ?? 200;
  if (answer.text !== undefined) {
    return new Response(answer.text, {
      status,
      headers: { 'Content-Type': 'text/plain', ...answer.headers },
    });
  }
  return Response.json(answer.body ?? null, { status, headers: answer.headers });
}
