// The rules preflight applies to one environment of wrangler.toml, offline. Each returns
// problems as { vars, text }: `vars` names what it is about, so a problem the worker's own
// config schema also reports is printed once.
import { sameSite } from './site.mjs';
import { SECRETS } from './secrets.mjs';

/**
 * A login hashes one password with PBKDF2 (100,000 iterations: 38-45 ms of CPU in the bench);
 * a password change hashes twice. 200 ms leaves room for that on slower machines.
 */
export const MIN_CPU_MS = 200;

// Ids printed by nobody: all zeros (the repo's), empty, or a template's <...>/"your-..." text.
const placeholderId = (id) =>
  typeof id !== 'string' || !/^[0-9a-f-]{32,36}$/i.test(id) || /^[0-]+$/.test(id);

// RFC 2606 / 6761 names and loopback: never a production host.
const PLACEHOLDER_HOST =
  /(^|\.)(example\.(com|org|net)|example|test|invalid|localhost)$|^127\.|^\[::1\]$|^0\.0\.0\.0$/i;
const placeholderHost = (host) => PLACEHOLDER_HOST.test(host.replace(/\.$/, ''));
const hostOf = (url) => (URL.canParse(url) ? new URL(url).hostname : null);

const mailDomain = (from) => /@([^\s>]+)>?\s*$/.exec(from ?? '')?.[1] ?? null;

function bindingProblems(resolved, envName) {
  const problems = [];
  const db = resolved.d1.find((d) => d.binding === 'DB');
  if (!db) problems.push(`[env.${envName}] has no d1_databases binding DB`);
  else if (placeholderId(db.database_id)) {
    problems.push(
      `[env.${envName}] d1_databases DB: database_id ${JSON.stringify(db.database_id ?? '')} is a placeholder; use the id printed by \`wrangler d1 create\``,
    );
  }
  const kv = resolved.kv.find((k) => k.binding === 'KV');
  if (!kv) problems.push(`[env.${envName}] has no kv_namespaces binding KV`);
  else if (placeholderId(kv.id)) {
    problems.push(
      `[env.${envName}] kv_namespaces KV: id ${JSON.stringify(kv.id ?? '')} is a placeholder; use the id printed by \`wrangler kv namespace create\``,
    );
  }
  return problems.map((text) => ({ vars: [], text }));
}

function placeholderProblems(vars, envName) {
  const problems = [];
  const refuse = (name, value, why) =>
    problems.push({ vars: [name], text: `vars.${name} = ${JSON.stringify(value)} ${why}` });
  for (const name of ['ISSUER', 'APP_URL', 'WEBAUTHN_RP_ID', 'LOGO_URL']) {
    const value = vars[name];
    if (typeof value !== 'string' || value === '') continue;
    const host = name === 'WEBAUTHN_RP_ID' ? value : hostOf(value);
    if (host && placeholderHost(host)) refuse(name, value, 'is a placeholder or local host');
  }
  for (const origin of String(vars.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())) {
    const host = origin && hostOf(origin);
    if (host && placeholderHost(host)) {
      refuse('ALLOWED_ORIGINS', origin, 'is a placeholder or local host');
    }
  }
  const domain = mailDomain(vars.MAIL_FROM);
  if (domain && placeholderHost(domain)) {
    refuse('MAIL_FROM', vars.MAIL_FROM, `sends from ${domain}, a placeholder domain`);
  }
  if (
    typeof vars.AUDIENCE === 'string' &&
    /example|changeme|placeholder|your[-_]/i.test(vars.AUDIENCE)
  ) {
    refuse('AUDIENCE', vars.AUDIENCE, 'looks like a placeholder: name your API');
  }
  if (vars.ENVIRONMENT !== undefined && vars.ENVIRONMENT !== 'production') {
    refuse(
      'ENVIRONMENT',
      vars.ENVIRONMENT,
      `must be "production" in a deployed environment (${envName})`,
    );
  }
  for (const secret of SECRETS.filter((s) => vars[s.name] !== undefined)) {
    problems.push({
      vars: [secret.name],
      text: `vars.${secret.name} is a secret: remove it from wrangler.toml and use \`wrangler secret put ${secret.name}\``,
    });
  }
  return problems;
}

function urlProblems(vars) {
  const problems = [];
  const issuer = vars.ISSUER;
  const issuerOk = typeof issuer === 'string' && URL.canParse(issuer);
  if (issuerOk && new URL(issuer).protocol !== 'https:') {
    problems.push({
      vars: ['ISSUER'],
      text: `vars.ISSUER = ${JSON.stringify(issuer)} is not https`,
    });
  }
  // Every token response sets the refresh cookie `__Host-refresh_token` with SameSite=Strict
  // (src/sessions/cookie.ts); there is no switch to turn it off. A browser on another site
  // never sends it back, so the app could not refresh from the cookie.
  const pages = [
    ...(typeof vars.APP_URL === 'string' && vars.APP_URL ? [['APP_URL', vars.APP_URL]] : []),
    ...String(vars.ALLOWED_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean)
      .map((o) => ['ALLOWED_ORIGINS', o]),
  ];
  // A placeholder or non-https ISSUER is reported by its own rule; same-site is then moot.
  const issuerFinal = issuerOk && issuer.startsWith('https://') && !placeholderHost(hostOf(issuer));
  for (const [name, url] of pages) {
    if (!URL.canParse(url) || placeholderHost(new URL(url).hostname)) continue; // reported
    if (new URL(url).protocol !== 'https:') {
      problems.push({ vars: [name], text: `vars.${name} = ${JSON.stringify(url)} is not https` });
    } else if (issuerFinal && !sameSite(url, issuer)) {
      problems.push({
        vars: [name],
        text: `vars.${name} = ${JSON.stringify(url)} is not same-site with ISSUER ${issuer}: the SameSite=Strict refresh cookie is never sent from it (put the app and the worker under one registrable domain)`,
      });
    }
  }
  return problems;
}

function mailProblems(vars) {
  if ((vars.MAIL_TRANSPORT || 'resend') !== 'resend' || vars.MAIL_FROM) return [];
  return [
    {
      vars: ['MAIL_TRANSPORT', 'MAIL_FROM'],
      text: 'vars.MAIL_FROM is not set but MAIL_TRANSPORT is resend: no mail can be sent',
    },
  ];
}

function platformProblems(resolved, envName) {
  const problems = [];
  if (!Array.isArray(resolved.crons) || resolved.crons.length === 0) {
    problems.push(
      `[env.${envName}] has no cron trigger (triggers.crons): expired sessions, tokens and old audit events are never deleted`,
    );
  }
  const cpu = resolved.limits?.cpu_ms;
  if (cpu !== undefined && !(cpu >= MIN_CPU_MS)) {
    problems.push(
      `[env.${envName}] limits.cpu_ms = ${cpu} is below ${MIN_CPU_MS}: PBKDF2 at 100,000 iterations costs about 40 ms of CPU per password`,
    );
  }
  return problems.map((text) => ({ vars: [], text }));
}

/** Every offline rule on one resolved environment. */
export function configProblems(resolved, envName) {
  return [
    ...bindingProblems(resolved, envName),
    ...placeholderProblems(resolved.vars, envName),
    ...urlProblems(resolved.vars),
    ...mailProblems(resolved.vars),
    ...platformProblems(resolved, envName),
  ];
}
