/**
 * One GATT operation at a time, with a deadline and a guaranteed cleanup.
 *
 * BLE stacks do not always answer: noble's HCI binding never settles a write that got an ATT
 * error response, a read on a dead link may hang until the supervision timeout, and callback
 * APIs leave their listeners behind when the answer never comes. So every operation here
 * registers its own listeners, removes them however it ends (answer, timeout, disconnect), and
 * rejects at the latest after its timeout. ATT allows a server 30 s (Core v5.4 Vol 3 Part F
 * §3.3.3); we use shorter, configurable deadlines.
 *
 * Pure: timers come from an injected Clock.
 */

import { TimeoutError, TransportError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import { Deferred } from '../transport/deferred.js';
import { BleErrorCode } from './codes.js';

/** How an operation's `start` settles it. */
export interface GattSettle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * Starts an operation: registers listeners, issues the request, and returns the cleanup that
 * removes the listeners (run exactly once, however the operation ends).
 */
export type GattStart<T> = (settle: GattSettle<T>) => () => void;

/** Options of one operation. */
export interface GattOpOptions {
  /** Name for messages, e.g. `write toVehicle`. */
  name: string;
  /** Deadline in ms of the Clock. */
  timeoutMs: number;
  /** Whether the effect may have happened if no answer comes (true for writes). */
  mayHaveSucceeded?: boolean;
}

/**
 * The pending GATT operations of one connection. {@link failAll} rejects every one of them (and
 * every later one) when the connection drops, so nothing waits for an answer that cannot come.
 */
export class GattOps {
  readonly #clock: Clock;
  readonly #pending = new Set<Deferred<unknown>>();
  #failure: Error | null = null;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Operations in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Runs one operation. Rejects with TimeoutError `BLE_GATT_TIMEOUT` after `timeoutMs`, with the
   * failAll error once the connection is gone, and with TransportError `BLE_GATT_FAILED` if
   * `start` throws.
   */
  run<T>(options: GattOpOptions, start: GattStart<T>): Promise<T> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const op = new Deferred<T>();
    this.#pending.add(op as Deferred<unknown>);
    op.onSettle(() => this.#pending.delete(op as Deferred<unknown>));
    const { name, timeoutMs, mayHaveSucceeded = false } = options;
    const timer = this.#clock.setTimeout(() => {
      op.reject(new TimeoutError(BleErrorCode.gattTimeout, `${name}: no answer within ${timeoutMs} ms`, { mayHaveSucceeded }));
    }, timeoutMs);
    op.onSettle(() => this.#clock.clearTimeout(timer));
    let cleanup: (() => void) | undefined;
    try {
      cleanup = start({ resolve: (v) => op.resolve(v), reject: (e) => op.reject(e) });
    } catch (err) {
      op.reject(new TransportError(BleErrorCode.gattFailed, `${name}: the BLE stack refused the request`, { cause: err, mayHaveSucceeded }));
    }
    if (cleanup !== undefined) op.onSettle(cleanup);
    return op.promise;
  }

  /** Rejects every pending operation, and every later one, with `error`. Idempotent. */
  failAll(error: Error): void {
    if (this.#failure === null) this.#failure = error;
    for (const op of [...this.#pending]) op.reject(error);
  }
}

/** Minimal event-emitter surface the adapters use on noble and bleno objects. */
export interface Emitter {
  // `any[]`: listeners of Node's EventEmitter take any arguments; each `listen` call site types its own.
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * Adds `listener` for `event` on `emitter` and returns the function removing it: every listener
 * the adapters add is removed through one of these, so none outlives its connection.
 */
export function listen<A extends unknown[]>(emitter: Emitter, event: string, listener: (...args: A) => void): () => void {
  const l = listener as unknown as (...args: unknown[]) => void;
  emitter.on(event, l);
  return () => {
    emitter.removeListener(event, l);
  };
}
