/**
 * An in-memory Vault: for tests, simulators and ephemeral state. Nothing survives the process.
 *
 * It follows the file vault's observable behaviour exactly (validation, copies in and out,
 * log rotation by the same byte accounting), so a typed store tested on it behaves the same on
 * disk. Pure TypeScript: usable in browsers and React Native.
 */

import { StoreError } from '../errors.js';
import { STORE_LOG_RECORD_OVERHEAD_BYTES, STORE_LOG_SEGMENT_HEADER_BYTES, STORE_MAX_STATE_BYTES } from '../constants.js';
import {
  checkEntries,
  checkName,
  checkPrefix,
  compareNames,
  copyRecord,
  copyValue,
  mustRotate,
  resolveLogLimits,
  STATE_COUNT_BYTES,
  stateEntryBytes,
  type LogLimits,
  type LogOptions,
  type Vault,
} from './vault.js';

/** One log segment: its records and its size as the file vault would count it. */
interface Segment {
  records: Uint8Array[];
  bytes: number;
}

/** Creates an empty in-memory Vault. `options` sets log rotation as for the file vault. */
export function createMemoryVault(options: LogOptions = {}): Vault {
  return new MemoryVault(resolveLogLimits(options));
}

class MemoryVault implements Vault {
  readonly #entries = new Map<string, Uint8Array>();
  readonly #logs = new Map<string, Segment[]>();
  readonly #limits: LogLimits;
  /** Size the state would have on disk (as the file vault counts it). */
  #stateBytes = STATE_COUNT_BYTES;
  #closed = false;

  constructor(limits: LogLimits) {
    this.#limits = limits;
  }

  async get(name: string): Promise<Uint8Array | null> {
    this.#checkOpen();
    const value = this.#entries.get(checkName(name));
    return value === undefined ? null : value.slice();
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    // null deletes in putMany, but put is for values only.
    return this.putMany([[name, copyValue(value)]]);
  }

  async putMany(entries: Array<[string, Uint8Array | null]>): Promise<void> {
    this.#checkOpen();
    const batch = checkEntries(entries);
    // All-or-nothing as on disk: every check happens before the first change. The size is kept
    // as a running total so a commit costs the size of the change, not of the whole state
    // (a vehicle with 10,000 keys writes one ticket per unlock).
    let total = this.#stateBytes;
    for (const [name, value] of batch) {
      const old = this.#entries.get(name);
      if (old !== undefined) total -= stateEntryBytes(name, old);
      if (value !== null) total += stateEntryBytes(name, value);
    }
    if (total > STORE_MAX_STATE_BYTES) {
      throw new StoreError('STORE_FULL', `vault state would exceed ${STORE_MAX_STATE_BYTES} bytes`);
    }
    for (const [name, value] of batch) {
      if (value === null) this.#entries.delete(name);
      else this.#entries.set(name, value);
    }
    this.#stateBytes = total;
  }

  async delete(name: string): Promise<void> {
    return this.putMany([[name, null]]);
  }

  async list(prefix?: string): Promise<string[]> {
    this.#checkOpen();
    const p = checkPrefix(prefix);
    return [...this.#entries.keys()].filter((n) => n.startsWith(p)).sort(compareNames);
  }

  async appendLog(name: string, record: Uint8Array): Promise<void> {
    this.#checkOpen();
    checkName(name);
    const copy = copyRecord(record, this.#limits);
    let segments = this.#logs.get(name);
    if (segments === undefined) {
      segments = [{ records: [], bytes: STORE_LOG_SEGMENT_HEADER_BYTES }];
      this.#logs.set(name, segments);
    }
    let active = segments[segments.length - 1]!;
    if (mustRotate(active.bytes, active.records.length, copy.length, this.#limits)) {
      active = { records: [], bytes: STORE_LOG_SEGMENT_HEADER_BYTES };
      segments.push(active);
      while (segments.length > this.#limits.keepSegments + 1) segments.shift();
    }
    active.records.push(copy);
    active.bytes += STORE_LOG_RECORD_OVERHEAD_BYTES + copy.length;
  }

  async readLog(name: string): Promise<Uint8Array[]> {
    this.#checkOpen();
    const segments = this.#logs.get(checkName(name)) ?? [];
    return segments.flatMap((s) => s.records.map((r) => r.slice()));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError('STORE_CLOSED', 'vault is closed');
  }
}
