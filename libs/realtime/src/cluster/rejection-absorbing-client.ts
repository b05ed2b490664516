/**
 * Wraps a Redis client so that a command whose promise nobody handles cannot end the
 * process. Socket.IO's Redis adapter fires many commands without a catch (every PUBLISH of
 * `serverSideEmit`, room joins, the subscriber's (un)subscribes); node-redis rejects them
 * when Redis is gone, and an unhandled rejection exits Node. Every promise a method returns
 * gets a handler that reports the failure; the caller still receives the same promise, so
 * code that awaits it sees the error as before.
 */
export function absorbRejections<T extends object>(
  client: T,
  onFailure: (command: string, error: unknown) => void,
): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (!method) {
        const command = String(property);
        method = function (this: unknown, ...args: unknown[]): unknown {
          // The real client as `this`: node-redis keeps its state in private fields.
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (isThenable(result)) result.then(undefined, (error) => onFailure(command, error));
          return result;
        };
        wrapped.set(property, method);
      }
      return method;
    },
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
