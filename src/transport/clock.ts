/**
 * Injected time. Protocol code never reads the wall clock or sets a timer directly: it takes a
 * {@link Clock}, so tests can run BLE-timed scenarios on virtual time, instantly and
 * deterministically.
 */

/** Opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** A source of time and timers. */
export interface Clock {
  /** Milliseconds since an arbitrary epoch (monotonic for the mock, Unix ms for the system clock). */
  now(): number;
  /** Runs `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a no-op for an unknown or fired handle. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and the global timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
};
