import { setTimeout as sleep } from 'node:timers/promises';
import { RESTARTED, devRestarts } from './dev-restarts.mjs';

/** A JSON POST; one cut by a wrangler dev restart is sent again (it is counted). */
export async function post(base, path, body, headers = {}) {
  let res;
  let text;
  for (let attempt = 1; ; attempt++) {
    res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    text = await res.text();
    if (res.status !== 503 || !RESTARTED.test(text) || attempt === 5) break;
    devRestarts.hits++;
    await sleep(500);
  }
  try {
    return { status: res.status, body: text ? JSON.parse(text) : null };
  } catch {
    return { status: res.status, body: text };
  }
}
