/**
 * Virtual time for tests and benchmarks. A {@link VirtualClock} is a {@link Clock} whose time only
 * moves when a test drives it, so a BLE exchange that takes seconds of radio time runs in
 * milliseconds and gives the same trace on every run, on any machine.
 *
 * Driving alternates two steps until the awaited promise settles: let pending promise chains
 * run (by awaiting one real macrotask, which drains every queued microtask first), then jump to
 * the earliest timer and fire it. Timers fire in due-time order, ties in the order they were set,
 * exactly like a real event loop with no jitter.
 *
 * Limit: code under virtual time must wait only on this clock or on promise chains. Real
 * asynchronous I/O (WebCrypto, the file system) may complete after the clock has already jumped
 * past a timeout; pass a slower `settle` if you must mix them, and expect less determinism.
 */

import { TimeoutError, UsageError } from '../../errors.js';
import type { Clock, TimerHandle } from '../clock.js';

/** Options of a {@link VirtualClock}. */
export interface VirtualClockOptions {
  /**
   * Lets pending promise chains run before the clock fires the next timer. Default: one real
   * macrotask turn (`setImmediate` where it exists, else `setTimeout(0)`), which drains the
   * microtask queue completely.
   */
  settle?: () => Promise<void>;
}

/** Options of {@link VirtualClock.runUntilSettled}. */
export interface RunUntilSettledOptions {
  /** Most virtual time to let pass, in ms, before giving up (default 3 600 000: one hour). */
  maxMs?: number;
  /** Most timers to fire before giving up, against zero-delay timer loops (default 1 000 000). */
  maxTimers?: number;
}

/** Default cap on virtual time for {@link VirtualClock.runUntilSettled}, in ms. */
export const DEFAULT_RUN_MAX_MS = 3_600_000;
/** Default cap on timers fired by one {@link VirtualClock.runUntilSettled}. */
export const DEFAULT_RUN_MAX_TIMERS = 1_000_000;

/** One scheduled callback. */
interface VirtualTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly fn: () => void;
}

/** Outcome of a promise observed without awaiting it. */
type Outcome<T> = { done: false } | { done: true; ok: true; value: T } | { done: true; ok: false; error: unknown };

/** Awaits one real macrotask; the microtask queue is fully drained before it runs. */
function realMacrotask(): Promise<void> {
  return new Promise((resolve) => {
    // setImmediate is Node's; React Native and browsers fall back to a zero-delay timeout.
    const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
    if (typeof immediate === 'function') immediate(() => resolve());
    else globalThis.setTimeout(resolve, 0);
  });
}

/** A deterministic {@link Clock} driven explicitly by the test. */
export class VirtualClock implements Clock {
  #nowMs: number;
  #nextId = 1;
  /** Pending timers sorted by due time, then by creation (ids increase). */
  #timers: VirtualTimer[] = [];
  readonly #settle: () => Promise<void>;
  /** Tail of the queue of drivers: advance/runUntilSettled calls take turns, never interleave. */
  #driverTail: Promise<void> = Promise.resolve();

  /**
   * @param startMs virtual time at creation, in ms (default 0; pass a Unix time in ms to test
   *   code that compares against real dates, such as grant expiry).
   * @throws UsageError if `startMs` is not finite.
   */
  constructor(startMs = 0, options: VirtualClockOptions = {}) {
    if (typeof startMs !== 'number' || !Number.isFinite(startMs)) {
      throw new UsageError('CLOCK_BAD_START', '"startMs" must be a finite number');
    }
    this.#nowMs = startMs;
    this.#settle = options.settle ?? realMacrotask;
  }

  /** Current virtual time in ms. Only moves forward, and only while the clock is driven. */
  now(): number {
    return this.#nowMs;
  }

  /**
   * Schedules `fn` at `now() + ms`. Like the global setTimeout, a negative or non-finite delay
   * counts as 0. Returns a numeric handle.
   *
   * @throws UsageError if `fn` is not a function.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (typeof fn !== 'function') {
      throw new UsageError('CLOCK_BAD_CALLBACK', '"fn" must be a function');
    }
    const delayMs = typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: VirtualTimer = { id: this.#nextId++, dueMs: this.#nowMs + delayMs, fn };
    // Upper bound: after every timer due at or before this one, so equal due times keep creation order.
    let lo = 0;
    let hi = this.#timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#timers[mid] as VirtualTimer).dueMs <= timer.dueMs) lo = mid + 1;
      else hi = mid;
    }
    this.#timers.splice(lo, 0, timer);
    return timer.id;
  }

  /** Cancels a timer; a no-op for an unknown, fired or foreign handle. */
  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((t) => t.id === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** Number of timers waiting to fire. Zero once a scenario has fully wound down. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Due time of the next timer in ms, or undefined if none is pending. */
  get nextTimerAtMs(): number | undefined {
    return this.#timers[0]?.dueMs;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way, in order, and
   * letting promise chains run after each one (so a timer set by a continuation is honoured if it
   * falls within the window). Ends with `now()` exactly `ms` later.
   *
   * @throws UsageError if `ms` is not a finite number ≥ 0. Rejects with whatever a timer callback throws.
   */
  advance(ms: number): Promise<void> {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      return Promise.reject(new UsageError('CLOCK_BAD_DURATION', '"ms" must be a finite number ≥ 0'));
    }
    return this.#exclusive(async () => {
      const targetMs = this.#nowMs + ms;
      for (;;) {
        await this.#settle();
        const next = this.#timers[0];
        if (next === undefined || next.dueMs > targetMs) break;
        this.#fire(next);
      }
      this.#nowMs = targetMs;
    });
  }

  /**
   * Drives the clock until `promise` settles and returns its outcome: alternately lets pending
   * promise chains run and fires the earliest timer.
   *
   * Rejects with UsageError `VIRTUAL_CLOCK_DEADLOCK` if the promise is still pending while no timer
   * is (nothing can ever settle it), and with TimeoutError `VIRTUAL_TIME_LIMIT` if settling it would
   * take more than `maxMs` of virtual time or more than `maxTimers` timers.
   */
  runUntilSettled<T>(promise: Promise<T>, options: RunUntilSettledOptions = {}): Promise<T> {
    const maxMs = options.maxMs ?? DEFAULT_RUN_MAX_MS;
    const maxTimers = options.maxTimers ?? DEFAULT_RUN_MAX_TIMERS;
    if (!Number.isFinite(maxMs) || maxMs < 0 || !Number.isSafeInteger(maxTimers) || maxTimers < 0) {
      return Promise.reject(new UsageError('CLOCK_BAD_OPTIONS', '"maxMs" and "maxTimers" must be finite and ≥ 0'));
    }
    let outcome: Outcome<T> = { done: false };
    promise.then(
      (value) => (outcome = { done: true, ok: true, value }),
      (error: unknown) => (outcome = { done: true, ok: false, error }),
    );
    return this.#exclusive(async () => {
      const limitMs = this.#nowMs + maxMs;
      for (let fired = 0; ; fired++) {
        await this.#settle();
        const seen = outcome as Outcome<T>;
        if (seen.done) {
          if (seen.ok) return seen.value;
          throw seen.error;
        }
        const next = this.#timers[0];
        if (next === undefined) {
          throw new UsageError(
            'VIRTUAL_CLOCK_DEADLOCK',
            `promise still pending at virtual time ${this.#nowMs} ms and no timer is pending: nothing can settle it`,
          );
        }
        if (next.dueMs > limitMs || fired >= maxTimers) {
          throw new TimeoutError(
            'VIRTUAL_TIME_LIMIT',
            `promise still pending after ${this.#nowMs - (limitMs - maxMs)} ms of virtual time and ${fired} timers`,
          );
        }
        this.#fire(next);
      }
    });
  }

  /** Removes the earliest timer, moves time to its due time and runs it. */
  #fire(timer: VirtualTimer): void {
    this.#timers.shift();
    if (timer.dueMs > this.#nowMs) this.#nowMs = timer.dueMs;
    timer.fn();
  }

  /** Runs `drive` after every earlier driver has finished, so two drivers never interleave. */
  #exclusive<T>(drive: () => Promise<T>): Promise<T> {
    const run = this.#driverTail.then(drive);
    this.#driverTail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
