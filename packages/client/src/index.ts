// @edge-auth/client: sign-in, sessions and authenticated fetch against the edge auth worker.
import { AuthError, errorFrom, isProblem, networkError } from './errors.js';
import { caller, refusesToken, type Send } from './http.js';
import { creationOptions, credentialJson, requestOptions } from './passkeys.js';
import { tabs, type Message, type Shared } from './tabs.js';
import type {
  AuthClient,
  AuthClientOptions,
  AuthEvent,
  Identity,
  Passkey,
  SignInResult,
  User,
} from './types.js';

export { AuthError, type ErrorData } from './errors.js';
export type * from './types.js';

// A token is refreshed this long before it expires: the API must still take it on arrival.
const MARGIN_MS = 30_000;
// A refresh that got no answer is sent again once: if the worker did rotate, the same token
// within its grace window (10 s) gets the same successor back.
const RETRY_MS = 1_000;
// After waiting for another tab's lock: how long its result (a token, or word that it is done)
// may take to arrive here.
const RESULT_MS = 1_000;
// A new page asks the open tabs for their access token, and waits this long before it tries
// the cookie instead (a refresh that another tab has just made needless).
const ASK_MS = 150;

type Tokens = {
  access_token: string;
  expires_in: number;
  refresh_token: string;
  session_id: string;
};
type Challenge = { mfa_required: true; mfa_token: string; expires_in: number };
type Session = Shared & { refreshToken?: string };

export function createAuthClient(options: AuthClientOptions = {}): AuthClient {
  const base = options.baseUrl ?? '';
  const cookie =
    (options.mode ?? (typeof document === 'undefined' ? 'memory' : 'cookie')) === 'cookie';
  const send: Send = options.fetch ?? ((input, init) => fetch(input, init));
  const call = caller(base, cookie, send);
  const listeners = new Set<(event: AuthEvent) => void>();
  const ended = new Set<string>();
  let session: Session | null = null;
  // Cookie mode starts not knowing: the HttpOnly cookie may hold a session this page cannot see.
  let known = !cookie;
  let inflight: Promise<string | null> | null = null;
  // Bumped by every sign-in and end of a session: a refresh begun before must not undo it.
  let generation = 0;

  const tab = cookie ? tabs(`edge-auth:${base || globalThis.location?.origin}`, receive) : null;
  const askedAt = Date.now();

  function emit(event: AuthEvent) {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }

  function receive(m: Message) {
    if (m.t === 'token' && !ended.has(m.s.sessionId)) {
      if (session?.sessionId !== m.s.sessionId) {
        session = m.s;
        known = true;
        emit({ type: 'signed_in', sessionId: m.s.sessionId, fromOtherTab: true });
      } else if (m.s.expiresAt > session.expiresAt) session = m.s;
    } else if (m.t === 'out' && (!m.sid || m.sid === session?.sessionId)) {
      end(m.e && AuthError.from(m.e), true);
    } else if (m.t === 'fail' && session) {
      emit({ type: 'refresh_failed', error: AuthError.from(m.e), fromOtherTab: true });
    } else if (m.t === 'ask' && usable()) tab?.post({ t: 'token', s: shared(session!) });
  }

  const shared = ({ token, expiresAt, sessionId }: Session): Shared => ({
    token,
    expiresAt,
    sessionId,
  });

  const usable = (stale: string | null = null) =>
    !!session && session.token !== stale && Date.now() < session.expiresAt - MARGIN_MS;

  function adopt(data: Tokens) {
    const next: Session = {
      token: data.access_token,
      expiresAt: Date.now() + data.expires_in * 1000,
      sessionId: data.session_id,
    };
    const isNew = session?.sessionId !== next.sessionId;
    tab?.post({ t: 'token', s: shared(next) });
    session = cookie ? next : { ...next, refreshToken: data.refresh_token };
    known = true;
    if (isNew) emit({ type: 'signed_in', sessionId: next.sessionId, fromOtherTab: false });
    return next.token;
  }

  function end(error: AuthError | null, fromOtherTab = false) {
    const had = session;
    session = null;
    known = true;
    generation++;
    if (had) {
      ended.add(had.sessionId);
      emit({ type: 'signed_out', error, fromOtherTab });
    }
  }

  async function rotate(): Promise<string | null> {
    const token = session?.refreshToken;
    if (!cookie && !token) return null;
    const started = generation;
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await call<Tokens>('/auth/refresh', cookie ? {} : { refresh_token: token });
        if (started !== generation) return usable() ? session!.token : null;
        return adopt(data);
      } catch (error) {
        const e = error instanceof AuthError ? error : networkError(error);
        if (started !== generation) throw e;
        if (e.status === 401) {
          // The session is over (reused, revoked, expired) or there never was one.
          if (session) tab?.post({ t: 'out', sid: session.sessionId, e: e.data() });
          end(e);
          return null;
        }
        if (attempt === 0 && (e.status === 0 || e.status >= 500)) {
          await new Promise((r) => setTimeout(r, RETRY_MS));
          continue;
        }
        if (session) {
          tab?.post({ t: 'fail', e: e.data() });
          emit({ type: 'refresh_failed', error: e, fromOtherTab: false });
        }
        throw e;
      }
    }
  }

  /** One refresh at a time in this tab and across tabs; `stale` is a token the API refused. */
  function refresh(stale: string | null): Promise<string | null> {
    const attempt = async (waited: boolean) => {
      const settled = () => (usable(stale) ? session!.token : known && !session ? null : undefined);
      if (tab && settled() === undefined) {
        if (waited) await tab.next(RESULT_MS, (m) => m.t === 'token' || m.t === 'free');
        else if (!known) await tab.next(askedAt + ASK_MS - Date.now(), (m) => m.t === 'token');
      }
      const outcome = settled();
      return outcome === undefined ? rotate() : outcome;
    };
    inflight ??= (tab ? tab.exclusive(attempt) : attempt(false)).finally(() => (inflight = null));
    return inflight;
  }

  async function getAccessToken({ forceRefresh = false } = {}) {
    if (!forceRefresh && usable()) return session!.token;
    if (!forceRefresh && known && !session) return null;
    return refresh(forceRefresh ? (session?.token ?? null) : null);
  }

  async function authFetch(input: RequestInfo | URL, init?: RequestInit) {
    const request = new Request(input, init);
    const attempt = (token: string | null) => {
      const copy = request.clone();
      if (token) copy.headers.set('Authorization', `Bearer ${token}`);
      return send(copy);
    };
    let token = await getAccessToken();
    let res = await attempt(token);
    if (token && res.status === 401 && (await refusesToken(res))) {
      token = await refresh(token);
      if (token) res = await attempt(token);
    }
    if (!res.ok && isProblem(res)) throw await errorFrom(res);
    return res;
  }

  async function signInWith(path: string, body: object): Promise<SignInResult> {
    const data = await call<Tokens | Challenge>(path, body);
    if ('mfa_required' in data) {
      return { mfaRequired: true, mfaToken: data.mfa_token, expiresIn: data.expires_in };
    }
    generation++;
    adopt(data);
    return { mfaRequired: false, sessionId: data.session_id };
  }

  /** A Bearer call to the signed-in user's routes; any refusal is an AuthError. */
  async function mine<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await authFetch(`${base}${path}`, init);
    if (!res.ok) throw await errorFrom(res);
    return res.status === 204 ? (null as T) : ((await res.json()) as T);
  }
  const jsonInit = (method: string, body: object): RequestInit => ({
    method,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const passkeyPath = (id: string) => `/users/me/passkeys/${encodeURIComponent(id)}`;

  function signedOut() {
    tab?.post({ t: 'out', sid: null, e: null });
    end(null);
  }

  return {
    signUp: (input) => call<User>('/auth/register', input),
    signIn: (input) => signInWith('/auth/login', input),
    verifyMfa: (mfaToken, code) => signInWith('/auth/mfa/verify', { mfa_token: mfaToken, code }),
    async sendEmailCode(email) {
      await call('/auth/email-code/send', { email });
    },
    verifyEmailCode: (email, code) => signInWith('/auth/email-code/verify', { email, code }),
    signInWith,
    providerSignInUrl(provider, { returnTo } = {}) {
      const back = returnTo ?? (typeof location === 'undefined' ? undefined : location.href);
      const query = back ? `?return_to=${encodeURIComponent(back)}` : '';
      return `${base}/auth/oauth/${encodeURIComponent(provider)}/start${query}`;
    },
    async identities() {
      const res = await authFetch(`${base}/users/me/identities`);
      if (!res.ok) throw await errorFrom(res);
      return ((await res.json()) as { identities: Identity[] }).identities;
    },
    async unlinkIdentity(id) {
      const res = await authFetch(`${base}/users/me/identities/${encodeURIComponent(id)}`, {
        method: 'DELETE',
      });
      if (!res.ok) throw await errorFrom(res);
    },
    async signInWithPasskey({ email, mediation, signal } = {}) {
      const options = await call<Record<string, unknown>>(
        '/auth/passkey/options',
        email ? { email } : undefined,
      );
      const credential = (await navigator.credentials.get({
        publicKey: requestOptions(options),
        ...(mediation ? { mediation } : {}),
        ...(signal ? { signal } : {}),
      })) as PublicKeyCredential;
      return signInWith('/auth/passkey/verify', { response: credentialJson(credential) });
    },
    async registerPasskey({ name } = {}) {
      const options = await mine<Record<string, unknown>>('/users/me/passkeys/options', {
        method: 'POST',
      });
      const credential = (await navigator.credentials.create({
        publicKey: creationOptions(options),
      })) as PublicKeyCredential;
      const body = { response: credentialJson(credential), ...(name ? { name } : {}) };
      return mine<Passkey>('/users/me/passkeys', jsonInit('POST', body));
    },
    async passkeys() {
      return (await mine<{ passkeys: Passkey[] }>('/users/me/passkeys')).passkeys;
    },
    renamePasskey: (id, name) => mine<Passkey>(passkeyPath(id), jsonInit('PATCH', { name })),
    async deletePasskey(id) {
      await mine(passkeyPath(id), { method: 'DELETE' });
    },
    async signOut() {
      const { token, refreshToken } = session ?? {};
      try {
        await call('/auth/logout', cookie ? {} : { refresh_token: refreshToken }, token);
      } finally {
        signedOut();
      }
    },
    async signOutEverywhere() {
      try {
        const res = await authFetch(`${base}/auth/logout-all`, { method: 'POST' });
        if (!res.ok) throw await errorFrom(res);
      } finally {
        signedOut();
      }
    },
    async getUser() {
      if (!(await getAccessToken())) return null;
      try {
        const res = await authFetch(`${base}/users/me`);
        if (!res.ok) throw await errorFrom(res);
        return (await res.json()) as User;
      } catch (error) {
        if (error instanceof AuthError && error.status === 401) return null;
        throw error;
      }
    },
    getAccessToken,
    fetch: authFetch,
    onChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
