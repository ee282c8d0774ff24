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
 *
 * A direction may be *acknowledged* (ATT Write Request answered by a Write Response, or Handle
 * Value Indication answered by a Confirmation: Core v5.4 Vol 3 Part F §3.4.5.1, §3.4.7.2): then
 * only one chunk is outstanding at a time. The receiver's acknowledgement takes a packet slot in
 * the other direction at the first event strictly after the chunk landed, and the next chunk
 * leaves at the first event strictly after the acknowledgement landed (§3.3.2: one request and
 * one indication outstanding per bearer). So an acknowledged chunk costs two events, not one.
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

/** A chunk on the air, or (chunk null) an acknowledgement travelling back to a sender. */
interface InFlight {
  readonly chunk: Uint8Array | null;
  readonly arriveMs: number;
  /** Runs right after the chunk is delivered (e.g. resolves the sender's write). */
  readonly onArrived: (() => void) | undefined;
}

/** The slot allocator's state: the latest event used and how many packets it already carries. */
interface SlotState {
  eventIndex: number;
  used: number;
}

/**
 * How the receiver acknowledges an acknowledged direction's chunk: it sends the acknowledgement
 * (on the other direction's radio) and calls `released` when it reaches the sender.
 */
export type Acknowledge = (released: () => void) => void;

/** A chunk handed over but not yet on the air (acknowledged directions only). */
interface Waiting {
  readonly chunk: Uint8Array;
  readonly onArrived: (() => void) | undefined;
}

/** One direction of a mock BLE connection. */
export class AirChannel {
  readonly #clock: Clock;
  readonly #timing: AirTiming;
  readonly #deliver: (chunk: Uint8Array) => void;
  readonly #acknowledge: Acknowledge | undefined;
  #slots: SlotState = { eventIndex: 0, used: 0 };
  #queue: InFlight[] = [];
  /** Acknowledged direction: chunks waiting for the outstanding one's acknowledgement. */
  #waiting: Waiting[] = [];
  #outstanding = false;
  #timer: TimerHandle | undefined;
  #dead = false;

  /**
   * `deliver` receives each chunk at its arrival time, in order. With `acknowledge`, the
   * direction is acknowledged (see the module comment).
   */
  constructor(clock: Clock, timing: AirTiming, deliver: (chunk: Uint8Array) => void, acknowledge?: Acknowledge) {
    this.#clock = clock;
    this.#timing = timing;
    this.#deliver = deliver;
    this.#acknowledge = acknowledge;
  }

  /** Whether the radio has stopped (link closed or lost): nothing more is delivered. */
  get dead(): boolean {
    return this.#dead;
  }

  /** Chunks handed to the radio and not yet delivered. */
  get inFlight(): number {
    return this.#queue.filter((f) => f.chunk !== null).length + this.#waiting.length;
  }

  /**
   * When `n` chunks handed over now would be done (landed; acknowledged, on an acknowledged
   * direction), without reserving anything. Times a send whose bytes an adversary swallowed; on
   * an acknowledged direction it ignores chunks already waiting and the other direction's load.
   */
  plan(n: number): number {
    const slots = { ...this.#slots };
    const { extraLatencyMs } = this.#timing;
    const nowMs = this.#clock.now();
    let doneMs = nowMs;
    for (let i = 0; i < n; i++) {
      // Unacknowledged chunks queue from now; an acknowledged one waits for its predecessor's acknowledgement.
      const arriveMs = this.#allocate(slots, this.#acknowledge ? doneMs : nowMs) + extraLatencyMs;
      doneMs = this.#acknowledge ? nextEventAfterMs(this.#timing, arriveMs) + extraLatencyMs : arriveMs;
    }
    return doneMs;
  }

  /**
   * Hands chunks to the radio now. `onLastArrived` runs right after the last one is delivered
   * (acknowledged direction: right after its acknowledgement reached the sender); never if the
   * radio dies first. Does nothing on a dead radio.
   */
  transmit(chunks: readonly Uint8Array[], onLastArrived?: () => void): void {
    if (this.#dead) return;
    chunks.forEach((chunk, i) => {
      const onArrived = i === chunks.length - 1 ? onLastArrived : undefined;
      if (this.#acknowledge) this.#waiting.push({ chunk, onArrived });
      else this.#queue.push({ chunk, arriveMs: this.#allocate(this.#slots) + this.#timing.extraLatencyMs, onArrived });
    });
    if (this.#acknowledge) this.#launch();
    this.#arm();
  }

  /**
   * Puts an acknowledgement for the other direction on the air now (it takes a packet slot like
   * a chunk); `onArrived` runs when it lands. Does nothing on a dead radio.
   */
  transmitAck(onArrived: () => void): void {
    if (this.#dead) return;
    this.#queue.push({ chunk: null, arriveMs: this.#allocate(this.#slots) + this.#timing.extraLatencyMs, onArrived });
    this.#arm();
  }

  /** Stops the radio: chunks in flight are lost and nothing more is delivered. */
  kill(): void {
    this.#dead = true;
    this.#queue = [];
    this.#waiting = [];
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Acknowledged direction: puts the next waiting chunk on the air unless one is outstanding. */
  #launch(): void {
    const next = this.#outstanding ? undefined : this.#waiting.shift();
    if (next === undefined) return;
    this.#outstanding = true;
    this.#queue.push({ chunk: next.chunk, arriveMs: this.#allocate(this.#slots) + this.#timing.extraLatencyMs, onArrived: next.onArrived });
  }

  /** The outstanding chunk's acknowledgement reached the sender: its write is done, the next may go. */
  #released(onArrived: (() => void) | undefined): void {
    if (this.#dead) return;
    this.#outstanding = false;
    onArrived?.();
    this.#launch();
    this.#arm();
  }

  /** Reserves a slot in the first event strictly after `fromMs` (default now) with room left; returns its time. */
  #allocate(slots: SlotState, fromMs = this.#clock.now()): number {
    const { anchorMs, connectionIntervalMs, packetsPerEvent } = this.#timing;
    let k = Math.floor((fromMs - anchorMs) / connectionIntervalMs) + 1;
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
      if (head.chunk === null) {
        head.onArrived?.();
        continue;
      }
      this.#deliver(head.chunk);
      if (this.#dead) break;
      if (this.#acknowledge) this.#acknowledge(() => this.#released(head.onArrived));
      else head.onArrived?.();
    }
    this.#arm();
  }
}
