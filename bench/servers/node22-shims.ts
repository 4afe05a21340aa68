/**
 * PostGraphile 5.1 declares `engines: node >= 22`. The one newer API it uses
 * that Node 20 lacks is `Promise.withResolvers` (ES2024; without it every
 * query fails with "Cannot read properties of undefined (reading 'items')").
 * This is the specification's behaviour in a few lines; imported first by the
 * peer's server, and a no-op on Node 22 and later.
 */

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promise = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };

if (typeof promise.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve: Resolvers<T>["resolve"] = () => {};
      let reject: Resolvers<T>["reject"] = () => {};
      const created = new Promise<T>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      return { promise: created, resolve, reject };
    },
  });
}

export const shimmed = true;
