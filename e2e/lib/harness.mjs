// The small runner behind `npm run test:e2e`: phases with time limits, named checks, child
// processes in their own process groups (stopped by PID, also on failure or Ctrl-C), and a
// summary at the end. No dependencies beyond Node.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const outDir = join(root, 'test-output', 'e2e');
export const logDir = join(outDir, 'logs');

// ---------------------------------------------------------------------------------------------
// Child processes

/** Every process group we started and have not stopped yet, by leader PID. */
const groups = new Map();

/** Kills every group we still own, synchronously (usable from an `exit` handler). */
export function killAllNow(signal = 'SIGKILL') {
  for (const [pid] of groups) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
  groups.clear();
}

/** Temp directories (worker state) removed at exit whatever happened. */
const tempDirs = new Set();

export function makeTempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

process.on('exit', () => {
  killAllNow();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    console.error(`\n[e2e] ${signal}: stopping every server this suite started`);
    killAllNow();
    process.exit(130);
  });
}

/**
 * Spawns `command` as the leader of a new process group, its output appended to
 * test-output/e2e/logs/<name>.log. Returns a handle whose stop() ends the whole group; with
 * `stdin: 'pipe'` also its stdin and stdout streams, for a driver spoken to line by line.
 */
export function startProcess(
  name,
  command,
  args,
  { cwd = root, env = process.env, stdin = 'ignore' } = {},
) {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'w' });
  const child = spawn(command, args, {
    cwd,
    env,
    detached: true, // own process group: kill(-pid) reaches wrangler, workerd and esbuild
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk) => {
    output += chunk;
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
    log.write(chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', (error) => resolve({ code: null, signal: null, error }));
  });
  if (child.pid) groups.set(child.pid, name);
  let stopped;
  return {
    name,
    pid: child.pid,
    logFile,
    exited,
    stdin: child.stdin,
    stdout: child.stdout,
    output: () => output,
    /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once the leader has exited. */
    stop(graceMs = 5_000) {
      stopped ??= (async () => {
        if (!child.pid || !groups.has(child.pid)) return;
        const signalGroup = (signal) => {
          try {
            process.kill(-child.pid, signal);
          } catch {
            // already gone
          }
        };
        signalGroup('SIGTERM');
        const timer = new Promise((r) => setTimeout(r, graceMs, 'timeout'));
        if ((await Promise.race([exited, timer])) === 'timeout') signalGroup('SIGKILL');
        // workerd children may outlive the leader by a moment: make sure the group is gone.
        signalGroup('SIGKILL');
        groups.delete(child.pid);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
        log.end();
      })();
      return stopped;
    },
  };
}

/** Runs a process to completion with a time limit; resolves { code, stdout, stderr }. */
export function runProcess(command, args, { input, timeoutMs = 30_000, cwd = root, env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid) groups.set(child.pid, command);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
      reject(new Error(`${command} ${args.join(' ')} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      reject(err);
    });
    // 'close', not 'exit': only then has all of the child's output been read.
    child.on('close', (code) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
    // A child that exits without reading its stdin (curl) makes the write fail with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

// ---------------------------------------------------------------------------------------------
// Ports and waiting

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** True while something accepts connections on 127.0.0.1:port. */
export function portInUse(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws with `label` after `timeoutMs`. */
export async function waitFor(label, fn, { timeoutMs = 30_000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${label}${last ? `: ${last.message}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

export function withTimeout(promise, ms, label) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label} took longer than ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Phases, checks and the summary

const results = []; // { phase, name, ok, ms, error?, note? }
let currentPhase = '(setup)';

/**
 * One named assertion group inside a phase. A failing check is recorded and rethrown, so the
 * rest of its phase (which depends on it) is skipped; the next phase still runs.
 */
export async function check(name, fn) {
  const started = Date.now();
  try {
    const note = await fn();
    results.push({ phase: currentPhase, name, ok: true, ms: Date.now() - started, note });
    console.log(`  \u2714 ${name}${typeof note === 'string' ? ` (${note})` : ''}`);
  } catch (error) {
    results.push({ phase: currentPhase, name, ok: false, ms: Date.now() - started, error });
    console.log(`  \u2718 ${name}\n${indent(describe(error), 6)}`);
    error.recorded = true;
    throw error;
  }
}

/** A remark that is neither a pass nor a failure (shown in the summary). */
export function note(text) {
  results.push({ phase: currentPhase, name: text, ok: true, note: true, warn: true });
  console.log(`  ! ${text}`);
}

/** Runs `fn` with a time limit; its failure is recorded and does not stop the suite. */
export async function phase(name, timeoutMs, fn) {
  currentPhase = name;
  const started = Date.now();
  console.log(`\n\u25b6 ${name}`);
  try {
    await withTimeout(Promise.resolve().then(fn), timeoutMs, `phase "${name}"`);
  } catch (error) {
    if (!error.recorded) {
      results.push({ phase: name, name: '(phase)', ok: false, ms: Date.now() - started, error });
      console.log(`  \u2718 ${name}\n${indent(describe(error), 6)}`);
    }
    return false;
  } finally {
    console.log(`  (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
  return true;
}

export function summary(startedAt) {
  const checks = results.filter((r) => !r.warn);
  const failed = checks.filter((r) => !r.ok);
  const passed = checks.length - failed.length;
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  const lines = ['', '='.repeat(72), 'e2e summary', '='.repeat(72)];
  let phaseName;
  for (const r of results) {
    if (r.phase !== phaseName) {
      phaseName = r.phase;
      lines.push(`${phaseName}`);
    }
    const mark = r.warn ? '!' : r.ok ? '\u2714' : '\u2718';
    lines.push(`  ${mark} ${r.name}${r.ok ? '' : `: ${firstLine(r.error)}`}`);
  }
  lines.push('-'.repeat(72));
  lines.push(`${passed} passed, ${failed.length} failed in ${seconds} s`);
  lines.push(`output: ${outDir}`);
  return {
    text: lines.join('\n'),
    ok: failed.length === 0 && checks.length > 0,
    report: {
      passed,
      failed: failed.length,
      seconds: Number(seconds),
      checks: results.map(({ phase, name, ok, warn }) => ({
        phase,
        name,
        status: warn ? 'note' : ok ? 'passed' : 'failed',
      })),
    },
  };
}

function describe(error) {
  if (error instanceof Error) return error.stack ?? error.message;
  return String(error);
}
function firstLine(error) {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}
function indent(text, n) {
  return text
    .split('\n')
    .slice(0, 25)
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

export function ensureDir(path) {
  mkdirSync(dirname(path), { recursive: true });
  return path;
}
