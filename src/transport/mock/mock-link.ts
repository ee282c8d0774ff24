/**
 * An in-memory BLE connection between a phone and a vehicle, for tests and benchmarks.
 * docs/TRANSPORT.md §Mock link.
 *
 * It is an honest model, not a pipe: the MTU is negotiated, every message is framed and cut with
 * the real fragmenter and rebuilt with the real Reassembler, chunks travel only at connection
 * events with a bounded number per event, the radio can be lost at any moment, and an adversary
 * can drop, alter, delay, reorder, duplicate or inject messages and chunks. Everything runs on an
 * injected Clock (a VirtualClock in tests), so scenarios are instant and deterministic.
 */

import { MAX_FRAME_LENGTH_BYTES } from '../../constants.js';
import { FramingError, UsageError } from '../../errors.js';
import { Reassembler, chunkCount, fragment } from '../../wire/framing.js';
import type { TimerHandle } from '../clock.js';
import { Deferred } from '../deferred.js';
import type { LinkCloseInfo, LinkOpOptions } from '../link.js';
import { abortError, checkLinkOpOptions, checkOutgoingMessage, guardLinkOp, linkClosedError } from '../link-op.js';
import { AirChannel, nextEventAfterMs, type AirTiming } from './air.js';
import { resolveAdversaryActions, resolveChunkAction, type Direction } from './adversary.js';
import { MockEnd, type MockLinkEnd } from './end.js';
import { checkDirection, resolveMockLinkOptions, type MockLinkOptions, type ResolvedMockLinkOptions } from './options.js';
import { MockStats, hexPrefix, type MockLinkStats, type MockTraceEvent } from './stats.js';

/** Both ends of a mock connection and the knobs a test turns. */
export interface MockLinkPair {
  /** The phone's end (GATT client): its sends travel `toVehicle`. */
  readonly phone: MockLinkEnd;
  /** The vehicle's end (GATT server): its sends travel `toPhone`. */
  readonly vehicle: MockLinkEnd;
  /** Negotiated ATT MTU, in bytes. */
  readonly mtu: number;
  /** GATT payload per chunk, `mtu − 3`, in bytes. */
  readonly payloadBytes: number;
  /** The timing model in force (anchor, interval, packets per event, extra latency). */
  readonly timing: AirTiming;
  /** Live counters per direction. */
  readonly stats: MockLinkStats;
  /** Whether the radio has stopped (a close, a disconnect or a failure); ends may learn it later. */
  readonly isClosed: boolean;
  /** Simulates radio loss (supervision timeout): both ends close at once with `by: 'error'`. Idempotent. */
  disconnect(reason?: string): void;
  /**
   * Puts a whole message on the air as an attacker would (bypassing the adversary hook), e.g. to
   * replay a captured one. Resolves when its last chunk lands; rejects with TransportError
   * `LINK_CLOSED` if the radio is or goes down first. `bytes`: 1..65535 bytes, framed as usual.
   */
  inject(direction: Direction, bytes: Uint8Array): Promise<void>;
  /** Puts one raw GATT chunk (0..mtu − 3 bytes) on the air, for framing attacks. */
  injectChunk(direction: Direction, bytes: Uint8Array): Promise<void>;
}

/** One direction's receiving side: the reassembler and its inter-chunk timer. */
interface Receiver {
  readonly reassembler: Reassembler;
  timer: TimerHandle | undefined;
  /** Chunks that reached this side, for the chunk adversary's index. */
  chunks: number;
}

/** Opposite direction of travel. */
function peerRole(direction: Direction): 'phone' | 'vehicle' {
  return direction === 'toVehicle' ? 'vehicle' : 'phone';
}

/** The connection: owns the radio in both directions and wires the two ends to it. */
class MockConnection implements MockLinkPair {
  readonly phone: MockEnd;
  readonly vehicle: MockEnd;
  readonly timing: AirTiming;
  readonly stats = new MockStats();
  readonly #o: ResolvedMockLinkOptions;
  readonly #air: Record<Direction, AirChannel>;
  readonly #receivers: Record<Direction, Receiver>;
  /** Messages the ends sent, per direction (the adversary's index). */
  readonly #sent: Record<Direction, number> = { toVehicle: 0, toPhone: 0 };
  /** Messages rebuilt per direction (the disconnect rule's count; unlike stats, never reset). */
  readonly #rebuilt: Record<Direction, number> = { toVehicle: 0, toPhone: 0 };
  /** Timers that die with the radio: delayed copies, send acknowledgements, the disconnect deadline. */
  readonly #timers = new Set<TimerHandle>();
  /** Injections waiting for their last chunk. */
  readonly #injections = new Set<Deferred<void>>();
  /** Timer that tells the surviving end about a close, one connection event later. */
  #notifyTimer: TimerHandle | undefined;

  constructor(options: MockLinkOptions) {
    this.#o = resolveMockLinkOptions(options);
    const { clock, connectionIntervalMs, packetsPerEvent, extraLatencyMs } = this.#o;
    this.timing = { anchorMs: clock.now(), connectionIntervalMs, packetsPerEvent, extraLatencyMs };
    const wiring = {
      clock,
      mtu: this.#o.mtu,
      maxQueuedMessages: this.#o.maxQueuedMessages,
      send: (end: MockEnd, message: Uint8Array, opts: LinkOpOptions | undefined) => this.#send(end, message, opts),
      close: (end: MockEnd, reason: string) => this.#closeEnd(end, { by: 'local', reason }),
    };
    this.phone = new MockEnd('phone', wiring);
    this.vehicle = new MockEnd('vehicle', wiring);
    const acked = (on: boolean, back: Direction) => (on ? (released: () => void) => this.#acknowledge(back, released) : undefined);
    this.#air = {
      toVehicle: new AirChannel(clock, this.timing, (c) => this.#onChunk('toVehicle', c), acked(this.#o.writeWithResponse, 'toPhone')),
      toPhone: new AirChannel(clock, this.timing, (c) => this.#onChunk('toPhone', c), acked(this.#o.indicate, 'toVehicle')),
    };
    const receiver = (): Receiver => ({
      reassembler: new Reassembler({
        payloadBytes: this.#o.payloadBytes,
        maxMessageBytes: this.#o.maxMessageBytes,
        interChunkTimeoutMs: this.#o.interChunkTimeoutMs,
      }),
      timer: undefined,
      chunks: 0,
    });
    this.#receivers = { toVehicle: receiver(), toPhone: receiver() };
    const { disconnectAtMs } = this.#o;
    if (disconnectAtMs !== undefined) {
      this.#later(disconnectAtMs - clock.now(), () => this.disconnect(`disconnectAtMs ${disconnectAtMs} reached`));
    }
  }

  get mtu(): number {
    return this.#o.mtu;
  }

  get payloadBytes(): number {
    return this.#o.payloadBytes;
  }

  get isClosed(): boolean {
    return this.#air.toVehicle.dead;
  }

  disconnect(reason = 'radio link lost'): void {
    if (this.phone.isClosed && this.vehicle.isClosed) return;
    this.#trace({ type: 'disconnect', detail: reason });
    this.#killRadio();
    const info: LinkCloseInfo = { by: 'error', reason: `connection lost: ${reason}` };
    this.phone.shutdown(info);
    this.vehicle.shutdown(info);
  }

  inject(direction: Direction, bytes: Uint8Array): Promise<void> {
    try {
      checkDirection(direction);
      if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > MAX_FRAME_LENGTH_BYTES) {
        throw new UsageError('MOCK_BAD_INJECTION', `"bytes" must be a Uint8Array of 1..${MAX_FRAME_LENGTH_BYTES} bytes`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.isClosed) return Promise.reject(linkClosedError('radio is down'));
    const done = this.#trackInjection();
    this.#trace({ type: 'inject', direction, size: bytes.length, detail: hexPrefix(bytes) });
    this.#putOnAir(direction, bytes.slice(), () => done.resolve());
    return done.promise;
  }

  injectChunk(direction: Direction, bytes: Uint8Array): Promise<void> {
    try {
      checkDirection(direction);
      if (!(bytes instanceof Uint8Array) || bytes.length > this.#o.payloadBytes) {
        throw new UsageError('MOCK_BAD_INJECTION', `"bytes" must be a Uint8Array of at most ${this.#o.payloadBytes} bytes (mtu − 3)`);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.isClosed) return Promise.reject(linkClosedError('radio is down'));
    const done = this.#trackInjection();
    const stats = this.stats.of(direction);
    stats.airBytes += bytes.length;
    stats.gattOps += 1;
    this.#trace({ type: 'inject-chunk', direction, size: bytes.length, detail: hexPrefix(bytes) });
    this.#air[direction].transmit([bytes.slice()], () => done.resolve());
    return done.promise;
  }

  /** Link.send of either end: checks, consults the adversary, puts the copies on the air. */
  #send(end: MockEnd, message: Uint8Array, options: LinkOpOptions | undefined): Promise<void> {
    try {
      checkOutgoingMessage(message, this.#o.maxMessageBytes);
      checkLinkOpOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (options?.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    const closed = end.closeInfo;
    if (closed !== null) return Promise.reject(linkClosedError(closed.reason));
    const direction: Direction = end.role === 'phone' ? 'toVehicle' : 'toPhone';
    if (this.#air[direction].dead) {
      // The peer has gone but this end has not heard yet: the write goes nowhere and the
      // notification of the close, one connection event away, rejects it.
      return this.#pendingSend(end, options).promise;
    }
    const bytes = message.slice();
    const index = this.#sent[direction]++;
    const timeMs = this.#o.clock.now();
    this.#trace({ type: 'send', direction, size: bytes.length, detail: hexPrefix(bytes) });
    let copies;
    try {
      const answer = this.#o.adversary?.({ direction, bytes: bytes.slice(), index, timeMs });
      copies = resolveAdversaryActions(answer, bytes);
    } catch (err) {
      return Promise.reject(err);
    }
    const op = this.#pendingSend(end, options);
    let acknowledged = false;
    for (const copy of copies) {
      if (copy.delayMs === 0) {
        // The first copy that goes straight out carries the sender's own write and its acknowledgement.
        this.#putOnAir(direction, copy.bytes, acknowledged ? undefined : () => op.resolve());
        acknowledged = true;
      } else {
        this.#trace({ type: 'adversary-delay', direction, size: copy.bytes.length, detail: String(copy.delayMs) });
        this.#later(copy.delayMs, () => this.#putOnAir(direction, copy.bytes));
      }
    }
    if (copies.length === 0) {
      this.stats.of(direction).dropped += 1;
      this.#trace({ type: 'adversary-drop', direction, size: bytes.length });
    }
    if (!acknowledged) {
      // The relay acknowledges the write itself, when the real one would have landed.
      const ackMs = this.#air[direction].plan(chunkCount(bytes.length, this.#o.payloadBytes));
      this.#later(ackMs - this.#o.clock.now(), () => op.resolve());
    }
    return op.promise;
  }

  /** A send in progress: rejected if the end closes, on timeout or on abort. */
  #pendingSend(end: MockEnd, options: LinkOpOptions | undefined): Deferred<void> {
    const op = new Deferred<void>();
    end.trackSend(op);
    guardLinkOp(op, this.#o.clock, options, { name: 'send', mayHaveSucceeded: true });
    return op;
  }

  /** Frames a message and hands its chunks to the radio, counting them. */
  #putOnAir(direction: Direction, bytes: Uint8Array, onLastArrived?: () => void): void {
    const air = this.#air[direction];
    if (air.dead) return;
    // Adversary copies may exceed maxMessageBytes on purpose: the receiver's reassembler must refuse them.
    const chunks = fragment(bytes, this.#o.payloadBytes, MAX_FRAME_LENGTH_BYTES);
    const stats = this.stats.of(direction);
    stats.messages += 1;
    stats.messageBytes += bytes.length;
    stats.gattOps += chunks.length;
    for (const chunk of chunks) stats.airBytes += chunk.length;
    air.transmit(chunks, onLastArrived);
  }

  /**
   * The receiver's ATT layer acknowledges a chunk that landed (Write Response or Confirmation),
   * before any attacker hook or reassembly: the link layer got it whatever happens next.
   */
  #acknowledge(back: Direction, released: () => void): void {
    this.stats.of(back).acks += 1;
    this.#trace({ type: 'ack', direction: back });
    this.#air[back].transmitAck(released);
  }

  /** A chunk lands at the receiving end: chunk adversary, then the reassembler. */
  #onChunk(direction: Direction, landed: Uint8Array): void {
    const receiver = this.#receivers[direction];
    const stats = this.stats.of(direction);
    const timeMs = this.#o.clock.now();
    const index = receiver.chunks++;
    let chunk: Uint8Array | null = landed;
    const hook = this.#o.chunkAdversary;
    if (hook !== undefined) {
      chunk = resolveChunkAction(hook({ direction, bytes: landed.slice(), index, timeMs }), landed, this.#o.payloadBytes);
    }
    if (chunk === null) {
      stats.chunksDropped += 1;
      this.#trace({ type: 'chunk-drop', direction, size: landed.length });
      return;
    }
    this.#trace({ type: 'chunk', direction, size: chunk.length });
    let message: Uint8Array | null = null;
    try {
      message = receiver.reassembler.push(chunk, timeMs);
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      // Like a GATT server: drop the sequence, reset (push already did) and carry on. Counted.
      stats.reassemblyErrors += 1;
      this.#trace({ type: 'reassembly-error', direction, detail: err.code });
    }
    this.#armInterChunkTimer(direction);
    if (message !== null) this.#onMessage(direction, message);
  }

  /**
   * Watches a partial message: if no chunk follows within the inter-chunk timeout, the partial is
   * dropped so it cannot swallow the start of the next message (docs/WIRE.md §Reassembly).
   */
  #armInterChunkTimer(direction: Direction): void {
    const receiver = this.#receivers[direction];
    const { clock, interChunkTimeoutMs } = this.#o;
    if (receiver.timer !== undefined) clock.clearTimeout(receiver.timer);
    receiver.timer = undefined;
    if (!receiver.reassembler.inProgress) return;
    // Reassembler.expired is strict (gap > timeout): check 1 ms past the deadline.
    receiver.timer = clock.setTimeout(() => {
      receiver.timer = undefined;
      if (!receiver.reassembler.expired(clock.now())) return;
      receiver.reassembler.reset();
      this.stats.of(direction).reassemblyErrors += 1;
      this.#trace({ type: 'reassembly-error', direction, detail: 'FRAME_TIMEOUT' });
    }, interChunkTimeoutMs + 1);
  }

  /** A whole message is rebuilt: apply the disconnect rule and hand it to the receiving end. */
  #onMessage(direction: Direction, message: Uint8Array): void {
    const stats = this.stats.of(direction);
    const rule = this.#o.disconnectAfterMessages;
    const count = ++this.#rebuilt[direction];
    const hit = rule !== undefined && rule.direction === direction && count === rule.count;
    if (hit && rule.when === 'before') {
      this.disconnect(`disconnectAfterMessages: before ${direction} message ${rule.count}`);
      return;
    }
    stats.delivered += 1;
    this.#trace({ type: 'message', direction, size: message.length, detail: hexPrefix(message) });
    const end = this[peerRole(direction)];
    if (!end.accept(message)) {
      this.#closeEnd(end, { by: 'error', reason: `receive queue overflow: more than ${this.#o.maxQueuedMessages} messages waiting` });
      return;
    }
    if (hit) this.disconnect(`disconnectAfterMessages: after ${direction} message ${rule.count}`);
  }

  /**
   * Closes one end on its own initiative (close() or a local failure): its radio stops at once and
   * the peer learns of it at the next connection event, as an LL_TERMINATE_IND would tell it
   * (Core v5.4 Vol 6 Part B §5.1.6). BLE carries no reason text, so the peer gets a generic one.
   */
  #closeEnd(end: MockEnd, info: LinkCloseInfo): void {
    if (end.isClosed) return;
    this.#trace({ type: 'close', detail: `${end.role} ${info.by}: ${info.reason}` });
    this.#killRadio();
    end.shutdown(info);
    const peer = end === this.phone ? this.vehicle : this.phone;
    if (peer.isClosed) return;
    const { clock } = this.#o;
    const atMs = nextEventAfterMs(this.timing, clock.now()) + this.timing.extraLatencyMs;
    this.#notifyTimer = clock.setTimeout(() => {
      this.#notifyTimer = undefined;
      this.#trace({ type: 'close', detail: `${peer.role} remote` });
      peer.shutdown({ by: 'remote', reason: 'peer terminated the connection' });
    }, atMs - clock.now());
  }

  /** Stops the radio: drops chunks in flight, partial messages and every pending timer. */
  #killRadio(): void {
    const { clock } = this.#o;
    this.#air.toVehicle.kill();
    this.#air.toPhone.kill();
    for (const timer of this.#timers) clock.clearTimeout(timer);
    this.#timers.clear();
    for (const receiver of Object.values(this.#receivers)) {
      if (receiver.timer !== undefined) clock.clearTimeout(receiver.timer);
      receiver.timer = undefined;
      receiver.reassembler.reset();
    }
    // A later disconnect or close pre-empts a pending remote notification.
    if (this.#notifyTimer !== undefined) clock.clearTimeout(this.#notifyTimer);
    this.#notifyTimer = undefined;
    const injections = [...this.#injections];
    this.#injections.clear();
    for (const done of injections) done.reject(linkClosedError('radio is down'));
  }

  /** A Deferred for an injection, rejected if the radio dies first. */
  #trackInjection(): Deferred<void> {
    const done = new Deferred<void>();
    this.#injections.add(done);
    done.onSettle(() => this.#injections.delete(done));
    return done;
  }

  /** A clock timer that dies with the radio (not set at all if the radio is already down). */
  #later(ms: number, fn: () => void): void {
    const { clock } = this.#o;
    if (this.isClosed) return;
    const timer = clock.setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  /** Emits a trace event if tracing is on. */
  #trace(event: Omit<MockTraceEvent, 'timeMs'>): void {
    this.#o.trace?.({ timeMs: this.#o.clock.now(), ...event });
  }
}

/**
 * Creates a connected phone/vehicle pair over a simulated BLE link. The MTU exchange has
 * happened; the first connection event is one interval after `clock.now()`.
 *
 * @throws UsageError (`MOCK_BAD_OPTIONS`) on a malformed option.
 */
export function createMockLinkPair(options: MockLinkOptions): MockLinkPair {
  return new MockConnection(options);
}
