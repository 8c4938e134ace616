// A page on another origin than the worker's, as a phishing site would be: it asks the browser
// for an assertion with options it was handed (fetched from the worker's API by its server, as a
// relaying phisher would) and gives back what the worker's /auth/passkey/verify takes. Served on
// 127.0.0.1:<port> and reached as http://localhost:<port> (same site as the worker, another
// origin) or http://<name>.localhost:<port> (Chromium resolves *.localhost to loopback itself).
import { createServer } from 'node:http';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Somewhere else</title></head>
<body><h1>Somewhere else</h1><script>
const bytes = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const text = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
window.assertWith = async (options) => {
  const c = await navigator.credentials.get({ publicKey: { ...options, challenge: bytes(options.challenge) } });
  const r = c.response;
  return { id: c.id, type: c.type, response: {
    clientDataJSON: text(r.clientDataJSON), authenticatorData: text(r.authenticatorData),
    signature: text(r.signature), userHandle: r.userHandle ? text(r.userHandle) : null } };
};
</script></body></html>`;

export function serveElsewhere(port) {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && new URL(req.url, 'http://x').pathname === '/') {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end(PAGE);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        port,
        origin: (host) => `http://${host}:${port}`,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}
