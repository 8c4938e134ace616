import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MIN_CPU_MS,
  SECRETS,
  loadConfigProblems,
  parseMigrationsList,
  parseSecretList,
  pendingMigrations,
  preflight,
  registrableDomain,
  sameSite,
} from '../../scripts/preflight/index.mjs';

const root = new URL('../../', import.meta.url).pathname;
const wrangler = join(root, 'node_modules/wrangler/bin/wrangler.js');
const offline = { PATH: process.env.PATH, HOME: process.env.HOME };
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'preflight-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Env = {
  name?: string;
  limits?: { cpu_ms: number };
  triggers?: { crons: string[] };
  vars: Record<string, unknown>;
  d1_databases: Record<string, string>[];
  kv_namespaces: Record<string, string>[];
};

/** A production environment with nothing left to change: preflight must pass it. */
function validEnv(): Env {
  return {
    name: 'edge-auth-worker',
    limits: { cpu_ms: 1000 },
    triggers: { crons: ['17 * * * *'] },
    vars: {
      ENVIRONMENT: 'production',
      ISSUER: 'https://auth.acme.io',
      AUDIENCE: 'acme-api',
      APP_URL: 'https://app.acme.io',
      ALLOWED_ORIGINS: 'https://app.acme.io,https://acme.io',
      MAIL_FROM: 'Acme <auth@mail.acme.io>',
      MAIL_TRANSPORT: 'resend',
    },
    d1_databases: [
      {
        binding: 'DB',
        database_name: 'edge-auth',
        database_id: '3f1c2a9e-5b7d-4e21-9c0a-8d6f4b2e1a77',
        // wrangler reads it relative to the config file, which the tests write to a temp folder.
        migrations_dir: join(root, 'migrations'),
      },
    ],
    kv_namespaces: [{ binding: 'KV', id: '9b2e41c7d0a54f6e8c3b1a2d7e6f5049' }],
  };
}

let fixtures = 0;
function writeConfig(env: Env, top: Record<string, unknown> = {}) {
  const path = join(dir, `wrangler-${++fixtures}.toml`);
  writeFileSync(
    path,
    stringify({ name: 'edge-auth-worker', main: 'src/index.ts', ...top, env: { production: env } }),
  );
  return path;
}

const check = (configPath: string, envName = 'production') =>
  preflight({ root, envName, configPath, env: offline });

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ['scripts/preflight.mjs', ...args], {
    cwd: root,
    env: offline,
    encoding: 'utf8',
  });
  const lines = (text: string) => text.split('\n').filter(Boolean);
  return { status: run.status, stdout: lines(run.stdout), stderr: lines(run.stderr) };
}

describe('npm run preflight', () => {
  it("refuses the repo's own production env: one line per placeholder", () => {
    const run = cli('--env', 'production');
    expect(run.status).toBe(1);
    expect(run.stderr).toEqual([
      'problem: [env.production] d1_databases DB: database_id "00000000-0000-0000-0000-000000000000" is a placeholder; use the id printed by `wrangler d1 create`',
      'problem: [env.production] kv_namespaces KV: id "00000000000000000000000000000000" is a placeholder; use the id printed by `wrangler kv namespace create`',
      'problem: vars.ISSUER = "https://auth.example.com" is a placeholder or local host',
      'problem: vars.APP_URL = "https://app.example.com" is a placeholder or local host',
      'problem: vars.ALLOWED_ORIGINS = "https://app.example.com" is a placeholder or local host',
      'problem: vars.MAIL_FROM = "Example <auth@example.com>" sends from example.com, a placeholder domain',
      'problem: vars.AUDIENCE = "example-api" looks like a placeholder: name your API',
      'preflight --env production: 7 problem(s); not ready to deploy',
    ]);
  });

  it("refuses the repo's staging env the same way", () => {
    const run = cli('--env', 'staging');
    expect(run.status).toBe(1);
    expect(run.stderr.at(-1)).toBe('preflight --env staging: 7 problem(s); not ready to deploy');
  });

  it('passes a fully valid config with exit 0 and a summary, and names what it skipped offline', () => {
    const run = cli('--env', 'production', '--config', writeConfig(validEnv()));
    expect(run.stderr).toEqual([]);
    expect(run.status).toBe(0);
    expect(run.stdout).toEqual([
      'skipped: secrets exist (offline: no CLOUDFLARE_API_TOKEN with CLOUDFLARE_ACCOUNT_ID; or pass --remote)',
      'skipped: remote D1 migrations applied (offline: no CLOUDFLARE_API_TOKEN with CLOUDFLARE_ACCOUNT_ID; or pass --remote)',
      'preflight --env production: ready (3 checks passed: wrangler.toml, src/config.ts accepts the vars, migrations; 2 skipped)',
    ]);
  });

  it('refuses a file that is not TOML', async () => {
    const path = join(dir, 'broken.toml');
    writeFileSync(path, '[env.production\nname = 1');
    const { problems } = await check(path);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/broken\.toml is not valid TOML: /);
  });

  it('refuses an environment the file does not have, and needs --env', async () => {
    expect((await check(writeConfig(validEnv()), 'staging')).problems).toEqual([
      `${join(dir, `wrangler-${fixtures}.toml`)} has no [env.staging]`,
    ]);
    expect(cli().status).toBe(2);
  });
});

// Each rule broken alone: preflight reports exactly that rule's line, nothing else.
const alone: [string, (env: Env) => void, RegExp][] = [
  [
    'placeholder D1 id',
    (e) => (e.d1_databases[0]!.database_id = '00000000-0000-0000-0000-000000000000'),
    /^\[env\.production\] d1_databases DB: database_id .* is a placeholder/,
  ],
  [
    'template D1 id',
    (e) => (e.d1_databases[0]!.database_id = '<your-database-id>'),
    /d1_databases DB: database_id "<your-database-id>" is a placeholder/,
  ],
  [
    'placeholder KV id',
    (e) => (e.kv_namespaces[0]!.id = '00000000000000000000000000000000'),
    /^\[env\.production\] kv_namespaces KV: id .* is a placeholder/,
  ],
  ['no D1 binding', (e) => (e.d1_databases = []), /has no d1_databases binding DB/],
  [
    'ISSUER on example.com',
    (e) => {
      e.vars.ISSUER = 'https://auth.example.com';
      delete e.vars.APP_URL;
      e.vars.ALLOWED_ORIGINS = '';
    },
    /^vars\.ISSUER = "https:\/\/auth\.example\.com" is a placeholder/,
  ],
  [
    'ISSUER on localhost',
    (e) => {
      e.vars.ISSUER = 'https://localhost';
      delete e.vars.APP_URL;
      e.vars.ALLOWED_ORIGINS = '';
    },
    /^vars\.ISSUER = "https:\/\/localhost" is a placeholder/,
  ],
  [
    'APP_URL on example.org',
    (e) => (e.vars.APP_URL = 'https://app.example.org'),
    /^vars\.APP_URL = "https:\/\/app\.example\.org" is a placeholder/,
  ],
  [
    'an allowed origin on example.net',
    (e) => (e.vars.ALLOWED_ORIGINS = 'https://app.acme.io,https://www.example.net'),
    /^vars\.ALLOWED_ORIGINS = "https:\/\/www\.example\.net" is a placeholder/,
  ],
  [
    "MAIL_FROM's domain",
    (e) => (e.vars.MAIL_FROM = 'auth@example.com'),
    /^vars\.MAIL_FROM = "auth@example\.com" sends from example\.com/,
  ],
  [
    'AUDIENCE placeholder',
    (e) => (e.vars.AUDIENCE = 'example-api'),
    /^vars\.AUDIENCE = "example-api" looks like a placeholder/,
  ],
  [
    'ISSUER on http',
    (e) => (e.vars.ISSUER = 'http://auth.acme.io'),
    /^vars\.ISSUER = "http:\/\/auth\.acme\.io" is not https$/,
  ],
  [
    'APP_URL on another site',
    (e) => (e.vars.APP_URL = 'https://app.acme-web.com'),
    /^vars\.APP_URL = "https:\/\/app\.acme-web\.com" is not same-site with ISSUER https:\/\/auth\.acme\.io: the SameSite=Strict refresh cookie/,
  ],
  [
    'an allowed origin on another site',
    (e) => (e.vars.ALLOWED_ORIGINS = 'https://app.acme.io,https://acme.co.uk'),
    /^vars\.ALLOWED_ORIGINS = "https:\/\/acme\.co\.uk" is not same-site/,
  ],
  [
    'an allowed origin on plain http',
    (e) => (e.vars.ALLOWED_ORIGINS = 'http://app.acme.io'),
    /^vars\.ALLOWED_ORIGINS = "http:\/\/app\.acme\.io" is not https$/,
  ],
  [
    'resend without MAIL_FROM',
    (e) => delete e.vars.MAIL_FROM,
    /^vars\.MAIL_FROM is not set but MAIL_TRANSPORT is resend/,
  ],
  ['no cron trigger', (e) => delete e.triggers, /^\[env\.production\] has no cron trigger/],
  [
    'cpu_ms too low for PBKDF2',
    (e) => (e.limits = { cpu_ms: 50 }),
    /^\[env\.production\] limits\.cpu_ms = 50 is below 200/,
  ],
  [
    'ENVIRONMENT development',
    (e) => (e.vars.ENVIRONMENT = 'development'),
    /^vars\.ENVIRONMENT = "development" must be "production"/,
  ],
  [
    'a secret among the vars',
    (e) => (e.vars.PASSWORD_PEPPER = 'x'.repeat(40)),
    /^vars\.PASSWORD_PEPPER is a secret/,
  ],
  [
    'a TTL the worker refuses',
    (e) => (e.vars.ACCESS_TOKEN_TTL = '10'),
    /^vars: the worker would refuse its configuration: ACCESS_TOKEN_TTL /,
  ],
  [
    'a TOML boolean where the worker wants a string',
    (e) => (e.vars.REQUIRE_EMAIL_VERIFICATION = true),
    /^vars: the worker would refuse its configuration: REQUIRE_EMAIL_VERIFICATION /,
  ],
  [
    'an origin with a path',
    (e) => (e.vars.ALLOWED_ORIGINS = 'https://app.acme.io/'),
    /^vars: the worker would refuse its configuration: ALLOWED_ORIGINS\.0 must be a bare origin$/,
  ],
  [
    'dev-mailbox in production',
    (e) => (e.vars.MAIL_TRANSPORT = 'dev-mailbox'),
    /^vars: the worker would refuse its configuration: MAIL_TRANSPORT dev-mailbox is refused/,
  ],
  [
    'an identity provider over http',
    (e) =>
      (e.vars.IDENTITY_PROVIDERS = JSON.stringify([
        { id: 'corp', type: 'oidc', client_id: 'c', issuer: 'http://idp.acme.io' },
      ])),
    /^vars: the worker would refuse its configuration: IDENTITY_PROVIDERS provider corp must use https/,
  ],
];

describe('each rule broken alone', () => {
  it.each(alone)('%s: exactly its line', async (_name, mutate, line) => {
    const env = validEnv();
    mutate(env);
    const { problems } = await check(writeConfig(env));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(line);
  });

  it('inherits the cron trigger and cpu limit from the top level, as wrangler does', async () => {
    const env = validEnv();
    delete env.triggers;
    delete env.limits;
    const inherited = writeConfig(env, {
      triggers: { crons: ['0 * * * *'] },
      limits: { cpu_ms: 10 },
    });
    expect((await check(inherited)).problems).toEqual([
      `[env.production] limits.cpu_ms = 10 is below ${MIN_CPU_MS}: PBKDF2 at 100,000 iterations costs about 40 ms of CPU per password`,
    ]);
  });

  it('does not inherit vars from the top level (wrangler does not either)', async () => {
    const env = validEnv();
    env.vars = {};
    const { problems } = await check(writeConfig(env, { vars: validEnv().vars }));
    expect(
      problems.some((p) => p.startsWith('vars: the worker would refuse its configuration: ISSUER')),
    ).toBe(true);
  });
});

describe('same-site (registrable domain, approximated)', () => {
  it.each([
    ['https://auth.acme.io', 'https://app.acme.io', true],
    ['https://auth.acme.io', 'https://acme.io', true],
    ['https://auth.acme.co.uk', 'https://app.acme.co.uk', true],
    ['https://auth.acme.co.uk', 'https://app.other.co.uk', false],
    ['https://auth.alice.workers.dev', 'https://app.alice.workers.dev', true],
    ['https://auth.alice.workers.dev', 'https://app.bob.workers.dev', false],
    ['https://alice.pages.dev', 'https://bob.pages.dev', false],
    ['https://auth.acme.io', 'http://app.acme.io', false],
    ['https://auth.acme.io', 'https://acme.com', false],
  ])('%s and %s: %s', (a, b, same) => {
    expect(sameSite(a, b)).toBe(same);
  });

  it('keeps an IP address whole', () => {
    expect(registrableDomain('10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('migrations', () => {
  function copyMigrations(change: (path: string) => void) {
    const path = mkdtempSync(join(dir, 'migrations-'));
    cpSync(join(root, 'migrations'), path, { recursive: true });
    change(path);
    const env = validEnv();
    env.d1_databases[0]!.migrations_dir = path;
    return check(writeConfig(env));
  }
  const journal = (path: string) => join(path, 'meta/_journal.json');
  const editJournal = (path: string, edit: (j: { entries: { tag: string }[] }) => void) => {
    const j = JSON.parse(readFileSync(journal(path), 'utf8'));
    edit(j);
    writeFileSync(journal(path), JSON.stringify(j));
  };

  it('passes an untouched copy', async () => {
    expect((await copyMigrations(() => {})).problems).toEqual([]);
  });

  it('refuses a missing folder', async () => {
    const env = validEnv();
    env.d1_databases[0]!.migrations_dir = 'no-such-folder';
    expect((await check(writeConfig(env))).problems).toEqual([
      'migrations: folder no-such-folder/ does not exist',
    ]);
  });

  it('refuses a gap in the numbers', async () => {
    const { problems } = await copyMigrations((path) => {
      const last = readdirSync(path)
        .filter((f) => f.endsWith('.sql'))
        .sort()
        .at(-1)!;
      cpSync(join(path, last), join(path, last.replace(/^\d{4}/, '0042')));
      unlinkSync(join(path, last));
      editJournal(
        path,
        (j) => (j.entries.at(-1)!.tag = last.replace(/^\d{4}/, '0042').replace('.sql', '')),
      );
    });
    const files = readdirSync(join(root, 'migrations')).filter((f) => f.endsWith('.sql')).length;
    expect(problems[0]).toMatch(
      new RegExp(`^migrations: 0042_.*\\.sql is number 42 but is file ${files - 1} in order`),
    );
    expect(problems[1]).toMatch(/^migrations: no snapshot for 0042_/);
    // Whatever else is said is about the columns that migration added (its snapshot is gone).
    for (const p of problems.slice(2))
      expect(p).toMatch(/^migrations: column \S+ .* in no migration/);
  });

  it('refuses a file drizzle did not journal', async () => {
    // The next number after the last migration: in order, but not journaled.
    const next = String(
      readdirSync(join(root, 'migrations')).filter((f) => f.endsWith('.sql')).length,
    ).padStart(4, '0');
    const { problems } = await copyMigrations((path) => {
      writeFileSync(join(path, `${next}_by_hand.sql`), 'SELECT 1;');
    });
    expect(problems).toEqual([
      `migrations: ${next}_by_hand.sql is not in meta/_journal.json (made by hand?)`,
    ]);
  });

  it('refuses tables the code uses that no migration creates', async () => {
    const { problems } = await copyMigrations((path) => {
      // Drop the newest migration that creates a table, and every one after it.
      const tags: string[] = JSON.parse(readFileSync(journal(path), 'utf8')).entries.map(
        (e: { tag: string }) => e.tag,
      );
      const from = tags.findLastIndex((tag) =>
        /CREATE TABLE/i.test(readFileSync(join(path, `${tag}.sql`), 'utf8')),
      );
      for (const tag of tags.slice(from)) {
        unlinkSync(join(path, `${tag}.sql`));
        unlinkSync(join(path, `meta/${tag.slice(0, 4)}_snapshot.json`));
      }
      editJournal(path, (j) => j.entries.splice(from));
    });
    const tables = problems.filter((p) =>
      /^migrations: table \w+ \(src\/db\/schema\.ts\) is created by no migration$/.test(p),
    );
    expect(tables.length).toBeGreaterThan(0);
    // The rest are columns that later migrations added to older tables.
    for (const p of problems.filter((x) => !tables.includes(x)))
      expect(p).toMatch(/^migrations: column \S+ .* in no migration/);
  });

  it('refuses a schema column the last snapshot does not have (db:generate not run)', async () => {
    const { problems } = await copyMigrations((path) => {
      const last = readdirSync(join(path, 'meta'))
        .filter((f) => f.endsWith('_snapshot.json'))
        .sort()
        .at(-1)!;
      const snapshot = JSON.parse(readFileSync(join(path, 'meta', last), 'utf8'));
      delete snapshot.tables.users.columns.email;
      writeFileSync(join(path, 'meta', last), JSON.stringify(snapshot));
    });
    expect(problems).toEqual([
      'migrations: column users.email (src/db/schema.ts) is in no migration: run npm run db:generate',
    ]);
  });
});

describe('the account checks, read from what wrangler prints', () => {
  it('reads `wrangler secret list` (JSON, its default format)', () => {
    // wrangler 4.86 prints the API's list with JSON.stringify(secrets, null, "  ").
    const out = JSON.stringify(
      [
        { name: 'JWT_SIGNING_KEYS', type: 'secret_text' },
        { name: 'PASSWORD_PEPPER', type: 'secret_text' },
      ],
      null,
      '  ',
    );
    expect(parseSecretList(out)).toEqual(['JWT_SIGNING_KEYS', 'PASSWORD_PEPPER']);
    expect(parseSecretList('[]')).toEqual([]);
  });

  it('reads `wrangler d1 migrations list` as wrangler prints it, against its local D1', async () => {
    const project = mkdtempSync(join(dir, 'd1-'));
    cpSync(join(root, 'migrations'), join(project, 'migrations'), { recursive: true });
    const all = readdirSync(join(project, 'migrations'))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const later = all.slice(-2);
    for (const f of later) unlinkSync(join(project, 'migrations', f));
    const configPath = join(project, 'wrangler.toml');
    writeFileSync(
      configPath,
      stringify({
        name: 'preflight-fixture',
        main: 'index.js',
        compatibility_date: '2026-04-20',
        d1_databases: [
          {
            binding: 'DB',
            database_name: 'x',
            database_id: '3f1c2a9e-5b7d-4e21-9c0a-8d6f4b2e1a77',
            migrations_dir: 'migrations',
          },
        ],
      }),
    );
    const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };
    execFileSync(
      process.execPath,
      [wrangler, 'd1', 'migrations', 'apply', 'DB', '--local', '--config', configPath],
      { env, encoding: 'utf8' },
    );
    expect(await pendingMigrations(root, { configPath, env, where: '--local' })).toEqual([]);
    cpSync(join(root, 'migrations'), join(project, 'migrations'), { recursive: true });
    expect(await pendingMigrations(root, { configPath, env, where: '--local' })).toEqual(later);
    expect(parseMigrationsList('\u001b[32m✅ No migrations to apply!\u001b[0m')).toEqual([]);
  });
});

describe('the account checks with --remote but no credentials', () => {
  it("reports wrangler's refusal as one line per check instead of failing open", async () => {
    const { problems } = await preflight({
      root,
      envName: 'production',
      configPath: writeConfig(validEnv()),
      env: { ...offline, CI: 'true' },
      remote: true,
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^secrets: wrangler secret list failed: In a non-interactive environment, it's necessary to set a CLOUDFLARE_API_TOKEN/,
    );
    expect(problems[1]).toMatch(
      /^remote D1: wrangler d1 migrations list failed: In a non-interactive environment/,
    );
  });
});

describe('the required secrets (scripts/preflight/secrets.mjs)', () => {
  it('lists every value src/config.ts needs that a var does not give', async () => {
    const vars = { ...validEnv().vars, MAIL_TRANSPORT: 'resend' } as Record<string, unknown>;
    vars.IDENTITY_PROVIDERS = JSON.stringify([
      { id: 'corp', type: 'oidc', client_id: 'c', issuer: 'https://idp.acme.io' },
    ]);
    const missing = (await loadConfigProblems(root, vars)).map((p) => p.split(/[ .]/)[0]);
    for (const name of missing) expect(SECRETS.map((s) => s.name)).toContain(name);
    // And with every required secret stood in, the worker accepts the vars.
    const full = { ...vars };
    for (const s of SECRETS.filter((x) => x.required(vars))) full[s.name] = await s.standIn(vars);
    expect(await loadConfigProblems(root, full)).toEqual([]);
  });

  it('covers every secret .dev.vars.example names', () => {
    const example = readFileSync(join(root, '.dev.vars.example'), 'utf8');
    const secretsPart = example.slice(example.indexOf('# Secrets'));
    const names = [...secretsPart.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(SECRETS.map((s) => s.name)).toContain(name);
  });
});
