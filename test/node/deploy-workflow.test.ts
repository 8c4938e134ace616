import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const workflow = parse(readFileSync(join(root, '.github/workflows/deploy.yml'), 'utf8'));
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

type Step = {
  uses?: string;
  run?: string;
  name?: string;
  id?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
};
const steps: Step[] = workflow.jobs.deploy.steps;

// The inputs of cloudflare/wrangler-action v3 (action.yml at v3.15.0, the last v3 release).
const WRANGLER_ACTION_V3_INPUTS = [
  'apiToken',
  'accountId',
  'quiet',
  'environment',
  'workingDirectory',
  'wranglerVersion',
  'secrets',
  'preCommands',
  'postCommands',
  'command',
  'vars',
  'packageManager',
  'gitHubToken',
];

const indexOf = (match: (s: Step) => boolean) => {
  const i = steps.findIndex(match);
  expect(i, 'step present').toBeGreaterThanOrEqual(0);
  return i;
};

describe('.github/workflows/deploy.yml', () => {
  it('runs on a push to main and by hand', () => {
    expect(workflow.on.push.branches).toEqual(['main']);
    expect(workflow.on).toHaveProperty('workflow_dispatch');
  });

  it('tests, preflights, migrates, deploys and smoke-tests, in that order', () => {
    const order = [
      indexOf((s) => s.uses?.startsWith('actions/checkout@') ?? false),
      indexOf((s) => s.uses?.startsWith('actions/setup-node@') ?? false),
      indexOf((s) => s.run === 'npm ci'),
      indexOf((s) => s.run === 'npm test'),
      indexOf((s) => s.run?.startsWith('npm run preflight -- --env "$DEPLOY_ENV"') ?? false),
      indexOf((s) => String(s.with?.command).startsWith('d1 migrations apply DB --remote --env ')),
      indexOf((s) => String(s.with?.command).startsWith('deploy --env ')),
      indexOf((s) => s.run === 'node scripts/smoke.mjs "$SMOKE_URL"'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(steps[order[1]!]!.with?.['node-version']).toBe(20);
    expect(workflow.jobs.deploy.env.DEPLOY_ENV).toBe("${{ inputs.environment || 'production' }}");
  });

  it('gives preflight the Cloudflare credentials, so it checks secrets and remote D1', () => {
    const preflight = steps.find((s) => s.run?.startsWith('npm run preflight'))!;
    expect(Object.keys(preflight.env ?? {}).sort()).toEqual([
      'CLOUDFLARE_ACCOUNT_ID',
      'CLOUDFLARE_API_TOKEN',
    ]);
  });

  it('uses only inputs wrangler-action v3 has', () => {
    const actions = steps.filter((s) => s.uses?.startsWith('cloudflare/wrangler-action@'));
    expect(actions).toHaveLength(2);
    for (const a of actions) {
      expect(a.uses).toBe('cloudflare/wrangler-action@v3');
      for (const input of Object.keys(a.with ?? {}))
        expect(WRANGLER_ACTION_V3_INPUTS).toContain(input);
      expect(a.with?.apiToken).toBe('${{ secrets.CLOUDFLARE_API_TOKEN }}');
    }
  });

  it('runs only scripts and flags that exist', () => {
    for (const s of steps) {
      const script = /npm run (\S+)/.exec(s.run ?? '')?.[1];
      if (script) expect(packageJson.scripts).toHaveProperty(script);
      const file = /node (\S+\.mjs)/.exec(s.run ?? '')?.[1];
      if (file) expect(existsSync(join(root, file))).toBe(true);
    }
    const preflight = readFileSync(join(root, 'scripts/preflight.mjs'), 'utf8');
    expect(preflight).toContain("'pending-migrations-ok'");
  });
});
