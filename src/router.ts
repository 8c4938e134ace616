import { OpenAPIHono } from '@hono/zod-openapi';
import type { Result, Router } from 'hono/router';
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { AppEnv } from './env';
import { invalidFields } from './errors';

// Enough for every route and the paths its parameters take in a busy isolate; a flood of
// distinct paths only empties it (a Map keyed by what clients send must stay bounded).
const MATCHES_KEPT = 512;

/**
 * Hono's default router, answering a method and path it has answered before from memory. The
 * route table cannot use RegExpRouter (a literal beside a parameter, `/admin/users/import` beside
 * `/admin/users/:id/unlock`, is ambiguous for it), so TrieRouter walks some 260 routes on every
 * request: the largest single cost of the worker's own request floor (bench/README.md, "Request
 * floor"). A match depends on nothing but the method and path, and Hono only reads it.
 */
export class RememberingRouter<T> implements Router<T> {
  readonly name = 'RememberingRouter';
  readonly #router = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] });
  readonly #matches = new Map<string, Result<T>>();

  /** How many answers are kept now (for tests). */
  get kept() {
    return this.#matches.size;
  }

  add(method: string, path: string, handler: T) {
    this.#router.add(method, path, handler);
  }

  match(method: string, path: string): Result<T> {
    const key = `${method} ${path}`;
    let result = this.#matches.get(key);
    if (!result) {
      result = this.#router.match(method, path);
      if (this.#matches.size >= MATCHES_KEPT) this.#matches.clear();
      this.#matches.set(key, result);
    }
    return result;
  }
}

/** A router whose request validation failures become 422 `validation_failed` problems. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    router: new RememberingRouter(),
    defaultHook: (result) => {
      if (result.success) return;
      throw invalidFields(
        result.error.issues.map((issue) => ({
          path: issue.path.map(String).join('.') || '(body)',
          message: issue.message,
        })),
      );
    },
  });
}
