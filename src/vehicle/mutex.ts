/**
 * A promise-chain mutex. Key-registry changes read state, await a durable write, then act on
 * what they read; two such changes interleaving at the await (two owners revoking each other,
 * one key spending its last use on two links) would both pass their checks. Running them one at
 * a time, with the check inside, closes that window.
 */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every earlier holder has finished; a failure does not poison the lock. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
