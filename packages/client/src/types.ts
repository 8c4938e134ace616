import type { AuthError } from './errors.js';

export type Mode = 'cookie' | 'memory';

export interface AuthClientOptions {
  /** The worker's origin, e.g. `https://auth.example.com`. Default `''`: this page's origin. */
  baseUrl?: string;
  /**
   * `cookie` (the default where there is a `document`): the refresh token lives only in the
   * worker's HttpOnly cookie, and the tabs of one app share it. `memory` (the default elsewhere):
   * this object holds the refresh token and sends it in the body.
   */
  mode?: Mode;
  /** Sends every request instead of the global `fetch` (instrumentation, tests). */
  fetch?: (input: Request | string, init?: RequestInit) => Promise<Response>;
}

/** The user object of the HTTP contract. */
export interface User {
  id: string;
  email: string;
  name: string | null;
  role: 'user' | 'admin';
  email_verified: boolean;
  mfa_enabled: boolean;
  created_at: string;
}

/** An account at an identity provider, linked to the user. */
export interface Identity {
  id: string;
  provider: string;
  email: string | null;
  created_at: string;
}

/** A passkey of the user (the worker keeps no more than this about it in the API). */
export interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** Signed in, or the second step: `verifyMfa(mfaToken, code)` within `expiresIn` seconds. */
export type SignInResult =
  | { mfaRequired: false; sessionId: string }
  | { mfaRequired: true; mfaToken: string; expiresIn: number };

/** `fromOtherTab`: another tab of this app signed in, out, or failed to refresh. */
export type AuthEvent =
  | { type: 'signed_in'; sessionId: string; fromOtherTab: boolean }
  /** `error` when the worker ended the session (a refused refresh), `null` for a sign-out. */
  | { type: 'signed_out'; error: AuthError | null; fromOtherTab: boolean }
  /** A refresh that did not get through (network, 5xx, 429): still signed in. */
  | { type: 'refresh_failed'; error: AuthError; fromOtherTab: boolean };

export interface AuthClient {
  signUp(input: { email: string; password: string; name?: string }): Promise<User>;
  signIn(input: { email: string; password: string }): Promise<SignInResult>;
  verifyMfa(mfaToken: string, code: string): Promise<SignInResult>;
  /**
   * Mails a one-time 6-digit sign-in code to the address. Resolves the same way whether or not
   * the address has an account; `AuthError` `rate_limited` (429) when asked too often.
   */
  sendEmailCode(email: string): Promise<void>;
  /**
   * Signs in with the mailed code, like `signIn`: the second step when two-factor is on. A
   * wrong, used or expired code is `AuthError` `invalid_code` (401), a locked address
   * `account_locked` (423).
   */
  verifyEmailCode(email: string, code: string): Promise<SignInResult>;
  /**
   * Any route that answers a token response or `mfa_required`, for sign-in methods this client
   * has no helper for yet: `signInWith('/auth/passkey/verify', { response })`.
   */
  signInWith(path: string, body: object): Promise<SignInResult>;
  /**
   * Where to send the browser to sign in with an identity provider configured at the worker
   * (`IDENTITY_PROVIDERS`); it comes back to `returnTo` (an allowed origin) signed in, and in
   * cookie mode this client picks the session up from the cookie. In a page:
   * `location.assign(client.providerSignInUrl('google'))`.
   */
  providerSignInUrl(provider: string, options?: { returnTo?: string }): string;
  /** The identities linked to the signed-in user. */
  identities(): Promise<Identity[]>;
  /** Unlinks one; `AuthError` `last_sign_in_method` (409) when it is the only way to sign in. */
  unlinkIdentity(id: string): Promise<void>;
  /**
   * Signs in with a passkey through the browser's WebAuthn dialog. With `email`, only a passkey
   * of that account is accepted; `mediation: 'conditional'` offers passkeys in the autofill of
   * an input with `autocomplete="username webauthn"` (pass an `AbortSignal` to stop waiting).
   * A passkey is two factors: never `mfaRequired`. `AuthError` `invalid_passkey` (401), `423`.
   */
  signInWithPasskey(options?: {
    email?: string;
    mediation?: 'conditional';
    signal?: AbortSignal;
  }): Promise<SignInResult>;
  /** Registers a passkey for the signed-in user (the browser's dialog); the user is mailed. */
  registerPasskey(options?: { name?: string }): Promise<Passkey>;
  passkeys(): Promise<Passkey[]>;
  renamePasskey(id: string, name: string): Promise<Passkey>;
  /** `AuthError` `last_sign_in_method` (409) when it is the only way to sign in. */
  deletePasskey(id: string): Promise<void>;
  signOut(): Promise<void>;
  signOutEverywhere(): Promise<void>;
  /** `null` when signed out. */
  getUser(): Promise<User | null>;
  /** A token good for at least 30 s more, refreshed first if needed; `null` when signed out. */
  getAccessToken(options?: { forceRefresh?: boolean }): Promise<string | null>;
  /** `fetch` with the bearer; see README for the retry and the errors. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Returns the function that removes the listener. */
  onChange(listener: (event: AuthEvent) => void): () => void;
}
