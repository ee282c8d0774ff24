/** A vault whose writes take virtual time, like an fsync: it opens every race window there is. */
import { createMemoryVault } from '../../src/store/memory-vault.js';
import type { Vault } from '../../src/store/vault.js';
import type { World } from './world.js';

/** A memory vault whose writes take `ms` of virtual time: opens every race window there is. */
export function slowVault(clock: () => World['clock'] | undefined, ms = 5): Vault {
  const v = createMemoryVault();
  const slow = <A extends unknown[]>(f: (...a: A) => Promise<void>) => async (...a: A) => {
    const c = clock();
    if (c) await new Promise<void>((r) => c.setTimeout(() => r(), ms));
    await f(...a);
  };
  return { ...v, get: v.get.bind(v), list: v.list.bind(v), readLog: v.readLog.bind(v), appendLog: slow(v.appendLog.bind(v)), close: v.close.bind(v), put: slow(v.put.bind(v)), putMany: slow(v.putMany.bind(v)), delete: slow(v.delete.bind(v)) };
}

