/**
 * A promise with its resolve/reject exposed, settled at most once. Link implementations keep one
 * per pending send/receive so that a close, a timeout, an abort or the data itself can settle it,
 * whichever comes first, and the losers become no-ops instead of double settlements.
 */

/** A promise settled from outside, at most once; later settle calls are ignored. */
export class Deferred<T> {
  /** The promise the caller awaits. */
  readonly promise: Promise<T>;
  #resolve!: (value: T) => void;
  #reject!: (reason: unknown) => void;
  #settled = false;
  #onSettle: Array<() => void> = [];

  constructor() {
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** Whether resolve or reject has been called. */
  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves the promise; returns false (and does nothing) if it was already settled. */
  resolve(value: T): boolean {
    if (!this.#begin()) return false;
    this.#resolve(value);
    return true;
  }

  /** Rejects the promise; returns false (and does nothing) if it was already settled. */
  reject(reason: unknown): boolean {
    if (!this.#begin()) return false;
    this.#reject(reason);
    return true;
  }

  /**
   * Registers cleanup (clear a timer, remove a listener) run synchronously when the promise
   * settles, or at once if it already has.
   */
  onSettle(fn: () => void): void {
    if (this.#settled) fn();
    else this.#onSettle.push(fn);
  }

  /** Marks settled and runs the cleanups; false if already settled. */
  #begin(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    const cleanups = this.#onSettle;
    this.#onSettle = [];
    for (const fn of cleanups) fn();
    return true;
  }
}
