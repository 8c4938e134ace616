// A plain HTTP client for the black-box checks: real requests, nothing mocked.
import assert from 'node:assert/strict';
import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';

export const REFRESH_COOKIE = '__Host-refresh_token';

/**
 * Sends one request. `json` becomes the body (application/json); `bearer` an Authorization
 * header; `cookie` a Cookie header. Resolves { status, headers, body, text, cookies }.
 */
export async function request(base, method, path, { json, bearer, cookie, headers = {} } = {}) {
  const h = { ...headers };
  if (json !== undefined) h['Content-Type'] ??= 'application/json';
  if (bearer) h.Authorization = `Bearer ${bearer}`;
  if (cookie) h.Cookie = cookie;
  const res = await fetch(base + path, {
    method,
    headers: h,
    body: json === undefined ? undefined : typeof json === 'string' ? json : JSON.stringify(json),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return {
    status: res.status,
    headers: res.headers,
    body,
    text,
    cookies: res.headers.getSetCookie().map(parseSetCookie),
  };
}

export function client(base) {
  return {
    get: (path, opts) => request(base, 'GET', path, opts),
    post: (path, json, opts) => request(base, 'POST', path, { ...opts, json }),
    options: (path, opts) => request(base, 'OPTIONS', path, opts),
  };
}

/** `name=value; Attr; Attr=x` into { name, value, attrs: { lowercased: value | true } }. */
export function parseSetCookie(header) {
  const [pair, ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attrs = {};
  for (const part of rest) {
    const [k, ...v] = part.trim().split('=');
    if (k) attrs[k.toLowerCase()] = v.length ? v.join('=') : true;
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attrs };
}

/** Fails unless `res` has `status` (and, for a problem, `code`), with the body in the message. */
export function expectStatus(res, status, code) {
  assert.equal(
    res.status,
    status,
    `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`,
  );
  if (code) {
    assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
    assert.equal(res.body?.code, code, `expected code ${code}: ${res.text.slice(0, 300)}`);
  }
  return res;
}

export const jwt = { header: decodeProtectedHeader, claims: decodeJwt };

/** Signs arbitrary claims with a private JWK (forged tokens for negative cases). */
export async function sign(privateJwk, claims, header = {}) {
  const key = await importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: privateJwk.kid, ...header })
    .sign(key);
}

/**
 * The same token with one claim changed and the original signature kept: what an attacker who
 * edits a token gets. `role: admin` is the obvious edit.
 */
export function tamper(token, changes = { role: 'admin' }) {
  const [h, p, s] = token.split('.');
  const payload = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), ...changes };
  return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
}

/** Claims like the worker's, for forged tokens: same issuer and audience unless overridden. */
export function claimsLike(token, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  const base = decodeJwt(token);
  return { ...base, iat: now, exp: now + 300, jti: crypto.randomUUID(), ...overrides };
}

export const uniqueEmail = (label) =>
  `e2e-${label}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}@example.com`;

export const PASSWORD = 'correct horse battery staple e2e';
