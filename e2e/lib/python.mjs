// Which Python runs the suite's Python clients: E2E_PYTHON, else Debian's /usr/bin/python3, else
// whatever `python3` is on the PATH; the first that can run `probe`.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const found = new Map();

export function findPython(probe, debianPackages) {
  if (found.has(probe)) return found.get(probe);
  const candidates = [process.env.E2E_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const candidate of candidates) {
    if (candidate.includes('/') && !existsSync(candidate)) continue;
    try {
      execFileSync(candidate, ['-c', probe], { stdio: 'ignore', timeout: 10_000 });
      found.set(probe, candidate);
      return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error(
    `no python3 that can run \`${probe}\`: apt-get install -y ${debianPackages} (or set E2E_PYTHON)`,
  );
}
