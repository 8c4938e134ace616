// A page on another origin than the worker's, as a phishing site would be: it asks the browser
// for an assertion with options it was handed (fetched from the worker's API by its server, as a
// relaying phisher would) and gives back what the worker's /auth/passkey/verify takes. Served on
// 127.0.0.1:<port> and reached as http://localhost:<port> (same site as the worker, another
// origin) or http://<name>.localhost:<port> (Chromium resolves *.localhost to loopback itself).
import { servePage } from './page-server.mjs';

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

export async function serveElsewhere(port) {
  const served = await servePage(port, PAGE);
  return { ...served, origin: (host) => `http://${host}:${port}` };
}
