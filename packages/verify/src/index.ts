// @edge-auth/verify: checks the edge auth worker's access tokens in a service that trusts them.
// Only the issuer's public keys are used: a token stays valid here until its `exp` even after a
// sign-out, unless `introspection` or `isRevoked` says otherwise.
import { errors, jwtVerify } from 'jose';
import {
  introspector,
  IntrospectionUnavailable,
  type IntrospectionOptions,
} from './introspection.js';
import { keySet, KeysUnavailable } from './key-set.js';

export type { IntrospectionOptions } from './introspection.js';

export type Role = 'user' | 'admin';

/** The claims of an access token (RFC 9068 and API.md "Tokens"), all checked present. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  nbf?: number;
  role: Role;
  email_verified: boolean;
}

export interface VerifierOptions {
  /** The worker's ISSUER exactly, e.g. `https://auth.example.com` (no trailing slash). */
  issuer: string;
  /** The worker's AUDIENCE. */
  audience: string;
  /** Skips discovery (`${issuer}/.well-known/openid-configuration`'s `jwks_uri`). */
  jwksUri?: string;
  /** Least time between two fetches caused by unknown kids. Default 30. */
  cooldownSeconds?: number;
  /** Timeout of each discovery and JWKS request. Default 5000. */
  timeoutMs?: number;
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /**
   * Also ask the worker's /oauth/introspect (RFC 7662) about every token that passed the local
   * checks, so a revoked one is refused before its `exp`. Answers are cached briefly.
   */
  introspection?: IntrospectionOptions;
  /**
   * Asked after every other check passed; `true` refuses the token (`invalid_token`). The seam
   * for revocation: a JWKS-only verifier cannot see a sign-out before `exp`. Errors propagate.
   */
  isRevoked?: (claims: AccessTokenClaims, token: string) => boolean | Promise<boolean>;
}

export type VerifyResult =
  | { ok: true; claims: AccessTokenClaims; kid: string }
  /** `reason` (a jose error code, say) is for logs, not for the caller. */
  | { ok: false; status: 401; code: 'unauthorized' | 'invalid_token'; reason: string }
  | {
      ok: false;
      status: 503;
      code: 'jwks_unavailable' | 'introspection_unavailable';
      reason: string;
    };

/** Request headers as Fetch (`Headers`) or Node's `http` (a plain object) has them. */
export type RequestLike = { headers: Headers | Record<string, string | string[] | undefined> };

export interface Verifier {
  /** Verifies a compact JWT. Never throws for a bad token. */
  verify(token: string): Promise<VerifyResult>;
  /** Reads `Authorization: Bearer <token>`, then verifies it. */
  verifyRequest(request: RequestLike): Promise<VerifyResult>;
}

// Pinned by the contract, not options: RS256 only, `typ: at+jwt`, 30 s of clock skew.
const ALGORITHMS = ['RS256'];
const TYPE = 'at+jwt';
const CLOCK_TOLERANCE_SECONDS = 30;
// Far above any token the worker mints (about 1 KB): longer ones are refused before any crypto.
const MAX_AUTHORIZATION_LENGTH = 4096;
// RFC 6750 §2.1: the scheme is case-insensitive; b64token syntax.
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

const invalid = (reason: string): VerifyResult => ({
  ok: false,
  status: 401,
  code: 'invalid_token',
  reason,
});

/** Create one per process or isolate and keep it: it holds the JWKS cache. */
export function createVerifier(options: VerifierOptions): Verifier {
  const keys = keySet({
    issuer: options.issuer,
    jwksUri: options.jwksUri,
    cooldownMs: (options.cooldownSeconds ?? 30) * 1000,
    timeoutMs: options.timeoutMs ?? 5000,
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
  });
  const isActive =
    options.introspection &&
    introspector(
      options.introspection,
      options.issuer,
      options.timeoutMs ?? 5000,
      options.fetch ?? ((input, init) => fetch(input, init)),
    );

  async function verify(token: string): Promise<VerifyResult> {
    if (token.length > MAX_AUTHORIZATION_LENGTH) return invalid('too_long');
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        algorithms: ALGORITHMS,
        typ: TYPE,
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'sub', 'sid', 'jti'],
      });
      if (
        typeof payload.sid !== 'string' ||
        typeof payload.jti !== 'string' ||
        typeof payload.role !== 'string' ||
        typeof payload.email_verified !== 'boolean'
      ) {
        return invalid('ERR_JWT_CLAIM_VALIDATION_FAILED');
      }
      const claims = payload as unknown as AccessTokenClaims;
      if (isActive && !(await isActive(token, claims))) return invalid('inactive');
      if (await options.isRevoked?.(claims, token)) return invalid('revoked');
      return { ok: true, claims, kid: protectedHeader.kid ?? '' };
    } catch (error) {
      if (error instanceof KeysUnavailable) {
        return { ok: false, status: 503, code: 'jwks_unavailable', reason: error.message };
      }
      if (error instanceof IntrospectionUnavailable) {
        return { ok: false, status: 503, code: 'introspection_unavailable', reason: error.message };
      }
      if (error instanceof errors.JOSEError) return invalid(error.code);
      throw error;
    }
  }

  async function verifyRequest(request: RequestLike): Promise<VerifyResult> {
    const { headers } = request;
    const value =
      typeof headers.get === 'function'
        ? (headers as Headers).get('authorization')
        : (headers as Record<string, string | string[] | undefined>).authorization;
    const header = Array.isArray(value) ? undefined : value;
    const match = header && header.length <= MAX_AUTHORIZATION_LENGTH ? BEARER.exec(header) : null;
    if (!match) {
      return { ok: false, status: 401, code: 'unauthorized', reason: 'no bearer token' };
    }
    return verify(match[1]!);
  }

  return { verify, verifyRequest };
}
