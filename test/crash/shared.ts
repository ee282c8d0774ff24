/**
 * What the crash child writes and the parent checks: deterministic states and log records
 * derived from a counter k, so the parent can tell exactly which state it found.
 */

import type { FileVaultOptions } from '../../src/store/file-vault.js';

/** Small segments so the children rotate logs often and kills land mid-rotation too. */
export const CRASH_VAULT_OPTIONS: FileVaultOptions = { logSegmentMaxBytes: 4096, logKeepSegments: 3 };
/** The log the child appends to. */
export const CRASH_LOG = 'audit';
/** Largest log payload the child writes (4-byte k + up to 499 bytes), for the retention bound. */
export const CRASH_MAX_RECORD_BYTES = 4 + 499;

/** Deterministic pseudo-random bytes for (k, tag): xorshift32, never zero-seeded. */
function filler(k: number, tag: number, length: number): Uint8Array {
  let x = (Math.imul(k, 2654435761) ^ Math.imul(tag, 40503) ^ 0x9e3779b9) >>> 0 || 1;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** k as 4 big-endian bytes followed by the filler for (k, tag). */
function stamped(k: number, tag: number, length: number): Uint8Array {
  const out = new Uint8Array(4 + length);
  new DataView(out.buffer).setUint32(0, k);
  out.set(filler(k, tag, length), 4);
  return out;
}

/**
 * State k, written by one putMany across three names: `a` and `b` of varying sizes (up to
 * ~20 kB, so a commit is several pages), and `c`, deleted when k is a multiple of 4.
 */
export function stateEntries(k: number): Array<[string, Uint8Array | null]> {
  return [
    ['a', stamped(k, 1, (k * 7919) % 20_000)],
    ['b', stamped(k, 2, (k * 104_729) % 3_000)],
    ['c', k % 4 === 0 ? null : stamped(k, 3, 17)],
  ];
}

/** Log record k. */
export function logRecord(k: number): Uint8Array {
  return stamped(k, 4, (k * 31) % 500);
}

/** The counter stamped in a value, or 0 for a missing value or one too short to hold it. */
export function stampOf(value: Uint8Array | null | undefined): number {
  if (value == null || value.length < 4) return 0;
  return new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(0);
}
