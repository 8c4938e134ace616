// What each client really puts on the wire for each bodiless form, seen by a local echo server:
// the real-clients phase is only as good as its clients' forms.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outDir } from './harness.mjs';
import { BODILESS, CLIENTS } from './clients.mjs';

/**
 * Sends every client x form to a local echo server and checks what arrives: no bodiless form
 * carries a byte, each Content-Length: 0 or Content-Type it names is there where the client can
 * send it, and across the clients each bodiless form really occurs for POST, DELETE and GET.
 */
export async function wireForms(clients) {
  const seen = [];
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk) => (bytes += chunk.length));
    req.on('end', () => {
      seen.push({
        id: req.url.slice(1),
        length: req.headers['content-length'],
        type: req.headers['content-type'],
        chunked: req.headers['transfer-encoding'] === 'chunked',
        bytes,
      });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const lines = [];
  try {
    const base = `http://127.0.0.1:${server.address().port}`;
    for (const method of ['POST', 'DELETE', 'GET']) {
      for (const name of CLIENTS) {
        for (const form of BODILESS) {
          const id = `${method}-${name}-${form}`;
          const res = await clients.send(name, { method, url: `${base}/${id}`, form });
          assert.equal(res.status, 200, `${id}: ${res.error ?? res.status}`);
          const wire = seen.find((s) => s.id === id);
          assert.equal(wire.bytes, 0, `${id} sent a body`);
          assert.ok(!wire.chunked, `${id} sent a chunked body`);
          if (form === 'json0') assert.equal(wire.type, 'application/json', id);
          if (form !== 'json0') assert.equal(wire.type, undefined, id);
          Object.assign(wire, { method, name, form });
          lines.push(
            `${id.padEnd(24)} ${wire.length === undefined ? '(no Content-Length)' : `Content-Length: ${wire.length}`}${wire.type ? `, Content-Type: ${wire.type}` : ''}`,
          );
        }
      }
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  for (const method of ['POST', 'DELETE', 'GET']) {
    const of = seen.filter((s) => s.method === method);
    assert.ok(
      of.some((s) => s.length === undefined && !s.type),
      `${method}: no client sent it without Content-Length and Content-Type`,
    );
    assert.ok(
      of.some((s) => s.length === '0' && !s.type),
      `${method}: no client sent Content-Length: 0`,
    );
    assert.ok(
      of.some((s) => s.type === 'application/json'),
      `${method}: no client sent Content-Type: application/json with zero bytes`,
    );
  }
  writeFileSync(join(outDir, 'real-clients-wire.txt'), `${lines.join('\n')}\n`);
  return 'test-output/e2e/real-clients-wire.txt';
}
