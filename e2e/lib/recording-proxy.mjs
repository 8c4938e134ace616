// An HTTP proxy on 127.0.0.1 in front of the auth worker (Vite's proxy points at it): it records
// every refresh the worker answered (status and problem code) and can lose the answers to the next
// refreshes: the worker has rotated, but the connection closes before a byte of the answer goes
// back, as when a phone's network drops mid-request.
import { createServer, request } from 'node:http';

const REFRESH = '/auth/refresh';
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export function startRecordingProxy(target) {
  const refreshes = []; // { status, code, lost }
  let toLose = 0;

  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url, target);
      const isRefresh = url.pathname === REFRESH;
      const lose = isRefresh && toLose > 0;
      if (lose) toLose--;
      const upstream = request(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host } },
        (answer) => {
          const body = [];
          answer.on('data', (chunk) => body.push(chunk));
          answer.on('end', () => {
            const bytes = Buffer.concat(body);
            if (isRefresh)
              refreshes.push({ status: answer.statusCode, code: code(bytes), lost: lose });
            if (lose) return req.socket.destroy();
            const headers = [];
            for (let i = 0; i < answer.rawHeaders.length; i += 2) {
              if (HOP_BY_HOP.has(answer.rawHeaders[i].toLowerCase())) continue;
              headers.push(answer.rawHeaders[i], answer.rawHeaders[i + 1]);
            }
            res.writeHead(answer.statusCode, [...headers, 'Content-Length', String(bytes.length)]);
            res.end(bytes);
          });
        },
      );
      upstream.on('error', () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });

  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        /** Every refresh the worker answered so far, in order. */
        refreshes,
        /** Drops the answers to the next `n` refreshes (after the worker handled them). */
        loseNextRefreshes(n) {
          toLose += n;
        },
        close: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    );
  });
}

function code(bytes) {
  try {
    return JSON.parse(bytes.toString()).code;
  } catch {
    return undefined;
  }
}
