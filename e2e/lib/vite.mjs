// The example app (examples/vite-app) under Vite's real dev server, as `npm run dev:vite-app`
// starts it, on localhost:<port> with its proxy pointed at the running auth worker.
import { join } from 'node:path';
import { root, startProcess, waitFor } from './harness.mjs';
import { tail } from './worker.mjs';

const viteBin = join(root, 'node_modules/vite/bin/vite.js');

export async function startViteApp({ port, authUrl }) {
  const proc = startProcess(
    'vite-app',
    process.execPath,
    [viteBin, join(root, 'examples/vite-app'), '--port', String(port), '--strictPort'],
    { env: { ...process.env, AUTH_WORKER_URL: authUrl, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  const url = `http://localhost:${port}`;
  try {
    let exited = false;
    proc.exited.then(() => (exited = true));
    await waitFor(
      `Vite at ${url}`,
      async () => {
        if (exited) throw new Error(`Vite exited early; see ${proc.logFile}`);
        const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
        return res.status === 200 && (await res.text()).includes('/main.js');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  } catch (err) {
    await proc.stop();
    err.message += `\n--- last lines of ${proc.logFile} ---\n${tail(proc.output(), 30)}`;
    throw err;
  }
  return { url, pid: proc.pid, stop: () => proc.stop() };
}
