import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const env = {
  ...process.env,
  CI: 'true',
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_HIDE_BANNER: 'true',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};
let state: string;

function d1(sql: string) {
  const out = execFileSync(
    process.execPath,
    [wrangler, 'd1', 'execute', 'DB', '--local', '--persist-to', state, '--json', '--command', sql],
    { cwd: root, env, encoding: 'utf8' },
  );
  return (JSON.parse(out) as { results: Record<string, unknown>[] }[]).at(-1)!.results;
}
const grant = (...args: string[]) =>
  spawnSync(process.execPath, ['scripts/admin-grant.mjs', ...args, '--persist-to', state], {
    cwd: root,
    env,
    encoding: 'utf8',
  });

beforeAll(() => {
  state = mkdtempSync(join(tmpdir(), 'admin-grant-'));
  execFileSync(
    process.execPath,
    [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state],
    { cwd: root, env, stdio: 'ignore' },
  );
  d1(`INSERT INTO users (id, email, password_hash, role, created_at, updated_at) VALUES
      ('u-1', 'o''brien@example.com', 'x', 'user', 1, 1), ('u-2', 'bystander@example.com', 'x', 'user', 1, 1)`);
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('npm run admin:grant', () => {
  it('makes an existing user admin in the local D1, with an audit row, matching the canonical email', () => {
    const run = grant("  O'Brien@EXAMPLE.com ");
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("o'brien@example.com (u-1) is now admin");
    expect(d1('SELECT id, role FROM users ORDER BY id')).toEqual([
      { id: 'u-1', role: 'admin' },
      { id: 'u-2', role: 'user' },
    ]);
    const [event] = d1("SELECT type, user_id, detail FROM audit_events WHERE user_id = 'u-1'");
    expect(event).toMatchObject({ type: 'user.role_changed', user_id: 'u-1' });
  });

  it('is idempotent: a second grant writes no second audit row', () => {
    expect(grant("o'brien@example.com").status).toBe(0);
    expect(d1("SELECT COUNT(*) AS n FROM audit_events WHERE user_id = 'u-1'")).toEqual([{ n: 1 }]);
  });

  it('fails for an unknown email and changes nothing', () => {
    const run = grant('nobody@example.com');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('No user with the email nobody@example.com');
  });

  it('treats SQL in the email as data', () => {
    const run = grant("x' OR '1'='1@example.com");
    expect(run.status).toBe(1);
    expect(grant("bystander@example.com'; UPDATE users SET role = 'admin'; --").status).toBe(1);
    expect(d1("SELECT role FROM users WHERE id = 'u-2'")).toEqual([{ role: 'user' }]);
  });
});
