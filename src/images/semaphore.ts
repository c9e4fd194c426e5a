// Hand-written rather than a dependency: no limiter (p-limit, p-queue) is
// installed, and what is needed here (a FIFO of waiters that an AbortSignal can
// remove, so a client that hung up stops holding a place in the queue) is a few
// lines.

export type Release = () => void;

export class Semaphore {
  #available: number;
  readonly #waiters = new Set<() => void>();

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`Semaphore permits must be a positive integer, got ${permits}`);
    }
    this.#available = permits;
  }

  /** Number of callers waiting for a permit. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves with a release function once a permit is free. Rejects with
   * `signal.reason` if the signal aborts first; the caller then holds nothing.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
    try {
      signal?.throwIfAborted();
    } catch (reason) {
      return Promise.reject(reason);
    }
    if (this.#available > 0) {
      this.#available--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(grant);
        reject(signal?.reason);
      };
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(this.#releaser());
      };
      this.#waiters.add(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  // Idempotent, so a double release in a finally block cannot mint a permit.
  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // Hand the permit straight to the oldest waiter (Set keeps insertion order).
      const next = this.#waiters.values().next();
      if (next.done) {
        this.#available++;
      } else {
        this.#waiters.delete(next.value);
        next.value();
      }
    };
  }
}
