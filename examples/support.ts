/**
 * Demo support: lets real file I/O run beside a virtual clock. The VirtualClock jumps to the
 * next timer as soon as no promise is moving; a vault write in flight (fsync) is invisible to
 * it, so we count in-flight vault operations and hold the clock until they are done.
 */
import type { Vault } from '../src/store/vault.js';

/** Wraps a vault so `pending` counts its operations in flight. */
export function trackVault(vault: Vault): { vault: Vault; pending: () => number } {
  let inFlight = 0;
  const wrap =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      inFlight++;
      try {
        return await f(...a);
      } finally {
        inFlight--;
      }
    };
  const tracked: Vault = {
    get: wrap(vault.get.bind(vault)),
    put: wrap(vault.put.bind(vault)),
    putMany: wrap(vault.putMany.bind(vault)),
    delete: wrap(vault.delete.bind(vault)),
    list: wrap(vault.list.bind(vault)),
    appendLog: wrap(vault.appendLog.bind(vault)),
    readLog: wrap(vault.readLog.bind(vault)),
    close: wrap(vault.close.bind(vault)),
  };
  return { vault: tracked, pending: () => inFlight };
}

/** A VirtualClock `settle` that also waits for tracked I/O to finish. */
export function settleWithIo(pending: () => number): () => Promise<void> {
  return async () => {
    do {
      await new Promise<void>((r) => setImmediate(r));
    } while (pending() > 0);
  };
}
