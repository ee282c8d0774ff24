/**
 * Scale rows: the vehicle's full-path CPU per unlock with 10, 1,000 and 10,000 enrolled keys and
 * 1,000 revoked grants, on the native provider (docs/BENCHMARKS.md §Scale).
 *
 * Keys are enrolled with `Vehicle.enrollOwner` into a bench Map vault (fast to fill: it skips
 * the memory vault's per-write checks), then copied in one batch into the vault the rows run on:
 * - `memory`: the library's memory vault, as shipped — what a vehicle gets today;
 * - `map`: the bench's O(1) vault — the same protocol with store writes that do not grow with
 *   the store, to tell the cost of lookups from the cost of writes.
 * Within a pass every key count is measured in turn each iteration, so drift hits all rows alike.
 */
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { measureFileCommit } from './file-commit.js';
import { copyVault, createMapVault } from './map-vault.js';
import type { Vault } from '../../src/store/vault.js';
import { runSession } from './session.js';
import { median, sum, us } from './stats.js';
import { timeVault } from './timed-vault.js';
import { newBenchPhone, newProvider, openBenchVehicle, T0_MS, type BenchWorld } from './world.js';

/** Enrolled-key counts of the rows. */
export const SCALE_KEYS: readonly number[] = [10, 1_000, 10_000];
/** Revoked grants on file in every row. */
export const SCALE_REVOKED_GRANTS = 1_000;

/** One scale row. */
export interface ScaleRow {
  keys: number;
  revokedGrants: number;
  /** Median vehicle CPU per full-path unlock on the memory vault (as shipped), µs. */
  vehicleCpuUs: number;
  /** Of which, median time inside the memory vault's calls, µs. */
  storeCpuUs: number;
  /** Median vehicle CPU per unlock on the O(1) Map vault, µs: lookups without write growth. */
  vehicleCpuUsMapVault: number;
  /** Size of the state a vault commit rewrites, bytes. */
  stateBytes: number;
  /** Median wall time of one ticket commit on the file vault with this state (CPU + disk), ms. */
  fileVaultCommitMs: number;
}

/** Ticket commits timed per row on the file vault. */
const FILE_COMMITS = 15;

/** Builds, for `keys` enrolled keys, the two worlds of a row (memory vault, Map vault). */
async function buildRow(keys: number, log: (s: string) => void): Promise<{ memory: BenchWorld; map: BenchWorld; setup: Vault }> {
  const t0 = performance.now();
  const clock = new VirtualClock(T0_MS);
  const keygen = newProvider('native');
  const setupVault = createMapVault();
  const setup = await openBenchVehicle(newProvider('native'), setupVault, clock);
  const phone = await newBenchPhone(newProvider('native'), setup, clock);
  await setup.enrollOwner(phone.publicKey, 'bench phone');
  for (let i = 1; i < keys; i++) await setup.enrollOwner(keygen.generateKeyPair().publicKey, `key ${i}`);
  const keepUntilMs = T0_MS + 365 * 24 * 3600 * 1000;
  for (let i = 0; i < SCALE_REVOKED_GRANTS; i++) await setup.config.store.revoke({ keys: [], grants: [{ grantId: keygen.randomBytes(16), keepUntil: keepUntilMs }] });
  const world = async (kind: 'memory' | 'map'): Promise<BenchWorld> => {
    const vault = timeVault(kind === 'memory' ? createMemoryVault() : createMapVault());
    await copyVault(setupVault, vault.vault);
    const vehicle = await openBenchVehicle(newProvider('native'), vault.vault, clock);
    return { provider: 'native', clock, vehicle, phone, vehicleId: vehicle.identity.vehicleId, vehicleVault: vault };
  };
  const row = { memory: await world('memory'), map: await world('map'), setup: setupVault };
  log(`scale: ${keys} keys + ${SCALE_REVOKED_GRANTS} revoked grants ready in ${Math.round(performance.now() - t0)} ms`);
  return row;
}

/** Median vehicle ms (and vault ms) per full-path unlock of each world, interleaved across worlds. */
async function measureWorlds(worlds: BenchWorld[], runs: number, warmup: number, log: (s: string) => void, label: string): Promise<Array<{ vehicle: number[]; vault: number[] }>> {
  const samples = worlds.map(() => ({ vehicle: [] as number[], vault: [] as number[] }));
  for (let i = -warmup; i < runs; i++) {
    for (const [j, world] of worlds.entries()) {
      const r = await runSession(world, 'unlock-full');
      if (i < 0) continue;
      samples[j]!.vehicle.push(sum(r.vehicleWindowsMs));
      samples[j]!.vault.push(sum(r.vehicleVaultMs));
    }
    if (i >= 0 && (i + 1) % Math.max(1, Math.floor(runs / 2)) === 0) log(`scale, ${label}: ${i + 1}/${runs}`);
  }
  return samples;
}

/**
 * Measures the scale rows: `warmup` then `runs` full-path unlocks per world. The Map-vault worlds
 * run in one pass and the memory-vault worlds in another, each pass interleaving its three key
 * counts, so garbage made by one vault's writes is not charged by the collector to the other's
 * rows (the memory vault once copied its whole state per write; it now writes only the change).
 */
export async function measureScale(runs: number, warmup: number, log: (s: string) => void): Promise<ScaleRow[]> {
  const rows: Array<{ keys: number; memory: BenchWorld; map: BenchWorld; setup: Vault }> = [];
  for (const keys of SCALE_KEYS) rows.push({ keys, ...(await buildRow(keys, log)) });
  const map = await measureWorlds(rows.map((r) => r.map), runs, warmup, log, 'Map vault');
  const memory = await measureWorlds(rows.map((r) => r.memory), runs, warmup, log, 'memory vault');
  const out: ScaleRow[] = [];
  for (const [j, row] of rows.entries()) {
    const file = await measureFileCommit(row.setup, FILE_COMMITS);
    log(`scale: file vault, ${row.keys} keys: ${file.stateBytes} B state, ${file.commitMs.toFixed(2)} ms per commit`);
    out.push({
      keys: row.keys,
      revokedGrants: SCALE_REVOKED_GRANTS,
      vehicleCpuUs: us(median(memory[j]!.vehicle)),
      storeCpuUs: us(median(memory[j]!.vault)),
      vehicleCpuUsMapVault: us(median(map[j]!.vehicle)),
      stateBytes: file.stateBytes,
      fileVaultCommitMs: Math.round(file.commitMs * 100) / 100,
    });
  }
  return out;
}
