// The tabs of one app in cookie mode share one refresh cookie. A refresh token presented twice
// outside the worker's grace window ends the session (`refresh_token_reused`), so one tab at a
// time may refresh, and the others take its result instead of refreshing again.
import type { ErrorData } from './errors.js';

/** The access token as tabs share it: never the refresh token, which only the cookie holds. */
export type Shared = { token: string; expiresAt: number; sessionId: string };
type Claim = [at: number, tab: string];

export type Message =
  | { t: 'token'; s: Shared }
  /** Signed out (`sid` null: every session of this browser) or the session ended. */
  | { t: 'out'; sid: string | null; e: ErrorData | null }
  | { t: 'fail'; e: ErrorData }
  | { t: 'ask' }
  | { t: 'claim'; c: Claim }
  /** The answer to the claim `c`: someone else holds the lock or claimed it first. */
  | { t: 'busy'; c: Claim }
  /** The holder of the lock is done (after its `token`, `out` or `fail`, if any). */
  | { t: 'free' };

export type Tabs = ReturnType<typeof tabs>;

// Without Web Locks: how long a claim waits for an older one, and for the winner's result.
const CLAIM_MS = 50;
const HOLDER_MS = 15_000;

const before = (a: Claim, b: Claim) => a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);

export function tabs(name: string, receive: (message: Message) => void) {
  const channel = globalThis.BroadcastChannel ? new BroadcastChannel(name) : null;
  const id = Math.random().toString(36).slice(2);
  const waiters = new Set<(message: Message) => void>();
  let claim: Claim | null = null;
  let holding = false;

  const post = (message: Message) => channel?.postMessage(message);

  channel?.addEventListener('message', ({ data }: MessageEvent<Message>) => {
    if (data.t === 'claim' && (holding || (claim && before(claim, data.c)))) {
      post({ t: 'busy', c: data.c });
    }
    receive(data);
    for (const waiter of waiters) waiter(data);
  });

  /** The next message `match` accepts, or `null` after `ms`. */
  function next(ms: number, match: (message: Message) => boolean) {
    return new Promise<Message | null>((resolve) => {
      const done = (message: Message | null) => {
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(message);
      };
      const waiter = (message: Message) => match(message) && done(message);
      const timer = setTimeout(done, ms, null);
      waiters.add(waiter);
    });
  }

  /**
   * Runs `fn` while no other tab runs it. `waited` says another tab held the lock just before,
   * so its result is on its way here. Web Locks where the browser has them; otherwise a claim on
   * the channel, where the oldest claim wins (best effort: should messages take longer than
   * CLAIM_MS, two tabs refresh one after the other and the worker's grace window answers both).
   */
  async function exclusive<T>(fn: (waited: boolean) => Promise<T>): Promise<T> {
    const run = async (waited: boolean) => {
      holding = true;
      try {
        return await fn(waited);
      } finally {
        holding = false;
        post({ t: 'free' });
      }
    };
    const locks = globalThis.navigator?.locks;
    if (locks) {
      const now = await locks.request(name, { ifAvailable: true }, async (lock) =>
        lock ? { value: await run(false) } : null,
      );
      return now ? now.value : locks.request(name, () => run(true));
    }
    if (!channel) return fn(false);
    for (;;) {
      const mine: Claim = [Date.now(), id];
      claim = mine;
      post({ t: 'claim', c: mine });
      const lost = await next(
        CLAIM_MS,
        (m) => (m.t === 'busy' && m.c[1] === id) || (m.t === 'claim' && before(m.c, mine)),
      );
      claim = null;
      // The loser has waited for the holder's result: the holder's messages came before `free`.
      if (!lost) return run(false);
      await next(HOLDER_MS, (m) => m.t === 'free');
    }
  }

  post({ t: 'ask' });
  return { post, next, exclusive };
}
