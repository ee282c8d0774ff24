/**
 * One direction of the radio: schedules GATT chunks onto BLE connection events.
 * docs/TRANSPORT.md §Mock link, "Timing model".
 *
 * The link layer exchanges packets only at connection events, one every `connectionIntervalMs`
 * from the moment the connection was made (Bluetooth Core v5.4 Vol 6 Part B §4.5.1). A stack
 * moves only a few packets per event in each direction, so at most `packetsPerEvent` chunks leave
 * per event here. A chunk handed to the radio at time t leaves at the first event strictly after
 * t: data that becomes ready at an event instant (typically a reply computed from what just
 * arrived) cannot make that same event. It arrives `extraLatencyMs` after leaving, which models a
 * relay between the radios. Chunks leave in the order they were handed over (ATT is sequential),
 * so per-direction order is preserved.
 */

import type { Clock, TimerHandle } from '../clock.js';

/** Timing parameters shared by both directions of a connection. */
export interface AirTiming {
  /** Virtual time of the connection's anchor point: event k happens at `anchorMs + k × interval`. */
  readonly anchorMs: number;
  readonly connectionIntervalMs: number;
  readonly packetsPerEvent: number;
  readonly extraLatencyMs: number;
}

/** Time of the first connection event strictly after `timeMs`. */
export function nextEventAfterMs(timing: AirTiming, timeMs: number): number {
  const { anchorMs, connectionIntervalMs } = timing;
  return anchorMs + (Math.floor((timeMs - anchorMs) / connectionIntervalMs) + 1) * connectionIntervalMs;
}

/** A chunk on the air. */
interface InFlight {
  readonly chunk: Uint8Array;
  readonly arriveMs: number;
  /** Runs right after the chunk is delivered (e.g. resolves the sender's write). */
  readonly onArrived: (() => void) | undefined;
}

/** The slot allocator's state: the latest event used and how many packets it already carries. */
interface SlotState {
  eventIndex: number;
  used: number;
}

/** One direction of a mock BLE connection. */
export class AirChannel {
  readonly #clock: Clock;
  readonly #timing: AirTiming;
  readonly #deliver: (chunk: Uint8Array) => void;
  #slots: SlotState = { eventIndex: 0, used: 0 };
  #queue: InFlight[] = [];
  #timer: TimerHandle | undefined;
  #dead = false;

  /** `deliver` receives each chunk at its arrival time, in order. */
  constructor(clock: Clock, timing: AirTiming, deliver: (chunk: Uint8Array) => void) {
    this.#clock = clock;
    this.#timing = timing;
    this.#deliver = deliver;
  }

  /** Whether the radio has stopped (link closed or lost): nothing more is delivered. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Chunks handed to the radio and not yet delivered. */
  get inFlight(): number {
    return this.#queue.length;
  }

  /**
   * Arrival time of the last of `n` chunks if they were handed over now, without reserving
   * anything. Used to time a send whose bytes an adversary swallowed.
   */
  plan(n: number): number {
    const slots = { ...this.#slots };
    let departMs = this.#clock.now();
    for (let i = 0; i < n; i++) departMs = this.#allocate(slots);
    return departMs + this.#timing.extraLatencyMs;
  }

  /**
   * Hands chunks to the radio now. `onLastArrived` runs right after the last one is delivered;
   * never if the radio dies first. Does nothing on a dead radio.
   */
  transmit(chunks: readonly Uint8Array[], onLastArrived?: () => void): void {
    if (this.#dead) return;
    chunks.forEach((chunk, i) => {
      const arriveMs = this.#allocate(this.#slots) + this.#timing.extraLatencyMs;
      this.#queue.push({ chunk, arriveMs, onArrived: i === chunks.length - 1 ? onLastArrived : undefined });
    });
    this.#arm();
  }

  /** Stops the radio: chunks in flight are lost and nothing more is delivered. */
  kill(): void {
    this.#dead = true;
    this.#queue = [];
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Reserves a slot in the first event strictly after now with room left; returns its time. */
  #allocate(slots: SlotState): number {
    const { anchorMs, connectionIntervalMs, packetsPerEvent } = this.#timing;
    let k = Math.floor((this.#clock.now() - anchorMs) / connectionIntervalMs) + 1;
    if (k < slots.eventIndex) k = slots.eventIndex;
    if (k === slots.eventIndex && slots.used >= packetsPerEvent) k += 1;
    if (k !== slots.eventIndex) {
      slots.eventIndex = k;
      slots.used = 0;
    }
    slots.used += 1;
    return anchorMs + k * connectionIntervalMs;
  }

  /** Sets the delivery timer for the head of the queue, if not already set. */
  #arm(): void {
    const head = this.#queue[0];
    if (head === undefined || this.#timer !== undefined || this.#dead) return;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(), head.arriveMs - this.#clock.now());
  }

  /** Delivers every chunk due now, in order, stopping if a delivery kills the radio. */
  #onTimer(): void {
    this.#timer = undefined;
    const nowMs = this.#clock.now();
    while (!this.#dead) {
      const head = this.#queue[0];
      if (head === undefined || head.arriveMs > nowMs) break;
      this.#queue.shift();
      this.#deliver(head.chunk);
      if (!this.#dead) head.onArrived?.();
    }
    this.#arm();
  }
}
