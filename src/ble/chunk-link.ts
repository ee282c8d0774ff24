/**
 * The {@link Link} both BLE adapters hand to the protocol: whole messages over GATT chunks of
 * `mtu − 3` bytes (docs/BLE.md §Framing). The adapter supplies how one chunk leaves (a noble
 * write, a bleno notification) and feeds the chunks that arrive; this class owns everything a
 * Link promises — framing with the shared fragmenter and Reassembler, the ordered send queue,
 * the bounded receive queue (a {@link MessageInbox}), timeouts, abort, and a close that rejects
 * whatever is pending.
 *
 * Sends are serialised: one message's chunks go out back to back, and a message already on the
 * air is finished even if its send() times out or is aborted, since the peer's reassembler would
 * otherwise take the next message as the rest of this one. A message still queued when its send
 * gives up never leaves.
 *
 * Pure: no BLE stack, time from an injected Clock.
 */

import { ATT_HEADER_BYTES, DEFAULT_ATT_MTU, INTER_CHUNK_TIMEOUT_MS, MAX_ATT_MTU, MAX_MESSAGE_BYTES, MAX_QUEUED_MESSAGES } from '../constants.js';
import { DigitalKeyError, FramingError, UsageError } from '../errors.js';
import type { Clock, TimerHandle } from '../transport/clock.js';
import { Deferred } from '../transport/deferred.js';
import { MessageInbox } from '../transport/inbox.js';
import type { Link, LinkCloseInfo, LinkOpOptions } from '../transport/link.js';
import { abortError, checkLinkOpOptions, checkOutgoingMessage, guardLinkOp, linkClosedError } from '../transport/link-op.js';
import { Reassembler, fragment } from '../wire/framing.js';
import { BleErrorCode } from './codes.js';

/** Counters of one BLE link, for diagnostics and tests. */
export interface BleLinkStats {
  /** Whole messages whose last chunk left. */
  messagesSent: number;
  /** Whole messages rebuilt from chunks. */
  messagesReceived: number;
  /** GATT writes or notifications that completed. */
  chunksSent: number;
  /** Chunks that arrived while the link was open. */
  chunksReceived: number;
  /** Chunk sequences the Reassembler refused (dropped, the link stays up), timeouts between chunks included. */
  framingErrors: number;
  /** Chunks the adapter ignored: notifications before the subscription, writes with an offset. */
  ignoredChunks: number;
}

/** A BLE {@link Link} with its counters. */
export interface BleLink extends Link {
  /** A snapshot of the counters. */
  readonly stats: BleLinkStats;
  /** Why the link closed, or null while open. */
  readonly closeInfo: LinkCloseInfo | null;
}

/** What an adapter provides to a {@link ChunkLink}. */
export interface ChunkLinkOptions {
  /** Clock for timeouts and the reassembler. */
  clock: Clock;
  /** ATT MTU both ends agreed on, in [23, 517]; chunks carry `mtu − 3` bytes. */
  mtu: number;
  /** Largest message this end sends (the peer's limit), default MAX_MESSAGE_BYTES. */
  maxSendBytes?: number;
  /** Largest message this end accepts, default MAX_MESSAGE_BYTES. */
  maxReceiveBytes?: number;
  /** Messages kept while nobody receives before the link fails, default MAX_QUEUED_MESSAGES. */
  maxQueuedMessages?: number;
  /** Longest gap between two chunks of one message, in ms, default INTER_CHUNK_TIMEOUT_MS. */
  interChunkTimeoutMs?: number;
  /**
   * Puts one chunk on the air (a GATT write or notification). Must settle: the adapter bounds it
   * with a timeout (GattOps). A rejection fails the link.
   */
  writeChunk(chunk: Uint8Array): Promise<void>;
  /**
   * Tears the radio connection down after a local close (`by: 'local'`) or a local failure
   * (`by: 'error'`). Called at most once. An adapter may linger after a clean close so that
   * chunks already handed to the stack still reach the peer.
   */
  disconnect(info: LinkCloseInfo): void;
  /** Runs once when the link closes, before the application's close callbacks: adapter cleanup. */
  onShutdown?(info: LinkCloseInfo): void;
}

/** A message waiting to be sent, or being sent. */
interface SendJob {
  readonly chunks: Uint8Array[];
  readonly op: Deferred<void>;
}

/** Checks an optional positive integer option. */
function positiveInt(value: unknown, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(BleErrorCode.badOptions, `"${name}" must be an integer in [1, ${max}]`);
  }
  return value;
}

/** The shared Link implementation of the noble and bleno adapters. */
export class ChunkLink implements BleLink {
  readonly mtu: number;
  readonly #clock: Clock;
  readonly #payloadBytes: number;
  readonly #maxSendBytes: number;
  readonly #maxQueued: number;
  readonly #inbox: MessageInbox;
  readonly #reassembler: Reassembler;
  readonly #interChunkTimeoutMs: number;
  readonly #writeChunk: (chunk: Uint8Array) => Promise<void>;
  readonly #disconnect: (info: LinkCloseInfo) => void;
  readonly #onShutdown: ((info: LinkCloseInfo) => void) | undefined;
  readonly #stats: BleLinkStats = { messagesSent: 0, messagesReceived: 0, chunksSent: 0, chunksReceived: 0, framingErrors: 0, ignoredChunks: 0 };
  #sendQueue: SendJob[] = [];
  #current: SendJob | null = null;
  #pumping = false;
  #chunkTimer: TimerHandle | undefined;

  /** @throws UsageError on a bad option. */
  constructor(options: ChunkLinkOptions) {
    const { clock, mtu } = options;
    if (!Number.isSafeInteger(mtu) || mtu < DEFAULT_ATT_MTU || mtu > MAX_ATT_MTU) {
      throw new UsageError(BleErrorCode.badOptions, `"mtu" must be an integer in [${DEFAULT_ATT_MTU}, ${MAX_ATT_MTU}]`);
    }
    this.mtu = mtu;
    this.#clock = clock;
    this.#payloadBytes = mtu - ATT_HEADER_BYTES;
    this.#maxSendBytes = positiveInt(options.maxSendBytes, 'maxSendBytes', MAX_MESSAGE_BYTES, 0xffff);
    this.#maxQueued = positiveInt(options.maxQueuedMessages, 'maxQueuedMessages', MAX_QUEUED_MESSAGES);
    this.#inbox = new MessageInbox(clock, this.#maxQueued);
    this.#interChunkTimeoutMs = positiveInt(options.interChunkTimeoutMs, 'interChunkTimeoutMs', INTER_CHUNK_TIMEOUT_MS);
    this.#reassembler = new Reassembler({
      payloadBytes: this.#payloadBytes,
      maxMessageBytes: positiveInt(options.maxReceiveBytes, 'maxReceiveBytes', MAX_MESSAGE_BYTES, 0xffff),
      interChunkTimeoutMs: this.#interChunkTimeoutMs,
    });
    this.#writeChunk = options.writeChunk;
    this.#disconnect = options.disconnect;
    this.#onShutdown = options.onShutdown;
  }

  get isClosed(): boolean {
    return this.#inbox.isClosed;
  }

  /** Why the link closed, or null while open. */
  get closeInfo(): LinkCloseInfo | null {
    return this.#inbox.closeInfo;
  }

  get stats(): BleLinkStats {
    return { ...this.#stats };
  }

  send(message: Uint8Array, options?: LinkOpOptions): Promise<void> {
    try {
      checkOutgoingMessage(message, this.#maxSendBytes);
      checkLinkOpOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (options?.signal?.aborted === true) return Promise.reject(abortError(options.signal));
    const closed = this.#inbox.closeInfo;
    if (closed !== null) return Promise.reject(linkClosedError(closed.reason));
    // fragment() copies: later edits of `message` by the caller do not travel.
    const job: SendJob = { chunks: fragment(message, this.#payloadBytes, this.#maxSendBytes), op: new Deferred<void>() };
    this.#sendQueue.push(job);
    guardLinkOp(job.op, this.#clock, options, { name: 'send', mayHaveSucceeded: true });
    void this.#pump();
    return job.op.promise;
  }

  receive(options?: LinkOpOptions): Promise<Uint8Array> {
    return this.#inbox.receive(options);
  }

  close(reason = 'closed by application'): Promise<void> {
    if (!this.#inbox.isClosed) {
      const info: LinkCloseInfo = { by: 'local', reason: String(reason) };
      this.#shutdown(info);
      this.#disconnect(info);
    }
    return Promise.resolve();
  }

  onClose(callback: (info: LinkCloseInfo) => void): () => void {
    return this.#inbox.onClose(callback);
  }

  // ----- the adapter's side -----

  /**
   * A chunk arrived from the peer. Framing errors drop the partial message and are counted (like
   * a GATT server that ignores a bad sequence); the link stays up.
   */
  deliverChunk(chunk: Uint8Array): void {
    if (this.#inbox.isClosed) return;
    this.#stats.chunksReceived += 1;
    let message: Uint8Array | null = null;
    try {
      message = this.#reassembler.push(chunk, this.#clock.now());
    } catch (err) {
      if (!(err instanceof FramingError)) throw err;
      this.#stats.framingErrors += 1;
    }
    this.#armChunkTimer();
    if (message === null) return;
    this.#stats.messagesReceived += 1;
    if (!this.#inbox.deliver(message)) {
      this.fail(`receive queue overflow: more than ${this.#maxQueued} messages waiting`);
    }
  }

  /** Counts a chunk the adapter dropped before framing (see {@link BleLinkStats.ignoredChunks}). */
  ignoreChunk(): void {
    this.#stats.ignoredChunks += 1;
  }

  /** The radio connection is gone (the peer closed it, or it was lost). */
  transportClosed(info: LinkCloseInfo): void {
    this.#shutdown(info);
  }

  /** A local failure: the link closes with `by: 'error'` and the radio connection is torn down. */
  fail(reason: string, cause?: unknown): void {
    if (this.#inbox.isClosed) return;
    const info: LinkCloseInfo = { by: 'error', reason };
    this.#shutdown(info, cause);
    this.#disconnect(info);
  }

  // ----- internals -----

  /** Sends queued messages one at a time, chunk after chunk. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        if (this.#inbox.isClosed) return;
        const job = this.#sendQueue.shift();
        if (job === undefined) return;
        // Given up (timeout, abort) before its first chunk left: nothing of it goes on the air.
        if (job.op.settled) continue;
        this.#current = job;
        for (const chunk of job.chunks) {
          try {
            await this.#writeChunk(chunk);
          } catch (err) {
            this.fail('a GATT write failed', err);
            return;
          }
          if (this.#inbox.isClosed) return;
          this.#stats.chunksSent += 1;
        }
        this.#current = null;
        this.#stats.messagesSent += 1;
        job.op.resolve();
      }
    } finally {
      this.#pumping = false;
    }
  }

  /**
   * Drops a partial message when no chunk follows within the inter-chunk timeout, so it cannot
   * swallow the start of the next message (docs/WIRE.md §Reassembly).
   */
  #armChunkTimer(): void {
    if (this.#chunkTimer !== undefined) this.#clock.clearTimeout(this.#chunkTimer);
    this.#chunkTimer = undefined;
    if (!this.#reassembler.inProgress || this.#inbox.isClosed) return;
    // Reassembler.expired is strict (gap > timeout): check 1 ms past the deadline.
    this.#chunkTimer = this.#clock.setTimeout(() => {
      this.#chunkTimer = undefined;
      if (!this.#reassembler.expired(this.#clock.now())) return;
      this.#reassembler.reset();
      this.#stats.framingErrors += 1;
    }, this.#interChunkTimeoutMs + 1);
  }

  /**
   * Marks the link closed: rejects pending receives, the message on the air (maybe delivered:
   * `mayHaveSucceeded`) and queued ones (never sent), drops queued messages, stops the timers and
   * runs the close callbacks once. A GATT timeout that caused the close is what the send on the
   * air rejects with, since it says more than "closed".
   */
  #shutdown(info: LinkCloseInfo, cause?: unknown): void {
    this.#inbox.close(info, () => {
      this.#reassembler.reset();
      if (this.#chunkTimer !== undefined) this.#clock.clearTimeout(this.#chunkTimer);
      this.#chunkTimer = undefined;
      const current = this.#current;
      this.#current = null;
      if (current !== null) current.op.reject(cause instanceof DigitalKeyError && cause.mayHaveSucceeded ? cause : linkClosedError(info.reason, true));
      const queued = this.#sendQueue;
      this.#sendQueue = [];
      for (const job of queued) job.op.reject(linkClosedError(info.reason));
      this.#onShutdown?.(info);
    });
  }
}
