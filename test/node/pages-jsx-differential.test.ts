// The pages rendered by our JSX runtime (src/pages/jsx) and by hono/jsx, which it replaced, are
// the same, byte for byte. The worker is bundled twice by esbuild, once as tsconfig.json says
// (our runtime) and once with hono/jsx as the JSX import source, and both run in one Miniflare
// on the same D1 databases and KV: every page state below is asked of both with the same cookies
// (the form token is an HMAC of the cookie, so it is the same too), and the answers compared.
import { readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret, generateSigningKey } from '../../scripts/lib/keys.mjs';
import { IDP_HOSTS, identityProviderStandIn } from '../stand-in/identity-provider';
import { mailStandIn } from '../stand-in/mail-provider';
import { RANGE_STAND_IN_HOST, rangeStandIn } from '../stand-in/range-api';

const root = new URL('../../', import.meta.url).pathname;
const SITE = 'https://auth.test';
const PASSWORD = 'correct horse battery staple';
const HOSTILE = `"><script>alert(1)</script>'&amp;</title>`;
const WORKERS = ['ours', 'hono'] as const;

async function bundle(jsxImportSource?: string) {
  const { outputFiles } = await build({
    entryPoints: [`${root}src/index.ts`],
    bundle: true,
    write: false,
    format: 'esm',
    // As wrangler bundles the worker (a package's "browser" field drops Node's modules).
    platform: 'browser',
    conditions: ['workerd', 'worker', 'browser'],
    external: ['cloudflare:*', 'node:*'],
    logLevel: 'silent',
    // As wrangler.toml's [define]: the worker carries no route documentation.
    define: { __OPENAPI_DOCS__: 'false' },
    // tsconfig.json's JSX settings, but hono/jsx's runtime (esbuild reads no tsconfig.json then),
    // and the page string taken as hono/jsx gives it: a node whose toString() renders it.
    ...(jsxImportSource
      ? {
          tsconfigRaw: { compilerOptions: { jsx: 'react-jsx', jsxImportSource } },
          plugins: [
            {
              name: 'hono-jsx-layout',
              setup(b) {
                b.onLoad({ filter: /src\/pages\/layout\.tsx$/ }, ({ path }) => {
                  const source = readFileSync(path, 'utf8');
                  const ours = '${await page}';
                  if (!source.includes(ours)) throw new Error(`layout.tsx renders no ${ours}`);
                  const contents = source.replace(ours, '${await page.toString()}');
                  return { contents, loader: 'tsx' };
                });
              },
            },
          ],
        }
      : {}),
  });
  return outputFiles[0]!.text;
}

let mf: Miniflare;
const scripts: Record<string, string> = {};

beforeAll(async () => {
  scripts.ours = await bundle();
  scripts.hono = await bundle('hono/jsx');
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, 'wrangler.toml'));
  const bindings = {
    ...workerOptions.bindings,
    ENVIRONMENT: 'test',
    ISSUER: SITE,
    MAIL_TRANSPORT: 'dev-mailbox',
    APP_URL: 'https://app.example.com',
    ALLOWED_ORIGINS: 'https://app.example.com',
    LOG_LEVEL: 'error',
    RATE_LIMIT_REGISTER: '100000/60',
    RATE_LIMIT_LOGIN: '100000/60',
    RATE_LIMIT_FORGOT_PASSWORD: '100000/60',
    RATE_LIMIT_EMAIL_RESEND: '100000/60',
    RATE_LIMIT_MFA_VERIFY: '100000/60',
    JWT_SIGNING_KEYS: JSON.stringify({ keys: [await generateSigningKey()] }),
    PASSWORD_PEPPER: 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    TOTP_ENCRYPTION_KEY: `1:${generateSecret()}`,
    KEY_ENCRYPTION_KEY: `1:${generateSecret()}`,
    IDENTITY_PROVIDERS: JSON.stringify([
      { id: 'acme', type: 'oidc', client_id: 'acme', issuer: 'https://idp.stand-in.test' },
      { id: 'github', type: 'github', client_id: 'gh-client' },
    ]),
    IDENTITY_PROVIDER_SECRETS: JSON.stringify({ acme: 'acme-secret', github: 'gh-secret' }),
  };
  mf = new Miniflare({
    outboundService: (request: Request) => {
      const host = new URL(request.url).hostname;
      if (host === RANGE_STAND_IN_HOST) return rangeStandIn(request);
      if (IDP_HOSTS.has(host)) return identityProviderStandIn(request);
      return mailStandIn(request);
    },
    workers: WORKERS.map((name) => ({
      name,
      modules: [
        { type: 'ESModule' as const, path: join(root, `${name}.mjs`), contents: scripts[name]! },
      ],
      compatibilityDate: workerOptions.compatibilityDate,
      compatibilityFlags: workerOptions.compatibilityFlags,
      // The same ids: both workers read and write the same databases and namespace.
      d1Databases: { DB: 'db', SESSIONS_1: 'sessions-1' },
      kvNamespaces: { KV: 'kv' },
      bindings,
    })),
  });
  for (const [binding, dir] of [
    ['DB', 'migrations'],
    ['SESSIONS_1', 'migrations-sessions'],
  ] as const) {
    const db = await mf.getD1Database(binding, 'ours');
    for (const migration of await readD1Migrations(join(root, dir))) {
      await db.batch(migration.queries.map((q) => db.prepare(q)));
    }
  }
}, 120_000);

afterAll(() => mf?.dispose());

it('bundles hono/jsx only where it was asked for', () => {
  expect(scripts.hono).toContain('shadowrootclonable');
  expect(scripts.ours).not.toContain('shadowrootclonable');
});

/** One browser's cookies, sent to both workers; what our worker sets is what the next sends. */
class Browser {
  cookies = new Map([['__Host-csrf', 'c'.repeat(43)]]);

  private async send(name: string, path: string, init: RequestInit) {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers = { ...(init.headers as Record<string, string>), Cookie: cookie };
    const worker = (await mf.getWorker(name)) as unknown as {
      fetch(url: string, init: unknown): Promise<Response>;
    };
    const res = await worker.fetch(`${SITE}${path}`, { ...init, headers, redirect: 'manual' });
    return {
      status: res.status,
      location: res.headers.get('Location'),
      type: res.headers.get('Content-Type'),
      setCookie: res.headers.getSetCookie(),
      text: await res.text(),
    };
  }

  /** The answer of both workers (ours first); fails unless they are the same. */
  async both(path: string, form?: Record<string, string>) {
    const init: RequestInit = form
      ? {
          method: 'POST',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded',
            'Sec-Fetch-Site': 'same-origin',
          },
          body: new URLSearchParams({ _csrf: await this.token(), ...form }).toString(),
        }
      : {};
    const ours = await this.send('ours', path, init);
    const hono = await this.send('hono', path, init);
    expect({ ...hono, setCookie: undefined }).toEqual({ ...ours, setCookie: undefined });
    this.remember(ours.setCookie);
    return ours;
  }

  /** A request to our worker only (a step that changes state, such as a sign-in). */
  async once(path: string, form: Record<string, string>) {
    const body = new URLSearchParams({ _csrf: await this.token(), ...form }).toString();
    const headers = {
      'Content-Type': 'application/x-www-form-urlencoded',
      'Sec-Fetch-Site': 'same-origin',
    };
    const res = await this.send('ours', path, { method: 'POST', headers, body });
    this.remember(res.setCookie);
    return res;
  }

  private remember(setCookie: string[]) {
    for (const header of setCookie) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      if (/max-age=0/i.test(header)) this.cookies.delete(pair!.slice(0, eq));
      else this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
  }

  private formToken?: string;
  private async token() {
    const page = this.formToken ? null : await this.send('ours', '/sign-up', {});
    this.formToken ??= /name="_csrf" value="([^"]*)"/.exec(page!.text)![1]!;
    return this.formToken;
  }
}

describe('pages signed out', () => {
  const b = new Browser();

  it.each([
    ['/sign-in'],
    ['/sign-in?error=provider'],
    [`/sign-in?return_to=${encodeURIComponent(HOSTILE)}`],
    ['/sign-up'],
    ['/reset-password'],
    ['/reset-password?token=not-a-token'],
    [`/verify-email?token=${encodeURIComponent(HOSTILE)}`],
    [`/sign-in/email-code?return_to=${encodeURIComponent('https://app.example.com/x?a=1&b="2"')}`],
    [`/confirm-email-change?token=${encodeURIComponent(HOSTILE)}`],
    ['/accept-invite?token=unknown'],
    ['/account-deleted'],
    ['/account'],
  ])('GET %s', async (path) => {
    const res = await b.both(path);
    expect(res.status).toBeLessThan(500);
  });

  it('shows what the configuration adds to /sign-in: passkeys and identity providers', async () => {
    const res = await b.both('/sign-in');
    expect(res.text).toContain('data-passkey="sign-in"');
    expect(res.text).toContain('href="/auth/oauth/acme/start?return_to=%2Faccount"');
  });

  it.each([
    ['/sign-in', { email: HOSTILE, password: 'wrong password entirely' }],
    ['/sign-in', { email: HOSTILE, password: 'x', _csrf: 'forged' }],
    ['/sign-in/code', { mfa_token: HOSTILE, code: '123456' }],
    ['/sign-up', { email: HOSTILE, password: 'short', name: HOSTILE }],
    ['/sign-up', { email: 'new@example.com', password: PASSWORD, name: '', _csrf: 'forged' }],
    ['/reset-password', { email: HOSTILE }],
    ['/reset-password/new', { token: HOSTILE, new_password: PASSWORD }],
    ['/verify-email', { token: 'bad' }],
    ['/sign-in/email-code', { email: HOSTILE, return_to: HOSTILE }],
    ['/sign-in/email-code/verify', { email: HOSTILE, code: '000000' }],
    ['/confirm-email-change', { token: 'bad' }],
    ['/accept-invite', { token: 'bad', new_password: PASSWORD }],
    ['/sign-out', { _csrf: 'forged' }],
  ])('POST %s %j', async (path, form) => {
    const res = await b.both(path, form);
    expect(res.type).toMatch(/^text\/html/);
  });
});

describe('pages signed in', () => {
  const b = new Browser();
  const email = `jsx-${Date.now()}@example.com`;

  beforeAll(async () => {
    // Both sign-ups give the same page (a taken address looks like a new one).
    await b.both('/sign-up', { email, password: PASSWORD, name: HOSTILE });
    const signedIn = await b.once('/sign-in', { email, password: PASSWORD });
    expect(signedIn.status).toBe(303);
  });

  it('/account, and each section refusing a form', async () => {
    const account = await b.both('/account');
    expect(account.status).toBe(200);
    // With its async sections (a store read each): passkeys and linked identities.
    expect(account.text).toContain('<section class="card" id="passkeys"');
    expect(account.text).toContain('<section class="card" id="identities"');
    await b.both('/account?done=name');
    await b.both('/account?error=access_denied');
    for (const path of ['/account/name', '/account/password', '/account/passkeys/rename']) {
      await b.both(path, { _csrf: 'forged' });
    }
    await b.both('/account/password', { current_password: 'wrong one here', new_password: 'x' });
    await b.both('/account/email', { new_email: HOSTILE, password: PASSWORD });
    await b.both('/account/delete', { confirm: 'no' });
  });

  it('the two-factor enrolment page, with its QR code, and /account with two-factor on', async () => {
    const setup = await b.once('/account/mfa/setup', { password: PASSWORD });
    expect(setup.text).toContain('<svg');
    const again = await b.both('/account/mfa/enable', { code: '000000' });
    expect(again.status).toBe(400);
    expect(again.text).toContain('<svg');
  });
});
