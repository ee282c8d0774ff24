/**
 * Framing: carries whole application messages over GATT writes/notifications of at most
 * `ATT_MTU − 3` bytes each. docs/WIRE.md §Framing.
 *
 * Byte layout of one framed message: `u16 big-endian length ‖ message bytes`, cut into chunks of
 * exactly `payloadBytes` bytes except the last, which carries the rest. Chunks are pure
 * continuation (no per-chunk header) and a chunk never carries bytes of two messages, so the
 * first chunk of every message starts with its length prefix.
 *
 * Pure: no timers, no I/O. The {@link Reassembler} takes the current time on every push so a
 * driver can enforce the inter-chunk timeout on any clock (virtual in tests).
 */

import {
  FRAME_HEADER_BYTES,
  INTER_CHUNK_TIMEOUT_MS,
  MAX_CHUNK_PAYLOAD_BYTES,
  MAX_FRAME_LENGTH_BYTES,
  MAX_MESSAGE_BYTES,
  MIN_CHUNK_PAYLOAD_BYTES,
} from '../constants.js';
import { FramingError, UsageError } from '../errors.js';

/** Throws UsageError unless `payloadBytes` is an integer GATT payload size in [20, 514]. */
function checkPayloadBytes(payloadBytes: number): void {
  if (
    !Number.isSafeInteger(payloadBytes) ||
    payloadBytes < MIN_CHUNK_PAYLOAD_BYTES ||
    payloadBytes > MAX_CHUNK_PAYLOAD_BYTES
  ) {
    throw new UsageError(
      'FRAME_BAD_PAYLOAD_SIZE',
      `"payloadBytes" must be an integer in [${MIN_CHUNK_PAYLOAD_BYTES}, ${MAX_CHUNK_PAYLOAD_BYTES}]`,
    );
  }
}

/** Throws UsageError unless `maxMessageBytes` fits the 16-bit length prefix. */
function checkMaxMessageBytes(maxMessageBytes: number): void {
  if (
    !Number.isSafeInteger(maxMessageBytes) ||
    maxMessageBytes < 1 ||
    maxMessageBytes > MAX_FRAME_LENGTH_BYTES
  ) {
    throw new UsageError(
      'FRAME_BAD_MAX_SIZE',
      `"maxMessageBytes" must be an integer in [1, ${MAX_FRAME_LENGTH_BYTES}]`,
    );
  }
}

/** Throws UsageError unless `messageBytes` is a non-negative integer length. */
function checkLength(name: string, messageBytes: number): void {
  if (!Number.isSafeInteger(messageBytes) || messageBytes < 0) {
    throw new UsageError('FRAME_BAD_LENGTH', `"${name}" must be a non-negative integer`);
  }
}

/** Bytes on the air for one message of `messageBytes` bytes: the message plus its 2-byte length prefix. */
export function framedSize(messageBytes: number): number {
  checkLength('messageBytes', messageBytes);
  return messageBytes + FRAME_HEADER_BYTES;
}

/** Number of chunks {@link fragment} produces for a message of `messageBytes` bytes. */
export function chunkCount(messageBytes: number, payloadBytes: number): number {
  checkPayloadBytes(payloadBytes);
  return Math.ceil(framedSize(messageBytes) / payloadBytes);
}

/**
 * Cuts one message into chunks of at most `payloadBytes` bytes: `u16be length ‖ message`, split
 * into full chunks and a last partial one. Each chunk is a fresh copy.
 *
 * @throws UsageError if the message is not a non-empty Uint8Array of at most `maxMessageBytes`
 *   bytes, or `payloadBytes` is outside [20, 514].
 */
export function fragment(
  message: Uint8Array,
  payloadBytes: number,
  maxMessageBytes: number = MAX_MESSAGE_BYTES,
): Uint8Array[] {
  checkPayloadBytes(payloadBytes);
  checkMaxMessageBytes(maxMessageBytes);
  if (!(message instanceof Uint8Array)) {
    throw new UsageError('FRAME_BAD_MESSAGE', '"message" must be a Uint8Array');
  }
  if (message.length === 0) {
    throw new UsageError('FRAME_EMPTY', '"message" must not be empty');
  }
  if (message.length > maxMessageBytes) {
    throw new UsageError('FRAME_TOO_LARGE', `"message" must be at most ${maxMessageBytes} bytes`);
  }
  const framed = new Uint8Array(framedSize(message.length));
  framed[0] = message.length >>> 8;
  framed[1] = message.length & 0xff;
  framed.set(message, FRAME_HEADER_BYTES);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < framed.length; offset += payloadBytes) {
    chunks.push(framed.slice(offset, offset + payloadBytes));
  }
  return chunks;
}

/** Options of a {@link Reassembler}. */
export interface ReassemblerOptions {
  /** GATT payload size of the link, `ATT_MTU − 3`, in [20, 514]. Longer chunks are rejected. */
  payloadBytes: number;
  /** Largest message accepted, in bytes (default MAX_MESSAGE_BYTES, at most 65535). */
  maxMessageBytes?: number;
  /** Longest gap between two chunks of one message, in ms (default INTER_CHUNK_TIMEOUT_MS). */
  interChunkTimeoutMs?: number;
}

/** Partial message being reassembled. */
interface Partial {
  /** Message buffer, allocated once at the declared length (≤ maxMessageBytes). */
  readonly buffer: Uint8Array;
  /** Message bytes received so far. */
  filled: number;
  /** Chunks received so far, the first included. */
  chunks: number;
  /** Most chunks this message may use: as many as {@link fragment} would produce. */
  readonly maxChunks: number;
  /** Time of the last chunk, in ms. */
  lastMs: number;
}

/**
 * Rebuilds messages from chunks produced by {@link fragment}. One instance per direction of a
 * link. Every error throws FramingError and resets the reassembler, dropping the partial message
 * and the offending chunk, so the next chunk is taken as the start of a new message.
 *
 * Rules (docs/WIRE.md §Reassembly): chunks are 1..payloadBytes bytes; the first chunk of a message
 * carries the whole 2-byte length prefix; the declared length is 1..maxMessageBytes; no chunk may
 * run past the declared length; a message uses at most `chunkCount(length, payloadBytes)` chunks
 * (which bounds how long a slow sender can hold the reassembler); and no gap between two chunks
 * of one message exceeds `interChunkTimeoutMs`.
 */
export class Reassembler {
  readonly #payloadBytes: number;
  readonly #maxMessageBytes: number;
  readonly #interChunkTimeoutMs: number;
  #partial: Partial | null = null;

  /** @throws UsageError on an invalid option. */
  constructor(options: ReassemblerOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new UsageError('FRAME_BAD_OPTIONS', '"options" must be an object');
    }
    const {
      payloadBytes,
      maxMessageBytes = MAX_MESSAGE_BYTES,
      interChunkTimeoutMs = INTER_CHUNK_TIMEOUT_MS,
    } = options;
    checkPayloadBytes(payloadBytes);
    checkMaxMessageBytes(maxMessageBytes);
    if (!Number.isFinite(interChunkTimeoutMs) || interChunkTimeoutMs <= 0) {
      throw new UsageError('FRAME_BAD_TIMEOUT', '"interChunkTimeoutMs" must be a positive number');
    }
    this.#payloadBytes = payloadBytes;
    this.#maxMessageBytes = maxMessageBytes;
    this.#interChunkTimeoutMs = interChunkTimeoutMs;
  }

  /** Whether part of a message has arrived and the rest is awaited. */
  get inProgress(): boolean {
    return this.#partial !== null;
  }

  /** Drops any partial message. */
  reset(): void {
    this.#partial = null;
  }

  /**
   * Whether a partial message has waited longer than the inter-chunk timeout at `nowMs`. A driver
   * calls this from a timer and then {@link reset}s, so a stale partial never swallows the start
   * of the next message.
   */
  expired(nowMs: number): boolean {
    return this.#partial !== null && nowMs - this.#partial.lastMs > this.#interChunkTimeoutMs;
  }

  /**
   * Takes one chunk received at `nowMs` (the link's clock, in ms). Returns the whole message when
   * this chunk completes it (a fresh buffer the caller owns), else null. The chunk is copied.
   *
   * @throws FramingError on a malformed chunk or sequence (the reassembler is then reset).
   * @throws UsageError if `chunk` is not a Uint8Array or `nowMs` not a finite number.
   */
  push(chunk: Uint8Array, nowMs: number): Uint8Array | null {
    if (!(chunk instanceof Uint8Array)) {
      throw new UsageError('FRAME_BAD_CHUNK', '"chunk" must be a Uint8Array');
    }
    if (!Number.isFinite(nowMs)) {
      throw new UsageError('FRAME_BAD_TIME', '"nowMs" must be a finite number');
    }
    try {
      return this.#accept(chunk, nowMs);
    } catch (err) {
      this.#partial = null;
      throw err;
    }
  }

  #accept(chunk: Uint8Array, nowMs: number): Uint8Array | null {
    if (this.expired(nowMs)) {
      throw new FramingError('FRAME_TIMEOUT', 'gap between chunks exceeded the timeout');
    }
    if (chunk.length === 0) {
      throw new FramingError('FRAME_EMPTY_CHUNK', 'empty chunk');
    }
    if (chunk.length > this.#payloadBytes) {
      throw new FramingError('FRAME_CHUNK_TOO_LONG', 'chunk longer than the GATT payload size');
    }
    const partial = this.#partial ?? this.#start(chunk, nowMs);
    const body = partial.chunks === 0 ? chunk.subarray(FRAME_HEADER_BYTES) : chunk;
    partial.chunks += 1;
    if (partial.chunks > partial.maxChunks) {
      throw new FramingError('FRAME_TOO_MANY_CHUNKS', 'message used more chunks than its length needs');
    }
    if (body.length > partial.buffer.length - partial.filled) {
      // A chunk never carries bytes of two messages (docs/WIRE.md §Framing).
      throw new FramingError('FRAME_OVERFLOW', 'chunk runs past the declared message length');
    }
    partial.buffer.set(body, partial.filled);
    partial.filled += body.length;
    partial.lastMs = nowMs;
    if (partial.filled < partial.buffer.length) {
      this.#partial = partial;
      return null;
    }
    this.#partial = null;
    return partial.buffer;
  }

  /** Reads the length prefix of a message's first chunk and allocates its buffer. */
  #start(chunk: Uint8Array, nowMs: number): Partial {
    if (chunk.length < FRAME_HEADER_BYTES) {
      throw new FramingError('FRAME_SHORT_HEADER', 'first chunk shorter than the length prefix');
    }
    const length = ((chunk[0] ?? 0) << 8) | (chunk[1] ?? 0);
    if (length === 0) {
      throw new FramingError('FRAME_EMPTY', 'declared message length is zero');
    }
    if (length > this.#maxMessageBytes) {
      throw new FramingError('FRAME_TOO_LARGE', 'declared message length exceeds the maximum');
    }
    return {
      buffer: new Uint8Array(length),
      filled: 0,
      chunks: 0,
      maxChunks: chunkCount(length, this.#payloadBytes),
      lastMs: nowMs,
    };
  }
}
