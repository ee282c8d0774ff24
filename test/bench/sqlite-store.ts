/**
 * Durable-store rows (issue 10, docs/BENCHMARKS.md §Durable store): the SQLite vehicle store
 * against the memory vault at 10, 1,000 and 10,000 keys with 100,000 revoked grants, measured
 * side by side in one run:
 * - store open time (close and reopen, quick_check included) and one durable commit (a ticket
 *   filed: wall time, CPU and the disk's raw fdatasync for reference);
 * - the vehicle's full- and fast-path unlock on the SQLite store and on the memory vault
 *   (vehicle critical-path time per session, native provider, virtual time: the SQLite store
 *   commits synchronously, so its fsyncs are inside the vehicle's windows);
 * - fast-path unlocks per second with 50 phones connected at once: the vehicle alone on this
 *   process's event loop (one core) with the phones in a child process on the other, over the
 *   loopback socket link in real time (the row the target is judged on), and, for reference,
 *   everything on this one thread on the mock link (the phones' crypto then shares the core).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance as nodePerformance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { listenSocketLinks } from '../../src/link/socket.js';
import { systemClock } from '../../src/transport/clock.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openSqliteVehicleStore } from '../../src/store/sqlite/index.js';
import { createSoftwareKeyAgreement, type VehicleKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { openVehicleStore, type KeyRecord, type VehicleStore } from '../../src/vehicle/store.js';
import { createMapVault } from './map-vault.js';
import { runSession } from './session.js';
import { median, sum } from './stats.js';
import { timeVault } from './timed-vault.js';
import { BENCH_HANDLERS, newBenchPhone, newProvider, T0_MS, type BenchWorld } from './world.js';

const PHONES_CHILD = fileURLToPath(new URL('./phones-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Key counts of the rows. */
export const STORE_KEYS: readonly number[] = [10, 1_000, 10_000];
/** Revoked grants on file in every row. */
export const STORE_REVOKED_GRANTS = 100_000;
/** Phones unlocking at once in the throughput row. */
export const CONCURRENT_PHONES = 50;

/** One durable-store row. */
export interface StoreRow {
  keys: number;
  revokedGrants: number;
  /** SQLite database size, bytes. */
  dbBytes: number;
  /** Median open of the SQLite store (quick_check, schema check, counts), ms. */
  openMs: number;
  /** Median wall time of one durable commit (a ticket filed), ms. */
  commitMs: number;
  /** Median CPU of that commit (this process, user + system), ms. */
  commitCpuMs: number;
  /** Median vehicle time per full-path unlock: SQLite store / memory vault, µs. */
  fullUs: { sqlite: number; memory: number };
  /** Median vehicle time per fast-path unlock: SQLite store / memory vault, µs. */
  fastUs: { sqlite: number; memory: number };
}

/** The durable-store section of a bench result. */
export interface StoreReport {
  driver: string;
  /** Median raw fdatasync of a 4 KiB write on the bench's temp directory's disk, ms. */
  fdatasyncMs: number;
  rows: StoreRow[];
  /** Fast-path unlocks per second, 50 phones at once. */
  throughput: {
    phones: number;
    unlocks: number;
    /** Vehicle alone on this process's event loop, phones in a child process, socket link. */
    sqlitePerSecond: number;
    memoryPerSecond: number;
    /** Share of the vehicle's event loop busy during those rounds (1 = the core is the bound). */
    vehicleLoopBusy: { sqlite: number; memory: number };
    /** Everything on one thread over the mock link (the phones' crypto shares the core). */
    sameThread: { sqlitePerSecond: number; memoryPerSecond: number };
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Median raw fdatasync of a 4 KiB rewrite, the disk's floor under any durable commit. */
function measureFdatasync(dir: string, runs: number): number {
  const file = path.join(dir, 'fsync-probe');
  const fd = openSync(file, 'w', 0o600);
  const block = Buffer.alloc(4096, 1);
  const times: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      writeSync(fd, block, 0, block.length, 0);
      fdatasyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
  }
  return median(times);
}

/** A key record for filler key i (never used to unlock: only its presence counts). */
function fillerKey(keygen: ReturnType<typeof newProvider>, i: number): KeyRecord {
  return { keyId: keygen.randomBytes(16), publicKey: keygen.generateKeyPair().publicKey, role: 'owner', name: `key ${i}`, commands: null, suspended: false, canShare: true, chainDepth: 0, createdAt: T0_MS };
}

/** Fills a store: `keys - enrolled` filler keys and the revoked grants, in a few transactions. */
async function fill(store: VehicleStore, keys: KeyRecord[], grants: Uint8Array[]): Promise<void> {
  await Promise.all(keys.map((k) => store.putKey(k)));
  const keepUntil = T0_MS + 365 * 86_400_000;
  await store.revoke({ keys: [], grants: grants.map((grantId) => ({ grantId, keepUntil })) });
}

/** A vehicle on `store` with `phones` enrolled phones and filler keys up to `keys`. */
async function world(store: VehicleStore, identityKey: VehicleKeyAgreement, clock: VirtualClock, phones: number): Promise<{ vehicle: Vehicle; worlds: BenchWorld[] }> {
  // Work slots for every phone at once: the row measures the store and the crypto, not the
  // admission limit (which would answer BUSY and make phones retry on the full path).
  const vehicle = await Vehicle.create({ crypto: newProvider('native'), store, identityKey, clock, handlers: BENCH_HANDLERS, maxConcurrentHandshakes: Math.max(phones, 16) });
  const worlds: BenchWorld[] = [];
  for (let i = 0; i < phones; i++) {
    const phone = await newBenchPhone(newProvider('native'), vehicle, clock);
    await vehicle.enrollOwner(phone.publicKey, `phone ${i}`);
    worlds.push({ provider: 'native', clock, vehicle, phone, vehicleId: vehicle.identity.vehicleId, vehicleVault: timeVault(createMapVault()) });
  }
  return { vehicle, worlds };
}

/** Median vehicle µs per session of `flow`, keeping only sessions that took `path`. */
async function vehicleUs(w: BenchWorld, flow: 'unlock-full' | 'unlock-fast', runs: number, warmup: number): Promise<number> {
  const samples: number[] = [];
  for (let i = -warmup; samples.length < runs && i < 4 * runs; i++) {
    const r = await runSession(w, flow);
    if (i >= 0 && r.path === (flow === 'unlock-full' ? 'full' : 'fast')) samples.push(sum(r.vehicleWindowsMs));
  }
  return Math.round(median(samples) * 1000);
}

/** Fast unlocks per second with every phone of `worlds` connecting at once, `rounds` times. */
async function throughput(vehicle: Vehicle, worlds: BenchWorld[], rounds: number): Promise<number> {
  const clock = worlds[0]!.clock;
  const once = () =>
    Promise.all(
      worlds.map(async (w) => {
        for (let attempt = 0; ; attempt++) {
          const pair = createMockLinkPair({ clock });
          const served = vehicle.serve(pair.vehicle);
          try {
            const s = await w.phone.connect(pair.phone, w.vehicleId, { id: COMMAND.unlock });
            await s.close();
            await served;
            return s.path;
          } catch (e) {
            await served;
            // The admission limit answers BUSY beyond its work slots: a real phone retries.
            if ((e as { code?: string }).code !== 'VEHICLE_BUSY' || attempt > 50) throw e;
          }
        }
      }),
    );
  await clock.runUntilSettled(once()); // every phone holds a ticket now
  let fast = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) fast += (await clock.runUntilSettled(once())).filter((p) => p === 'fast').length;
  return Math.round((fast / (performance.now() - t0)) * 1000);
}

/** Measures every durable-store row. */
export async function measureStores(runs: number, warmup: number, log: (s: string) => void): Promise<StoreReport> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dk-bench-sqlite-'));
  try {
    const fdatasyncMs = measureFdatasync(dir, 200);
    log(`stores: raw fdatasync ${fdatasyncMs.toFixed(3)} ms`);
    const keygen = newProvider('native');
    const grants = Array.from({ length: STORE_REVOKED_GRANTS }, () => keygen.randomBytes(16));
    const rows: StoreRow[] = [];
    let driver = '';
    for (const keys of STORE_KEYS) {
      const t0 = performance.now();
      const clock = new VirtualClock(T0_MS);
      const identityKey = createSoftwareKeyAgreement(newProvider('native'));
      const location = path.join(dir, `k${keys}`);
      const filler = Array.from({ length: keys - 1 }, (_, i) => fillerKey(keygen, i));
      const sqliteStore = await openSqliteVehicleStore(location);
      driver = sqliteStore.driver;
      await fill(sqliteStore, filler, grants);
      const sqlite = await world(sqliteStore, identityKey, clock, 1);
      const memoryStore = await openVehicleStore(createMemoryVault());
      await fill(memoryStore, filler, grants);
      const memory = await world(memoryStore, identityKey, clock, 1);
      log(`stores: ${keys} keys + ${STORE_REVOKED_GRANTS} revoked grants ready in ${Math.round(performance.now() - t0)} ms`);
      const fullUs = { sqlite: await vehicleUs(sqlite.worlds[0]!, 'unlock-full', runs, warmup), memory: await vehicleUs(memory.worlds[0]!, 'unlock-full', runs, warmup) };
      const fastUs = { sqlite: await vehicleUs(sqlite.worlds[0]!, 'unlock-fast', runs, warmup), memory: await vehicleUs(memory.worlds[0]!, 'unlock-fast', runs, warmup) };
      const commits: number[] = [];
      const commitCpu: number[] = [];
      for (let i = 0; i < Math.max(runs, 30); i++) {
        const ticket = { ticketId: keygen.randomBytes(16), keyId: filler[0]?.keyId ?? keygen.randomBytes(16), sealedSecret: keygen.randomBytes(60), expiresAt: T0_MS, renewalsLeft: 8 };
        const [w0, c0] = [performance.now(), cpuMs()];
        await sqliteStore.putTicket(ticket); // deferred: sync() is the durable commit
        await sqliteStore.sync();
        commits.push(performance.now() - w0);
        commitCpu.push(cpuMs() - c0);
      }
      await sqliteStore.close();
      const opens: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        const s = await openSqliteVehicleStore(location);
        opens.push(performance.now() - t);
        await s.close();
      }
      const { statSync } = await import('node:fs');
      const row: StoreRow = {
        keys,
        revokedGrants: STORE_REVOKED_GRANTS,
        dbBytes: statSync(path.join(location, 'vehicle.db')).size,
        openMs: round2(median(opens)),
        commitMs: round3(median(commits)),
        commitCpuMs: round3(median(commitCpu)),
        fullUs,
        fastUs,
      };
      log(`stores: ${keys} keys: open ${row.openMs} ms, commit ${row.commitMs} ms (CPU ${row.commitCpuMs}), full ${fullUs.sqlite}/${fullUs.memory} µs, fast ${fastUs.sqlite}/${fastUs.memory} µs (SQLite/memory)`);
      rows.push(row);
    }
    const tp = await measureThroughput(dir, log);
    return { driver, fdatasyncMs: round3(fdatasyncMs), rows, throughput: tp };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Measured rounds of the throughput rows: within the ticket renewal cap (8) after the priming round. */
const THROUGHPUT_ROUNDS = 6;

/** The 50-phone rows on a fresh store of each kind (filler keys are irrelevant here). */
async function measureThroughput(dir: string, log: (s: string) => void): Promise<StoreReport['throughput']> {
  const sameThread = async (label: string, open: () => Promise<VehicleStore>) => {
    const clock = new VirtualClock(T0_MS);
    const store = await open();
    const { vehicle, worlds } = await world(store, createSoftwareKeyAgreement(newProvider('native')), clock, CONCURRENT_PHONES);
    const perSecond = await throughput(vehicle, worlds, THROUGHPUT_ROUNDS);
    await store.close();
    log(`stores: ${CONCURRENT_PHONES} phones at once on this thread, ${label}: ${perSecond} fast unlocks/s`);
    return perSecond;
  };
  const sqliteAt = (name: string) => () => openSqliteVehicleStore(path.join(dir, name));
  const memory = () => openVehicleStore(createMemoryVault());
  const sqliteX = await crossProcess(dir, 'SQLite', sqliteAt('tp-x'), log);
  const memoryX = await crossProcess(dir, 'memory vault', memory, log);
  return {
    phones: CONCURRENT_PHONES,
    unlocks: CONCURRENT_PHONES * THROUGHPUT_ROUNDS,
    sqlitePerSecond: sqliteX.perSecond,
    memoryPerSecond: memoryX.perSecond,
    vehicleLoopBusy: { sqlite: sqliteX.busy, memory: memoryX.busy },
    sameThread: { sqlitePerSecond: await sameThread('SQLite', sqliteAt('tp-micro')), memoryPerSecond: await sameThread('memory vault', memory) },
  };
}

/**
 * Fast unlocks per second of a vehicle on `open()`'s store serving the phones of a child
 * process over a unix socket in real time, and how busy the vehicle's event loop was.
 */
async function crossProcess(dir: string, label: string, open: () => Promise<VehicleStore>, log: (s: string) => void): Promise<{ perSecond: number; busy: number }> {
  const store = await open();
  const vehicle = await Vehicle.create({ crypto: newProvider('native'), store, identityKey: createSoftwareKeyAgreement(newProvider('native')), clock: systemClock, handlers: BENCH_HANDLERS, maxConcurrentHandshakes: CONCURRENT_PHONES });
  const socket = path.join(dir, `phones-${label.replace(/\W/g, '')}.sock`);
  const server = await listenSocketLinks({ path: socket }, (link) => void vehicle.serve(link));
  const child = spawn(process.execPath, ['--import', 'tsx', PHONES_CHILD], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ask = async (o: unknown) => {
    child.stdin!.write(`${JSON.stringify(o)}\n`);
    const line = await replies.next();
    if (line.done) throw new Error(`${label}: the phones child ended early`);
    return JSON.parse(String(line.value)) as { publicKeys?: string[]; done?: number; failed?: number; ms?: number };
  };
  try {
    const { peer } = vehicle;
    const { publicKeys } = await ask({ socket, vehicleId: toHex(peer.vehicleId), publicKey: toHex(peer.publicKey), advertisingKey: toHex(peer.advertisingKey), phones: CONCURRENT_PHONES });
    for (const [i, k] of (publicKeys ?? []).entries()) await vehicle.enrollOwner(fromHex(k), `phone ${i}`);
    await ask({ round: 'prime' }); // every phone holds a ticket now
    let fast = 0;
    let ms = 0;
    const elu0 = nodePerformance.eventLoopUtilization();
    for (let r = 0; r < THROUGHPUT_ROUNDS; r++) {
      const round = await ask({ round: 'measure' });
      if ((round.failed ?? 0) > 0) throw new Error(`${label}: ${round.failed} unlocks failed in a throughput round`);
      fast += round.done ?? 0;
      ms += round.ms ?? 0;
    }
    const busy = Math.round(nodePerformance.eventLoopUtilization(elu0).utilization * 100) / 100;
    const perSecond = Math.round((fast / ms) * 1000);
    log(`stores: ${CONCURRENT_PHONES} phones in another process, ${label}: ${perSecond} fast unlocks/s, vehicle event loop ${Math.round(busy * 100)}% busy`);
    return { perSecond, busy };
  } finally {
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    await server.close();
    await vehicle.close();
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;
const round3 = (x: number) => Math.round(x * 1000) / 1000;
