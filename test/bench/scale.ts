/**
 * Scale rows: the vehicle's CPU per unlock, full and fast path, with 10 keys used by 10 phones,
 * 1,000 keys by 100 phones and 10,000 keys by 1,000 phones, each with 1,000 revoked grants, on
 * the native provider and the library's memory vault (docs/BENCHMARKS.md §Scale).
 *
 * The phones take turns (iteration i uses phone i mod n), so with many phones every unlock
 * verifies a key the provider did not just see: the issue-14 case a one-phone row hid.
 * Keys are enrolled with `Vehicle.enrollOwner` into a bench Map vault (fast to fill), then copied
 * in one batch into a memory vault opened with the same identity key. Each phone runs one full
 * session before the measurement, so it holds a ticket. Every iteration measures every row, in
 * an order that rotates, and each row's CPU is divided by the first row's of the same iteration.
 */
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { measureFileCommit } from './file-commit.js';
import { pairedRatio, type PairedRatio } from './flows.js';
import { copyVault, createMapVault } from './map-vault.js';
import type { Vault } from '../../src/store/vault.js';
import { runSession } from './session.js';
import { median, sum, us } from './stats.js';
import { timeVault } from './timed-vault.js';
import { newBenchPhone, newProvider, openBenchVehicle, T0_MS, type BenchWorld } from './world.js';

/** Enrolled keys and the phones among them that unlock, per row. */
export const SCALE_ROWS: ReadonlyArray<{ keys: number; phones: number }> = [
  { keys: 10, phones: 10 },
  { keys: 1_000, phones: 100 },
  { keys: 10_000, phones: 1_000 },
];
/** Revoked grants on file in every row. */
export const SCALE_REVOKED_GRANTS = 1_000;

/** One scale row. */
export interface ScaleRow {
  keys: number;
  phones: number;
  revokedGrants: number;
  /** Median vehicle CPU per full-path / fast-path unlock, µs. */
  fullUs: number;
  fastUs: number;
  /** Of which, median time inside the vault's calls, µs. */
  storeFullUs: number;
  storeFastUs: number;
  /** CPU ÷ the first row's CPU, paired per iteration. */
  fullRatio: PairedRatio;
  fastRatio: PairedRatio;
  /** Size of the state a vault commit rewrites, bytes. */
  stateBytes: number;
  /** Median wall time of one ticket commit on the file vault with this state (CPU + disk), ms. */
  fileVaultCommitMs: number;
}

/** Ticket commits timed per row on the file vault. */
const FILE_COMMITS = 15;

/** A built row: one world per phone (same vehicle), and the setup vault for the file-vault rows. */
interface BuiltRow {
  keys: number;
  worlds: BenchWorld[];
  setup: Vault;
}

/** Builds a row: `keys` enrolled keys of which `phones` are phones that unlock. */
async function buildRow(keys: number, phones: number, log: (s: string) => void): Promise<BuiltRow> {
  const t0 = performance.now();
  const clock = new VirtualClock(T0_MS);
  const keygen = newProvider('native');
  const identityKey = createSoftwareKeyAgreement(newProvider('native'));
  const setupVault = createMapVault();
  const setup = await openBenchVehicle(newProvider('native'), setupVault, clock, identityKey);
  const benchPhones = [];
  for (let i = 0; i < phones; i++) {
    const phone = await newBenchPhone(newProvider('native'), setup, clock);
    await setup.enrollOwner(phone.publicKey, `bench phone ${i}`);
    benchPhones.push(phone);
  }
  for (let i = phones; i < keys; i++) await setup.enrollOwner(keygen.generateKeyPair().publicKey, `key ${i}`);
  const keepUntilMs = T0_MS + 365 * 24 * 3600 * 1000;
  for (let i = 0; i < SCALE_REVOKED_GRANTS; i++) await setup.config.store.revoke({ keys: [], grants: [{ grantId: keygen.randomBytes(16), keepUntil: keepUntilMs }] });
  const vault = timeVault(createMemoryVault());
  await copyVault(setupVault, vault.vault);
  const vehicle = await openBenchVehicle(newProvider('native'), vault.vault, clock, identityKey);
  const worlds = benchPhones.map((phone) => ({ provider: 'native' as const, clock, vehicle, phone, vehicleId: vehicle.identity.vehicleId, vehicleVault: vault }));
  // One full session per phone: each holds a ticket, and the vehicle has seen each key once.
  for (const w of worlds) await runSession(w, 'unlock-full');
  log(`scale: ${keys} keys, ${phones} phones + ${SCALE_REVOKED_GRANTS} revoked grants ready in ${Math.round(performance.now() - t0)} ms`);
  return { keys, worlds, setup: setupVault };
}

/** Per row and path: vehicle ms and vault ms per kept iteration. */
interface RowSamples {
  full: number[];
  fast: number[];
  fullVault: number[];
  fastVault: number[];
}

/** Every iteration runs a full and a fast unlock on every row, rows in rotating order, phones in turn. */
async function measureRows(rows: BuiltRow[], runs: number, warmup: number, log: (s: string) => void): Promise<RowSamples[]> {
  const samples = rows.map(() => ({ full: [] as number[], fast: [] as number[], fullVault: [] as number[], fastVault: [] as number[] }));
  for (let i = -warmup; i < runs; i++) {
    for (let j = 0; j < rows.length; j++) {
      const k = (((i + j) % rows.length) + rows.length) % rows.length;
      const row = rows[k]!;
      const world = row.worlds[((i % row.worlds.length) + row.worlds.length) % row.worlds.length]!;
      const paths = i % 2 === 0 ? (['unlock-full', 'unlock-fast'] as const) : (['unlock-fast', 'unlock-full'] as const);
      for (const flow of paths) {
        const r = await runSession(world, flow);
        if (i < 0) continue;
        if (r.path !== (flow === 'unlock-full' ? 'full' : 'fast')) throw new Error(`scale: ${flow} ran the ${r.path} path`);
        const s = samples[k]!;
        (flow === 'unlock-full' ? s.full : s.fast).push(sum(r.vehicleWindowsMs));
        (flow === 'unlock-full' ? s.fullVault : s.fastVault).push(sum(r.vehicleVaultMs));
      }
    }
    if (i >= 0 && (i + 1) % Math.max(1, Math.floor(runs / 2)) === 0) log(`scale: ${i + 1}/${runs}`);
  }
  return samples;
}

/** Measures the scale rows: `warmup` then `runs` iterations. */
export async function measureScale(runs: number, warmup: number, log: (s: string) => void): Promise<ScaleRow[]> {
  const rows: BuiltRow[] = [];
  for (const { keys, phones } of SCALE_ROWS) rows.push(await buildRow(keys, phones, log));
  const samples = await measureRows(rows, runs, warmup, log);
  const base = samples[0]!;
  const out: ScaleRow[] = [];
  for (const [j, row] of rows.entries()) {
    const file = await measureFileCommit(row.setup, FILE_COMMITS);
    log(`scale: file vault, ${row.keys} keys: ${file.stateBytes} B state, ${file.commitMs.toFixed(2)} ms per commit`);
    const s = samples[j]!;
    out.push({
      keys: row.keys,
      phones: row.worlds.length,
      revokedGrants: SCALE_REVOKED_GRANTS,
      fullUs: us(median(s.full)),
      fastUs: us(median(s.fast)),
      storeFullUs: us(median(s.fullVault)),
      storeFastUs: us(median(s.fastVault)),
      fullRatio: pairedRatio(s.full, base.full),
      fastRatio: pairedRatio(s.fast, base.fast),
      stateBytes: file.stateBytes,
      fileVaultCommitMs: Math.round(file.commitMs * 100) / 100,
    });
  }
  return out;
}
