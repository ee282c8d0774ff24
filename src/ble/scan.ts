/**
 * One scan with a deadline, an abort signal and a guaranteed stop, whatever stack scans: the
 * noble and react-native-ble-plx adapters run their scans through {@link runScan}, so a scan
 * always stops and removes its listeners however it ends (a match, the deadline, an abort, an
 * adapter error).
 *
 * Pure: timers from an injected Clock.
 */

import { AbortError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import type { GattSettle } from './gatt-op.js';

/** What {@link runScan} runs. */
export interface ScanRun<T> {
  clock: Clock;
  /** Deadline in ms of the clock. */
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * The outcome when the deadline passes: return the value the scan resolves with (what was
   * heard so far), or throw the error it rejects with (nothing was found).
   */
  atDeadline(): T;
  /**
   * Registers the scan's listeners and starts scanning, settling through `settle` on a match or
   * an adapter error; returns the function that stops the scan and removes the listeners, run
   * exactly once however the scan ends. Must not throw: map the stack's refusal to `reject`.
   */
  start(settle: GattSettle<T>): () => void;
}

/** Runs one scan; rejects with AbortError on `signal`. */
export function runScan<T>(run: ScanRun<T>): Promise<T> {
  const { clock, timeoutMs, signal } = run;
  if (signal?.aborted === true) return Promise.reject(new AbortError('scan aborted', { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let stop: (() => void) | null = null;
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop?.();
      settle();
    };
    const onAbort = (): void => finish(() => reject(new AbortError('scan aborted', { cause: signal?.reason })));
    const timer = clock.setTimeout(() => {
      finish(() => {
        try {
          resolve(run.atDeadline());
        } catch (err) {
          reject(err);
        }
      });
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const cleanup = run.start({ resolve: (value) => finish(() => resolve(value)), reject: (err) => finish(() => reject(err)) });
    // Settled while starting (the stack refused at once): stop now, nothing else will.
    if (done) cleanup();
    else stop = cleanup;
  });
}
