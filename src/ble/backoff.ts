/**
 * Retry with exponential backoff, for reconnecting to a vehicle whose radio link dropped or that
 * was briefly out of range (docs/BLE.md §Timeouts and reconnect).
 *
 * By default only errors that say they are retryable and did NOT possibly run a command are
 * retried: a link that died after an unlock left the phone may have opened the car, and the
 * application must decide (and tell the user) before trying again.
 *
 * Pure: time comes from an injected Clock, jitter from an injected random function.
 */

import { DigitalKeyError, UsageError } from '../errors.js';
import { systemClock, type Clock } from '../transport/clock.js';
import { sleep } from '../transport/link-op.js';
import { BleErrorCode } from './codes.js';

/** Options of {@link withBackoff}. */
export interface BackoffOptions {
  /** Clock for the waits (default systemClock). */
  clock?: Clock;
  /** Attempts in total, the first included (default 4). */
  attempts?: number;
  /** Wait before the first retry, in ms (default 250). */
  initialDelayMs?: number;
  /** Longest wait between attempts, in ms (default 4000). */
  maxDelayMs?: number;
  /** Growth factor of the wait (default 2). */
  factor?: number;
  /** Fraction of each wait that is randomised downwards, in [0, 1] (default 0.2): phones that lost the same car do not retry in lockstep. */
  jitter?: number;
  /** Uniform random number in [0, 1) for the jitter (default Math.random: not a secret). */
  random?: () => number;
  /** Cancels the waits and further attempts; the pending wait rejects with AbortError. */
  signal?: AbortSignal;
  /** Whether to retry after `error` (attempt is 1-based). Default: {@link isRetryable}. */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Told before each wait, e.g. to log "retrying in 500 ms". */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/** Default retry rule: a DigitalKeyError marked retryable that cannot have run a command. */
export function isRetryable(error: unknown): boolean {
  return error instanceof DigitalKeyError && error.retryable && !error.mayHaveSucceeded;
}

/** Checks a numeric option. */
function check(value: number, name: string, ok: boolean): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok) {
    throw new UsageError(BleErrorCode.badOptions, `"${name}" is out of range`);
  }
}

/**
 * Wait before retry number `retry` (1-based): `min(maxDelayMs, initialDelayMs × factor^(retry−1))`,
 * reduced by up to `jitter` of itself.
 */
export function backoffDelayMs(retry: number, options: BackoffOptions = {}): number {
  const { initialDelayMs = 250, maxDelayMs = 4_000, factor = 2, jitter = 0.2, random = Math.random } = options;
  const base = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, retry - 1));
  const r = random();
  return Math.round(base * (1 - jitter * (Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0)));
}

/**
 * Runs `attempt` until it resolves, retrying failures that `shouldRetry` accepts after a growing
 * wait. Rejects with the last error when attempts run out or an error is not retryable.
 *
 * @throws UsageError on a malformed option.
 */
export async function withBackoff<T>(attempt: (n: number) => Promise<T>, options: BackoffOptions = {}): Promise<T> {
  const { clock = systemClock, attempts = 4, initialDelayMs = 250, maxDelayMs = 4_000, factor = 2, jitter = 0.2 } = options;
  check(attempts, 'attempts', Number.isSafeInteger(attempts) && attempts >= 1);
  check(initialDelayMs, 'initialDelayMs', initialDelayMs >= 0);
  check(maxDelayMs, 'maxDelayMs', maxDelayMs >= initialDelayMs);
  check(factor, 'factor', factor >= 1);
  check(jitter, 'jitter', jitter >= 0 && jitter <= 1);
  const shouldRetry = options.shouldRetry ?? isRetryable;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= attempts || !shouldRetry(err, n) || options.signal?.aborted === true) throw err;
      const delayMs = backoffDelayMs(n, options);
      options.onRetry?.(err, n, delayMs);
      await sleep(clock, delayMs, options.signal);
    }
  }
}
