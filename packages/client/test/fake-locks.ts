// The Web Locks API as browsers implement the part the client uses: exclusive locks granted in
// request order, and `ifAvailable`. Node 20 has no `navigator.locks`.
type Callback = (lock: { name: string } | null) => unknown;

export function installFakeLocks() {
  const held = new Set<string>();
  const queues = new Map<string, (() => void)[]>();
  const acquire = (name: string) =>
    new Promise<void>((resolve) => {
      if (!held.has(name)) {
        held.add(name);
        resolve();
      } else queues.set(name, [...(queues.get(name) ?? []), resolve]);
    });
  const release = (name: string) => {
    const next = queues.get(name)?.shift();
    if (next) next();
    else held.delete(name);
  };
  const locks = {
    async request(name: string, a: { ifAvailable?: boolean } | Callback, b?: Callback) {
      const [options, callback] = typeof a === 'function' ? [{}, a] : [a, b!];
      if (options.ifAvailable && held.has(name)) return callback(null);
      await acquire(name);
      try {
        return await callback({ name });
      } finally {
        release(name);
      }
    },
  };
  const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true });
  return () => {
    if (original) Object.defineProperty(globalThis, 'navigator', original);
    else Reflect.deleteProperty(globalThis, 'navigator');
  };
}
