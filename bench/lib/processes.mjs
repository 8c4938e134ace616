// The wrangler processes of a run and the ports they listen on. A long-running one is the
// leader of its own process group and is stopped by that id, also on failure or Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WRANGLER, wranglerEnv } from './settings.mjs';
import { TREE, tmp } from './workspace.mjs';

const children = new Set();

/** A wrangler command run to completion in the snapshot; its output, or an error. */
export function runWrangler(args, what, cwd = TREE) {
  const res = spawnSync(process.execPath, [WRANGLER, ...args], {
    cwd,
    env: wranglerEnv,
    encoding: 'utf8',
    timeout: 120_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.status !== 0) {
    throw new Error(`${what} failed (${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`);
  }
  return `${res.stdout}\n${res.stderr}`;
}

/** A long-running wrangler in its own process group, output to a log file under tmp. */
export function startWrangler(name, args, cwd = TREE) {
  return startNode(name, [WRANGLER, ...args], cwd);
}

/** A long-running Node script in its own process group, output to a log file under tmp. */
export function startNode(name, args, cwd = TREE) {
  const logFile = join(tmp, `${name}.log`);
  const out = openSync(logFile, 'w');
  const child = spawn(process.execPath, args, {
    cwd,
    env: wranglerEnv,
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  child.name = name;
  child.logFile = logFile;
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function signalGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stop(child) {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  // workerd is wrangler's child in the same group: make sure nothing of it is left.
  signalGroup(child, 'SIGKILL');
}

/** Stops every process group started here that is still running. */
export async function stopAll() {
  await Promise.all([...children].map(stop));
}

process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await stopAll();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200; the milliseconds that took. Any other answer is an error. */
export async function waitReady(child, url, timeoutMs = 120_000) {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.name} exited early:\n${tail(child)}`);
    }
    let res;
    try {
      res = await fetch(url);
    } catch {
      // not listening yet
    }
    if (res) {
      const text = await res.text();
      if (res.ok) return performance.now() - started;
      throw new Error(`${child.name} answered ${url} with ${res.status}: ${text}\n${tail(child)}`);
    }
    await sleep(50);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs} ms:\n${tail(child)}`);
}

function tail(child, chars = 3000) {
  const text = readFileSync(child.logFile, 'utf8');
  return text.length > chars ? `...${text.slice(-chars)}` : text;
}
