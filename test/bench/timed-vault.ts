/**
 * A Vault wrapper that adds up the time spent in each call. The memory vault's methods are
 * `async` with no await inside, so the synchronous part of a call is all of its CPU; that is
 * what this counts. The scale rows use it to split the vehicle's time into store writes and the
 * rest of authentication (docs/BENCHMARKS.md §Scale).
 */
import type { Vault } from '../../src/store/vault.js';

/** Vault methods that are timed. */
const METHODS = ['get', 'put', 'putMany', 'delete', 'list', 'appendLog', 'readLog', 'close'] as const;

/** A vault and its running total. */
export interface TimedVault {
  readonly vault: Vault;
  /** Total ms spent in synchronous vault code so far. */
  totalMs(): number;
}

/** Wraps `inner` so the synchronous part of every call is timed. */
export function timeVault(inner: Vault): TimedVault {
  let total = 0;
  const wrapped: Record<string, unknown> = {};
  for (const method of METHODS) {
    const fn = (inner[method] as (...args: unknown[]) => Promise<unknown>).bind(inner);
    wrapped[method] = (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return fn(...args);
      } finally {
        total += performance.now() - t0;
      }
    };
  }
  return { vault: wrapped as unknown as Vault, totalMs: () => total };
}
