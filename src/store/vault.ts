/**
 * The durable storage primitive both roles build on: a small named-blob store with atomic
 * multi-name commits and append-only, rotated logs.
 *
 * The vehicle keeps state that must never go backwards after a crash (enrolled keys, single-use
 * resumption tickets, replay state, revoked grant ids) and an audit log. Typed vehicle and phone
 * stores sit on top of this interface; they never touch files themselves. docs/STORAGE.md gives
 * the on-disk format, the write protocol and how to map the interface to an HSM or a phone
 * keystore.
 *
 * Pure TypeScript: no Node APIs here, so React Native and browser builds can implement Vault
 * over their own storage. Implementations: src/store/memory-vault.ts (tests, ephemeral) and
 * src/store/file-vault.ts (Node, the vehicle's key module).
 */

import { UsageError } from '../errors.js';
import {
  STORE_LOG_DEFAULT_KEEP_SEGMENTS,
  STORE_LOG_DEFAULT_SEGMENT_MAX_BYTES,
  STORE_LOG_MAX_RECORD_BYTES,
  STORE_LOG_RECORD_OVERHEAD_BYTES,
  STORE_LOG_SEGMENT_HEADER_BYTES,
  STORE_MAX_NAME_LENGTH,
  STORE_MAX_VALUE_BYTES,
} from '../constants.js';

/**
 * A durable store of named byte strings plus append-only logs.
 *
 * Names match `[a-z0-9._-]{1,64}`; anything else is a UsageError (`STORE_BAD_NAME`). Values are
 * copied in and out: a caller mutating a buffer after `put` or a result of `get` never changes
 * the stored state. Operations on one vault are applied in call order.
 */
export interface Vault {
  /** The value stored under `name`, or null if there is none. */
  get(name: string): Promise<Uint8Array | null>;
  /** Stores `value` under `name`, durably, before resolving. */
  put(name: string, value: Uint8Array): Promise<void>;
  /**
   * Applies every entry or none, even across a crash: after a restart the vault holds either
   * the state before the call or the state after it, never a mix. A null value deletes the
   * name. A name may appear only once per call (UsageError `STORE_DUPLICATE_NAME`).
   */
  putMany(entries: Array<[string, Uint8Array | null]>): Promise<void>;
  /** Removes `name`; removing a missing name is a no-op. */
  delete(name: string): Promise<void>;
  /** Stored names starting with `prefix` (default: all), in ascending byte order. */
  list(prefix?: string): Promise<string[]>;
  /**
   * Appends one record to the log `name` (a namespace separate from the names of `put`),
   * durably, before resolving. When the active segment would exceed its size cap a new segment
   * starts, and only the newest `logKeepSegments` rotated segments are kept: old records are
   * dropped by whole segments, oldest first.
   */
  appendLog(name: string, record: Uint8Array): Promise<void>;
  /** Every retained record of log `name`, oldest first; [] if the log has none. */
  readLog(name: string): Promise<Uint8Array[]>;
  /** Releases the vault (and, for a file vault, its lock). Idempotent; later calls fail with STORE_CLOSED. */
  close(): Promise<void>;
}

/** Log rotation settings shared by every Vault implementation. */
export interface LogOptions {
  /** Size cap of one log segment in bytes, header included. Default STORE_LOG_DEFAULT_SEGMENT_MAX_BYTES. */
  logSegmentMaxBytes?: number;
  /** How many rotated (full) segments are kept besides the active one. Default STORE_LOG_DEFAULT_KEEP_SEGMENTS. */
  logKeepSegments?: number;
}

/** Resolved log rotation settings. */
export interface LogLimits {
  /** Size cap of one segment in bytes, header included. */
  readonly segmentMaxBytes: number;
  /** Rotated segments kept besides the active one. */
  readonly keepSegments: number;
  /** Largest record payload that fits in one segment, in bytes. */
  readonly maxRecordBytes: number;
}

const NAME_PATTERN = /^[a-z0-9._-]+$/;

/**
 * Throws UsageError `STORE_BAD_NAME` unless `name` is 1–64 characters of `[a-z0-9._-]`. The
 * small alphabet keeps names safe as file-name parts and unambiguous on every platform.
 */
export function checkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > STORE_MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) {
    throw new UsageError('STORE_BAD_NAME', `"${field}" must be 1-${STORE_MAX_NAME_LENGTH} characters of [a-z0-9._-]`);
  }
  return name;
}

/** Throws UsageError `STORE_BAD_NAME` unless `prefix` is undefined or 0–64 characters of `[a-z0-9._-]`. */
export function checkPrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === '') return '';
  return checkName(prefix, 'prefix');
}

/**
 * Checks a value is a Uint8Array of at most STORE_MAX_VALUE_BYTES and returns a private copy
 * (a plain Uint8Array, even if a Buffer was passed). UsageError `STORE_BAD_VALUE` or
 * `STORE_VALUE_TOO_LARGE` otherwise.
 */
export function copyValue(value: unknown, field = 'value'): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new UsageError('STORE_BAD_VALUE', `"${field}" must be a Uint8Array`);
  }
  if (value.length > STORE_MAX_VALUE_BYTES) {
    throw new UsageError('STORE_VALUE_TOO_LARGE', `"${field}" must be at most ${STORE_MAX_VALUE_BYTES} bytes`);
  }
  return new Uint8Array(value); // a plain copy: slice() on a Buffer would return a Buffer
}

/**
 * Validates a putMany batch before anything is applied and returns private copies. Rejects a
 * name given twice: which of the two values should win is ambiguous, so it is a caller bug.
 */
export function checkEntries(entries: unknown): Array<[string, Uint8Array | null]> {
  if (!Array.isArray(entries)) throw new UsageError('STORE_BAD_VALUE', '"entries" must be an array');
  const seen = new Set<string>();
  const out: Array<[string, Uint8Array | null]> = [];
  for (const [i, entry] of entries.entries()) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new UsageError('STORE_BAD_VALUE', `"entries[${i}]" must be a [name, value | null] pair`);
    }
    const name = checkName(entry[0], `entries[${i}][0]`);
    if (seen.has(name)) throw new UsageError('STORE_DUPLICATE_NAME', `"entries[${i}][0]" repeats the name ${name}`);
    seen.add(name);
    out.push([name, entry[1] === null ? null : copyValue(entry[1], `entries[${i}][1]`)]);
  }
  return out;
}

/** Resolves and checks log options (UsageError `STORE_BAD_OPTION` if out of range). */
export function resolveLogLimits(options: LogOptions = {}): LogLimits {
  const segmentMaxBytes = options.logSegmentMaxBytes ?? STORE_LOG_DEFAULT_SEGMENT_MAX_BYTES;
  const keepSegments = options.logKeepSegments ?? STORE_LOG_DEFAULT_KEEP_SEGMENTS;
  const minSegment = STORE_LOG_SEGMENT_HEADER_BYTES + STORE_LOG_RECORD_OVERHEAD_BYTES + 1;
  if (!Number.isSafeInteger(segmentMaxBytes) || segmentMaxBytes < minSegment || segmentMaxBytes > 2 ** 31) {
    throw new UsageError('STORE_BAD_OPTION', `"logSegmentMaxBytes" must be an integer in [${minSegment}, 2^31]`);
  }
  if (!Number.isSafeInteger(keepSegments) || keepSegments < 0 || keepSegments > 1000) {
    throw new UsageError('STORE_BAD_OPTION', '"logKeepSegments" must be an integer in [0, 1000]');
  }
  const fit = segmentMaxBytes - STORE_LOG_SEGMENT_HEADER_BYTES - STORE_LOG_RECORD_OVERHEAD_BYTES;
  return { segmentMaxBytes, keepSegments, maxRecordBytes: Math.min(fit, STORE_LOG_MAX_RECORD_BYTES) };
}

/** Checks a log record against the limits and returns a private copy. */
export function copyRecord(record: unknown, limits: LogLimits): Uint8Array {
  if (!(record instanceof Uint8Array)) throw new UsageError('STORE_BAD_VALUE', '"record" must be a Uint8Array');
  if (record.length > limits.maxRecordBytes) {
    throw new UsageError('STORE_VALUE_TOO_LARGE', `"record" must be at most ${limits.maxRecordBytes} bytes`);
  }
  return new Uint8Array(record);
}

/**
 * Whether appending a record of `recordBytes` payload to a segment that already holds
 * `segmentBytes` (header included) and `records` records must first start a new segment. A
 * segment always takes at least one record, so a record that fits the cap never loops.
 */
export function mustRotate(segmentBytes: number, records: number, recordBytes: number, limits: LogLimits): boolean {
  return records > 0 && segmentBytes + STORE_LOG_RECORD_OVERHEAD_BYTES + recordBytes > limits.segmentMaxBytes;
}

/** Ascending byte order; names are ASCII, so code-unit order is byte order. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Bytes of the entry count that opens an encoded state (docs/STORAGE.md §State payload). */
export const STATE_COUNT_BYTES = 4;

/**
 * Encoded size of one entry in a state payload: name length (1), name, value length (4),
 * value. Both vaults count state size this way so STORE_FULL triggers identically.
 */
export function stateEntryBytes(name: string, value: Uint8Array): number {
  return 1 + name.length + 4 + value.length;
}
