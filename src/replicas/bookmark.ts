import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env';
import { newer, storage, validBookmark, type ReplicaState } from './request-state';

/** API clients send back the last bookmark they got in this header; every response may carry one. */
export const BOOKMARK_HEADER = 'X-D1-Bookmark';
const SECURE_COOKIE = '__Host-d1_bookmark';
const INSECURE_COOKIE = 'd1_bookmark';
/** Replicas catch up within seconds; a bookmark older than this constrains nothing useful. */
const COOKIE_MAX_AGE = 3600;

const cookieName = (c: Context<AppEnv>) =>
  c.var.config?.COOKIE_INSECURE_DEV ? INSECURE_COOKIE : SECURE_COOKIE;

/**
 * Read-your-writes across requests with D1 read replication. A request's reads start from the
 * bookmark the client presents (the header, else the pages' cookie), so they see at least what
 * that client last wrote or read; without one they start anywhere (`first-unconstrained`). Every
 * write goes to the primary through a session of its own (request-state.ts, primaryFor), and the
 * response hands back the newest bookmark the request saw: in the header always, and in the
 * cookie when the request went to the primary (a form post, a sign-in), so a browser's next page
 * reads its own change. A bookmark that is not D1's shape is ignored, never an error.
 */
export const replication = createMiddleware<AppEnv>(async (c, next) => {
  const offeredCookie = getCookie(c, cookieName(c));
  const bookmark = validBookmark(c.req.header(BOOKMARK_HEADER)) ?? validBookmark(offeredCookie);
  const state: ReplicaState = {
    start: bookmark ?? 'first-unconstrained',
    fromClient: bookmark !== null,
    read: undefined,
    primary: [],
  };
  await storage.run(state, next);

  // A refused request reads nothing back, and its answer must not differ by what it touched
  // (a login's 401 is the same for an unknown address and a wrong password).
  if (c.res.status >= 400) return;
  let written: string | null = null;
  for (const session of state.primary) written = newer(written, session.getBookmark());
  const latest = newer(written, state.read?.getBookmark() ?? null);
  if (latest === null) return;
  c.header(BOOKMARK_HEADER, latest);
  // The cookie is for browsers on the pages (an HTML answer or a form's redirect); API clients
  // carry the header, and their responses' cookies stay exactly the contract's.
  const page =
    (c.res.status >= 300 && c.res.status < 400) ||
    (c.res.headers.get('Content-Type') ?? '').startsWith('text/html');
  const known = validBookmark(offeredCookie);
  if (page && written !== null && newer(known, written) !== known) {
    const secure = c.var.config?.COOKIE_INSECURE_DEV ? '' : '; Secure';
    c.header(
      'Set-Cookie',
      `${cookieName(c)}=${written}; Path=/; Max-Age=${COOKIE_MAX_AGE}; HttpOnly${secure}; SameSite=Lax`,
      { append: true },
    );
  }
});
