import { vi } from 'vitest';
import { createAuthClient } from '../src/index.ts';
import type { AuthEvent, Mode } from '../src/types.ts';
import { fakeWorker, ORIGIN, type FakeWorker } from './fake-worker.ts';

type Fetch = FakeWorker['fetch'];

export const EMAIL = 'ana@example.com';
export const PASSWORD = 'correct horse battery staple';

/** Moves Date.now() (only Date: timers stay real, so the client's waits still run). */
export function advance(seconds: number) {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

let browsers = 0;

/**
 * A worker with one registered account, and a function that opens a "tab": a client on it whose
 * events are recorded. Tabs of one call share the browser's cookie jar and, in cookie mode, a
 * BroadcastChannel of their own (each browser() gets its own base URL, so tests do not meet).
 */
export async function browser(
  mode: Mode = 'cookie',
  options: Parameters<typeof fakeWorker>[0] = {},
) {
  const worker = fakeWorker(options);
  const baseUrl = `${ORIGIN.replace('auth', `auth-${++browsers}`)}`;
  /** `wrap` puts something between the client and the worker. */
  const open = (wrap: (fetch: Fetch) => Fetch = (fetch) => fetch) => {
    const events: AuthEvent[] = [];
    const fetch = wrap(mode === 'cookie' ? worker.browserFetch : worker.fetch);
    const client = createAuthClient({ baseUrl, mode, fetch });
    client.onChange((event) => events.push(event));
    return { client, events };
  };
  await open().client.signUp({ email: EMAIL, password: PASSWORD });
  return { worker, open };
}

export type Tab = ReturnType<Awaited<ReturnType<typeof browser>>['open']>;
export type { FakeWorker };

/** Lets BroadcastChannel messages (macrotasks in Node) arrive. */
export const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));
