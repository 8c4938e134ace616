import { describe, expect, it, vi } from 'vitest';
import { call, expectProblem, ORIGIN } from './helpers';

describe('request guards', () => {
  it('answers malformed JSON with 400 invalid_request', async () => {
    const res = await call('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"email":',
    });
    await expectProblem(res, 400, 'invalid_request');
  });

  it.each(['null', '[]', '42', '"text"'])(
    'answers a non-object JSON body (%s) with 400',
    async (body) => {
      const res = await call('/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      await expectProblem(res, 400, 'invalid_request');
    },
  );

  it.each([
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset=utf-16',
    // Found by the property tests: once accepted here and refused by the validator, a 500.
    'application/json ;charset=utf-8',
    'application/json;charset =utf-8',
  ])('answers Content-Type %s with 415', async (type) => {
    const res = await call('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': type },
      body: '{}',
    });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('answers a body without a Content-Type with 415', async () => {
    const res = await call('/auth/login', { method: 'POST', body: new Uint8Array([123, 125]) });
    await expectProblem(res, 415, 'unsupported_media_type');
  });

  it('answers a body over 16 KiB with 413, with or without Content-Length', async () => {
    const big = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(17 * 1024) });
    const sized = await call('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: big,
    });
    await expectProblem(sized, 413, 'payload_too_large');

    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
        controller.close();
      },
    });
    const chunked = await call('/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stream,
    });
    await expectProblem(chunked, 413, 'payload_too_large');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const body = await expectProblem(await call('/nope'), 404, 'not_found');
    expect(body).toMatchObject({ type: 'urn:edge-auth:problem:not_found', title: 'Not found' });
  });
});

describe('X-Request-Id', () => {
  it('keeps a sane client id and echoes it', async () => {
    const res = await call('/health/live', { headers: { 'X-Request-Id': 'abc-123.x:y' } });
    expect(res.headers.get('X-Request-Id')).toBe('abc-123.x:y');
  });

  it.each(['', 'a'.repeat(129), 'has space', 'line\u2028break', '<script>'])(
    'replaces an unusable id (%s) with a UUID',
    async (id) => {
      const res = await call('/health/live', { headers: { 'X-Request-Id': id } });
      expect(res.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    },
  );

  it('is in the problem body and in the access log line', async () => {
    const log = vi.spyOn(console, 'log');
    const res = await call(
      '/nope',
      { headers: { 'X-Request-Id': 'trace-me' } },
      { LOG_LEVEL: 'info' },
    );
    const body = (await res.json()) as { request_id: string };
    expect(body.request_id).toBe('trace-me');
    const lines = log.mock.calls.map(([line]) => JSON.parse(String(line)));
    expect(lines).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        request_id: 'trace-me',
        path: '/nope',
        status: 404,
      }),
    );
    log.mockRestore();
  });
});

describe('security headers and CORS', () => {
  it('sends HSTS, nosniff and a deny-all CSP on JSON responses', async () => {
    const res = await call('/health/live');
    expect(res.headers.get('Strict-Transport-Security')).toMatch(
      /max-age=\d{8}; includeSubDomains/,
    );
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(res.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
  });

  it('echoes an allowed origin with credentials', async () => {
    const res = await call('/health/live', { headers: { Origin: ORIGIN } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN);
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBe('true');
    expect(res.headers.get('Vary')).toContain('Origin');
  });

  it.each([
    'https://evil.com',
    'null',
    'https://app.example.com.evil.com',
    'https://evilapp.example.com',
    'http://app.example.com',
  ])('sends no CORS header to %s', async (origin) => {
    const res = await call('/health/live', { headers: { Origin: origin } });
    expect(res.headers.get('Access-Control-Allow-Origin')).toBeNull();
    expect(res.headers.get('Access-Control-Allow-Credentials')).toBeNull();
    const preflight = await call('/auth/login', {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('Access-Control-Allow-Origin')).toBeNull();
  });

  it('answers an allowed preflight', async () => {
    const res = await call('/auth/login', {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('Access-Control-Allow-Origin')).toBe(ORIGIN);
  });
});

describe('unexpected errors', () => {
  it('answer 500 problem+json with the request id and no internals', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    // Well-formed per the schema, but not an importable RSA key: fails deep inside WebCrypto.
    const bogus = {
      kty: 'RSA',
      kid: 'k',
      n: 'A'.repeat(342),
      e: 'AQAB',
      d: 'AA',
      p: 'AA',
      q: 'AA',
      dp: 'AA',
      dq: 'AA',
      qi: 'AA',
    };
    const res = await call(
      '/.well-known/jwks.json',
      { headers: { 'X-Request-Id': 'boom' } },
      {
        JWT_SIGNING_KEYS: JSON.stringify({ keys: [bogus] }),
      },
    );
    const body = await expectProblem(res, 500, 'internal_error');
    expect(body).toMatchObject({ request_id: 'boom', detail: 'Something went wrong on our side.' });
    expect(JSON.stringify(body)).not.toMatch(/stack|at |Error:/);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });
});

describe('Swagger UI’s static files', () => {
  it('are served with the same security headers and X-Request-Id as every response', async () => {
    const res = await call('/docs-assets/swagger-ui-dist/swagger-ui.css', {
      headers: { 'X-Request-Id': 'asset-1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^text\/css/);
    expect(res.headers.get('X-Request-Id')).toBe('asset-1');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
    expect(res.headers.get('Strict-Transport-Security')).toMatch(/max-age=\d+; includeSubDomains/);
    expect(res.headers.get('Content-Security-Policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('Cross-Origin-Resource-Policy')).toBe('same-origin');
    expect(res.headers.get('Cache-Control')).toBe('public, max-age=86400');
    expect((await res.text()).length).toBeGreaterThan(1000);
  });

  it('answer a missing file with a problem, not an empty 404 a browser caches', async () => {
    const res = await call('/docs-assets/nope.js', { headers: { 'X-Request-Id': 'asset-2' } });
    const body = await expectProblem(res, 404, 'not_found');
    expect(body.request_id).toBe('asset-2');
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
  });
});

describe('problem titles are written for people', () => {
  it.each([
    ['csrf_rejected', /allowed site/],
    ['invalid_mfa_code', /^Wrong verification code$/],
    ['invalid_current_password', /^Wrong current password$/],
  ])('%s', async (code, title) => {
    const { TITLES } = await import('../src/errors');
    expect(TITLES[code as keyof typeof TITLES]).toMatch(title);
  });

  it('every code has its own title, a phrase and not an identifier', async () => {
    const { TITLES } = await import('../src/errors');
    for (const [code, title] of Object.entries(TITLES)) {
      expect(title, code).toMatch(/^[A-Z][^_]+[^.]$/);
    }
  });
});
