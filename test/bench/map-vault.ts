/**
 * A bench-only Vault with O(1) writes: a Map, values copied in and out, logs unbounded. It is not
 * crash-safe and checks no names; it exists to enroll 10,000 keys quickly (the library's memory
 * vault copies its whole state on every write, so enrolling one by one is quadratic) and, in the
 * scale rows, to separate the cost of the protocol's lookups from the cost of the store's
 * writes (docs/BENCHMARKS.md §Scale).
 */
import type { Vault } from '../../src/store/vault.js';

/** Creates an empty Map-backed vault. */
export function createMapVault(): Vault {
  const entries = new Map<string, Uint8Array>();
  const logs = new Map<string, Uint8Array[]>();
  return {
    async get(name) {
      return entries.get(name)?.slice() ?? null;
    },
    async put(name, value) {
      entries.set(name, value.slice());
    },
    async putMany(batch) {
      for (const [name, value] of batch) {
        if (value === null) entries.delete(name);
        else entries.set(name, value.slice());
      }
    },
    async delete(name) {
      entries.delete(name);
    },
    async list(prefix = '') {
      return [...entries.keys()].filter((n) => n.startsWith(prefix)).sort();
    },
    async appendLog(name, record) {
      const log = logs.get(name) ?? [];
      log.push(record.slice());
      logs.set(name, log);
    },
    async readLog(name) {
      return (logs.get(name) ?? []).map((r) => r.slice());
    },
    async close() {},
  };
}

/** Copies every entry of `from` into `to` in one batch (logs are not copied). */
export async function copyVault(from: Vault, to: Vault): Promise<void> {
  const names = await from.list();
  const batch: Array<[string, Uint8Array | null]> = [];
  for (const name of names) batch.push([name, await from.get(name)]);
  await to.putMany(batch);
}
