// The one Node API the worker uses (the `nodejs_als` compatibility flag), typed here rather than
// pulling @types/node into the worker's types.
declare module 'node:async_hooks' {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, callback: () => R): R;
    getStore(): T | undefined;
  }
}
