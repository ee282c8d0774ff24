/**
 * What one ticket commit costs on the durable file vault (src/store/file-vault.ts) for a given
 * state, measured directly: the vehicle awaits one such commit before every Result (two on the
 * fast path: the used ticket's deletion, then the next ticket), so it sits on the unlock's
 * critical path. The file vault rewrites its whole state file and fsyncs on every commit
 * (docs/STORAGE.md §Design), so this is wall time — CPU plus I/O on this machine's disk — and it
 * cannot run under the virtual clock with the sessions (real I/O would let virtual timeouts fire).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openFileVault } from '../../src/store/file-vault.js';
import { STATE_COUNT_BYTES, stateEntryBytes, type Vault } from '../../src/store/vault.js';
import { copyVault } from './map-vault.js';
import { median } from './stats.js';

/** Commit cost and state size of one store. */
export interface FileCommit {
  /** Median wall time of one `put` of a ticket-sized record, ms. */
  commitMs: number;
  /** Size of the state payload the commit rewrites, bytes. */
  stateBytes: number;
}

/** Size of a vault's state payload as both vaults count it. */
export async function stateBytesOf(vault: Vault): Promise<number> {
  let total = STATE_COUNT_BYTES;
  for (const name of await vault.list()) total += stateEntryBytes(name, (await vault.get(name)) ?? new Uint8Array(0));
  return total;
}

/** Copies `from` into a fresh file vault in a temp directory and times `commits` ticket writes. */
export async function measureFileCommit(from: Vault, commits: number): Promise<FileCommit> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dk-bench-'));
  try {
    const vault = await openFileVault(path.join(dir, 'vault'));
    try {
      await copyVault(from, vault);
      const ticket = new Uint8Array(180).fill(0x61); // about the size of a JSON ticket record
      const times: number[] = [];
      for (let i = 0; i < commits; i++) {
        const t0 = performance.now();
        await vault.put('t.bench', ticket);
        times.push(performance.now() - t0);
      }
      return { commitMs: median(times), stateBytes: await stateBytesOf(vault) };
    } finally {
      await vault.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
