// Keeps the process alive exactly while something is pending: broker and backend sockets are unref'd once connected,
// so a script that has nothing left to do exits without app.close(), as a Python client does. Must not hold anything else.

/**
 * A count of pending work. While it is above zero one ref'd handle keeps Node's event loop running; at zero nothing
 * does, and the process may exit once its own code is done.
 */
export class LoopHold {
  private pending = 0;
  private handle: NodeJS.Timeout | undefined;

  /** Count one piece of work until the returned function is called (calling it again does nothing). */
  acquire(): () => void {
    if (this.pending++ === 0) (this.handle ??= setInterval(() => undefined, 2 ** 30)).ref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.pending === 0) this.handle?.unref();
    };
  }

  /** Hold until `work` settles; returns it unchanged. */
  during<T>(work: Promise<T>): Promise<T> {
    const release = this.acquire();
    work.then(release, release);
    return work;
  }

  /** Whether anything is pending. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Stop holding for good, whatever is still counted (the connections are closed). */
  dispose(): void {
    clearInterval(this.handle);
    this.pending = Number.NEGATIVE_INFINITY;
  }
}

/**
 * The same object, with every method that returns a promise holding `hold` until it settles. A method resolving to
 * something with `cancel()` (a subscription) holds until that is cancelled: a consumer keeps its process running.
 */
export function holdingProxy<T extends object>(target: T, hold: LoopHold): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value !== 'function') return value;
      let fn = wrapped.get(key);
      if (fn === undefined || (fn as { original?: unknown }).original !== value) {
        fn = Object.assign(function (this: unknown, ...args: unknown[]) {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(this === receiver ? obj : this, args);
          if (!isPromise(result)) return result;
          const release = hold.acquire();
          result.then((r) => {
            holdUntilCancelled(r, hold);
            release();
          }, release);
          return result;
        }, { original: value });
        wrapped.set(key, fn);
      }
      return fn;
    },
  });
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

// Runs before the caller's own continuation (registered first), so the caller only ever sees the wrapped cancel().
function holdUntilCancelled(result: unknown, hold: LoopHold): void {
  if (typeof result !== 'object' || result === null || typeof (result as { cancel?: unknown }).cancel !== 'function') return;
  const subscription = result as { cancel(): Promise<void> };
  const release = hold.acquire();
  const cancel = subscription.cancel.bind(subscription);
  subscription.cancel = () => cancel().finally(release);
}
