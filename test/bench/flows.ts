/**
 * The flow rows and the baseline for one provider (docs/BENCHMARKS.md §Method):
 *
 * 1. CPU: `runs` iterations, each running one session of every flow, the Tesla model (plain and
 *    with cached ECDH), a validation session of each path on crypto-timed providers, and one
 *    iteration of every floor variant — interleaved, so drift and other load hit all alike.
 * 2. GATT operations: one session per flow at ATT MTU 23, 185 and 247.
 * 3. Latency: one session per flow at connection intervals 7.5, 15 and 30 ms (MTU 185, default
 *    packets per event), replaying each window's median CPU in virtual time.
 */
import { prepareCore, runCore } from './core.js';
import { runFloor, prepareFloor, FLOORS, type FloorName } from './floor.js';
import { FLOWS, runSession, type CpuModel, type FlowName, type SessionResult } from './session.js';
import { median, sum, summarize, us, round, type Summary } from './stats.js';
import { makeTeslaWorld, runTeslaSession, type TeslaSessionResult } from './tesla-model.js';
import { makeBenchWorld, newProvider, type BenchWorld, type ProviderName } from './world.js';
import type { MockTraceEvent } from '../../src/transport/mock/index.js';

/** ATT MTUs whose GATT operation counts are reported. */
export const MTUS: readonly number[] = [23, 185, 247];
/** Connection intervals of the latency figures, ms. */
export const INTERVALS_MS: readonly number[] = [7.5, 15, 30];
/** MTU of the latency runs. */
export const LATENCY_MTU = 185;

/** One flow row. */
export interface FlowRow {
  name: FlowName;
  provider: ProviderName;
  path: 'full' | 'fast' | 'resume';
  messages: number;
  bytesOnAir: number;
  /** Size of each application message in order, before framing, bytes. */
  messageBytes: number[];
  gattOps: Record<string, number>;
  vehicleCpuUs: number;
  phoneCpuUs: number;
  vehicleCpu: Summary;
  phoneCpu: Summary;
  vehicleWindowsUs: number[];
  phoneWindowsUs: number[];
  floorUs: number;
  /** The one-ECDH floor ("ECDH + verify + KDF + AEAD"); full path only. */
  floorOneEcdhUs?: number;
  floorRatio: number;
  floorOneEcdhRatio?: number;
  latencyMs: Record<string, number>;
  /** Subscription to the vehicle finishing its Auth → Result work (the car has acted), ms. */
  actuatedMs: Record<string, number>;
}

/** The baseline row for one provider. */
export interface BaselineRow {
  name: 'tesla-model';
  provider: ProviderName;
  messages: number;
  bytesOnAir: number;
  messageBytes: number[];
  gattOps: Record<string, number>;
  vehicleCpuUs: number;
  phoneCpuUs: number;
  /** Medians per window: vehicle [request → SessionInfo, command → response], phone [build request, SessionInfo → command, response → app]. */
  vehicleWindowsUs: number[];
  phoneWindowsUs: number[];
  latencyMs: Record<string, number>;
  actuatedMs: Record<string, number>;
  /** The same with K cached on both sides (no ECDH per session), as clients do in practice. */
  cachedEcdh: { vehicleCpuUs: number; phoneCpuUs: number; latencyMs: Record<string, number> };
}

/** What the validation sessions showed for one path. */
export interface ValidationRow {
  provider: ProviderName;
  flow: FlowName;
  /** Median window time per side, µs. */
  vehicleWindowUs: number;
  phoneWindowUs: number;
  /** Median crypto time inside those windows (timed provider), µs. */
  vehicleCryptoUs: number;
  phoneCryptoUs: number;
  /** Median of (window − crypto) per session: CBOR, store, audit, promise hops, µs. */
  vehicleOverheadUs: number;
  phoneOverheadUs: number;
  /** Median process CPU time (user + system, all threads) inside the vehicle's windows, µs: a cross-check of the wall-clock windows. */
  vehicleProcessCpuUs: number;
  /** Median time inside the vehicle's vault calls within its windows, µs. */
  vehicleVaultUs: number;
  /** Median time of the vehicle's pure protocol core for this path (no driver, store or link), µs. */
  coreUs: number;
  /** The floor measured directly in the same iterations, µs (full: two-ECDH floor). */
  floorUs: number;
  /** Crypto calls per session on each side (the vehicle's generateKeyPair is the idle pool refill, outside the windows). */
  vehicleCallsPerSession: Record<string, number>;
  phoneCallsPerSession: Record<string, number>;
}

/** Everything measured for one provider. */
export interface ProviderReport {
  flows: FlowRow[];
  baseline: BaselineRow;
  validation: ValidationRow[];
  /** Largest virtual time seen inside any CPU window (must be 0). */
  maxVirtualMsInWindows: number;
  /** Direct floor medians, µs. */
  floorsUs: Record<FloorName, number>;
}

/** The floor a flow's vehicle CPU is compared with. */
const FLOOR_OF: Record<FlowName, FloorName> = { 'unlock-full': 'full', 'unlock-fast': 'fast', start: 'full' };
/** Flows validated on crypto-timed providers (start is the full path again). */
const VALIDATED: readonly FlowName[] = ['unlock-full', 'unlock-fast'];

/** Per-window medians of a set of sessions, as a CpuModel in ms. */
function modelOf(sessions: ReadonlyArray<{ vehicleWindowsMs: number[]; phoneWindowsMs: number[] }>): CpuModel {
  const col = (pick: (s: (typeof sessions)[number]) => number[]) => {
    const n = pick(sessions[0]!).length;
    return Array.from({ length: n }, (_, i) => median(sessions.map((s) => pick(s)[i] ?? 0)));
  };
  return { vehicleMs: col((s) => s.vehicleWindowsMs), phoneMs: col((s) => s.phoneWindowsMs) };
}

/** A mock trace hook that records the size of every message sent, in order. */
function sendSizes(into: number[]): (e: MockTraceEvent) => void {
  return (e) => {
    if (e.type === 'send' && e.size !== undefined) into.push(e.size);
  };
}

/** Sum of both directions of a counter. */
function both(r: SessionResult | TeslaSessionResult, key: 'messages' | 'airBytes' | 'gattOps'): number {
  return r.stats.toVehicle[key] + r.stats.toPhone[key];
}

/** Everything the interleaved iterations collect for one provider. */
interface Samples {
  world: BenchWorld;
  sessions: Record<FlowName, SessionResult[]>;
  /** Validation sessions on crypto-timed providers, and their crypto calls per side. */
  checks: Record<FlowName, SessionResult[]>;
  calls: Record<FlowName, { vehicle: Record<string, number>; phone: Record<string, number> }>;
  tesla: TeslaSessionResult[];
  teslaCached: TeslaSessionResult[];
  floors: Record<FloorName, number[]>;
  cores: Record<'full' | 'fast', number[]>;
  maxVirtualMs: number;
}

/** Runs `warmup` discarded then `runs` kept iterations of every measurement, interleaved. */
async function collect(provider: ProviderName, runs: number, warmup: number, log: (s: string) => void): Promise<Samples> {
  const world = await makeBenchWorld(provider);
  const timed = await makeBenchWorld(provider, { timed: true });
  const tesla = makeTeslaWorld(provider);
  const teslaCached = makeTeslaWorld(provider, true);
  const floor = prepareFloor(newProvider(provider));
  const core = prepareCore(newProvider(provider));
  const flows = () => ({ 'unlock-full': [], 'unlock-fast': [], start: [] }) as Record<FlowName, SessionResult[]>;
  const s: Samples = {
    world,
    sessions: flows(),
    checks: flows(),
    calls: { 'unlock-full': { vehicle: {}, phone: {} }, 'unlock-fast': { vehicle: {}, phone: {} }, start: { vehicle: {}, phone: {} } },
    tesla: [],
    teslaCached: [],
    floors: { full: [], full1: [], fast: [] },
    cores: { full: [], fast: [] },
    maxVirtualMs: 0,
  };
  const seen = (r: { virtualMsInWindows: number }) => (s.maxVirtualMs = Math.max(s.maxVirtualMs, r.virtualMsInWindows));
  // The fast path needs a ticket: one full session first.
  await runSession(world, 'unlock-full');
  await runSession(timed, 'unlock-full');
  const t0 = performance.now();
  for (let i = -warmup; i < runs; i++) {
    const keep = i >= 0;
    for (const flow of FLOWS) {
      const r = await runSession(world, flow);
      seen(r);
      if (keep) s.sessions[flow].push(r);
    }
    for (const flow of VALIDATED) {
      const vehicleBefore = snapshotCalls(timed.vehicleCrypto!.perMethod);
      const phoneBefore = snapshotCalls(timed.phoneCrypto!.perMethod);
      const r = await runSession(timed, flow);
      seen(r);
      if (!keep) continue;
      s.checks[flow].push(r);
      addDelta(s.calls[flow].vehicle, snapshotCalls(timed.vehicleCrypto!.perMethod), vehicleBefore);
      addDelta(s.calls[flow].phone, snapshotCalls(timed.phoneCrypto!.perMethod), phoneBefore);
    }
    const t = await runTeslaSession(tesla);
    const tc = await runTeslaSession(teslaCached);
    seen(t);
    seen(tc);
    const floorMs = FLOORS.map((name) => runFloor(floor, name));
    const coreMs = [runCore(core, 'full'), runCore(core, 'fast')];
    if (!keep) continue;
    s.tesla.push(t);
    s.teslaCached.push(tc);
    FLOORS.forEach((name, j) => s.floors[name].push(floorMs[j]!));
    s.cores.full.push(coreMs[0]!);
    s.cores.fast.push(coreMs[1]!);
    if ((i + 1) % Math.max(1, Math.floor(runs / 4)) === 0) log(`${provider}: ${i + 1}/${runs} iterations (${Math.round(performance.now() - t0)} ms)`);
  }
  return s;
}

/** Measures every flow, the floors, the baseline and the validation for one provider. */
export async function measureProvider(provider: ProviderName, runs: number, warmup: number, log: (s: string) => void): Promise<ProviderReport> {
  const s = await collect(provider, runs, warmup, log);
  const floorsUs = { full: us(median(s.floors.full)), full1: us(median(s.floors.full1)), fast: us(median(s.floors.fast)) };
  const flows: FlowRow[] = [];
  for (const flow of FLOWS) flows.push(await flowRow(s.world, flow, s.sessions[flow], floorsUs));
  const baseline = await baselineRow(provider, s.tesla, s.teslaCached);
  const validation = VALIDATED.map((flow) => {
    const coreUs = us(median(s.cores[flow === 'unlock-fast' ? 'fast' : 'full']));
    return validationRow(provider, flow, s.checks[flow], floorsUs[FLOOR_OF[flow]], coreUs, s.calls[flow]);
  });
  return { flows, baseline, validation, maxVirtualMsInWindows: s.maxVirtualMs, floorsUs };
}

/** One flow row: CPU from the measured sessions, sizes and GATT counts per MTU, modelled latency. */
async function flowRow(world: BenchWorld, flow: FlowName, runsOf: SessionResult[], floorsUs: Record<FloorName, number>): Promise<FlowRow> {
  const model = modelOf(runsOf);
  const first = runsOf[0]!;
  const gattOps: Record<string, number> = {};
  for (const mtu of MTUS) gattOps[String(mtu)] = both(await runSession(world, flow, { mtu }), 'gattOps');
  const messageBytes: number[] = [];
  await runSession(world, flow, { trace: sendSizes(messageBytes) });
  const latencyMs: Record<string, number> = {};
  const actuatedMs: Record<string, number> = {};
  for (const interval of INTERVALS_MS) {
    const r = await runSession(world, flow, { mtu: LATENCY_MTU, connectionIntervalMs: interval }, model);
    latencyMs[String(interval)] = round(r.latencyMs, 2);
    actuatedMs[String(interval)] = round(r.actuatedMs, 2);
  }
  const vehicleCpu = summarize(runsOf.map((r) => sum(r.vehicleWindowsMs) * 1000));
  const phoneCpu = summarize(runsOf.map((r) => sum(r.phoneWindowsMs) * 1000));
  const floorUs = floorsUs[FLOOR_OF[flow]];
  const row: FlowRow = {
    name: flow,
    provider: world.provider,
    path: first.path,
    messages: both(first, 'messages'),
    bytesOnAir: both(first, 'airBytes'),
    messageBytes,
    gattOps,
    vehicleCpuUs: Math.round(vehicleCpu.median),
    phoneCpuUs: Math.round(phoneCpu.median),
    vehicleCpu: roundSummary(vehicleCpu),
    phoneCpu: roundSummary(phoneCpu),
    vehicleWindowsUs: model.vehicleMs.map(us),
    phoneWindowsUs: model.phoneMs.map(us),
    floorUs,
    floorRatio: round(vehicleCpu.median / floorUs, 3),
    latencyMs,
    actuatedMs,
  };
  if (first.path === 'full') {
    row.floorOneEcdhUs = floorsUs.full1;
    row.floorOneEcdhRatio = round(vehicleCpu.median / floorsUs.full1, 3);
  }
  return row;
}

/**
 * The baseline row: CPU medians from the measured runs; sizes, GATT counts and latency from fresh
 * worlds whose anti-replay counter starts at protocol.md's example value (6), so every size is
 * reproducible (a counter of 128 or more adds one varint byte to each of messages 2–4).
 */
async function baselineRow(provider: ProviderName, runs: TeslaSessionResult[], cachedRuns: TeslaSessionResult[]): Promise<BaselineRow> {
  const model = modelOf(runs);
  const cachedModel = modelOf(cachedRuns);
  const tesla = makeTeslaWorld(provider);
  const cached = makeTeslaWorld(provider, true);
  const first = await runTeslaSession(tesla);
  const gattOps: Record<string, number> = {};
  for (const mtu of MTUS) gattOps[String(mtu)] = both(await runTeslaSession(tesla, { mtu }), 'gattOps');
  const messageBytes: number[] = [];
  await runTeslaSession(tesla, { trace: sendSizes(messageBytes) });
  const latencyMs: Record<string, number> = {};
  const actuatedMs: Record<string, number> = {};
  const cachedLatencyMs: Record<string, number> = {};
  for (const interval of INTERVALS_MS) {
    const link = { mtu: LATENCY_MTU, connectionIntervalMs: interval };
    const r = await runTeslaSession(tesla, link, model);
    latencyMs[String(interval)] = round(r.latencyMs, 2);
    actuatedMs[String(interval)] = round(r.actuatedMs, 2);
    cachedLatencyMs[String(interval)] = round((await runTeslaSession(cached, link, cachedModel)).latencyMs, 2);
  }
  const cpu = (rs: TeslaSessionResult[], side: 'vehicleWindowsMs' | 'phoneWindowsMs') => Math.round(median(rs.map((r) => sum(r[side]) * 1000)));
  return {
    name: 'tesla-model',
    provider,
    messages: both(first, 'messages'),
    bytesOnAir: both(first, 'airBytes'),
    messageBytes,
    gattOps,
    vehicleCpuUs: cpu(runs, 'vehicleWindowsMs'),
    phoneCpuUs: cpu(runs, 'phoneWindowsMs'),
    vehicleWindowsUs: model.vehicleMs.map(us),
    phoneWindowsUs: model.phoneMs.map(us),
    latencyMs,
    actuatedMs,
    cachedEcdh: { vehicleCpuUs: cpu(cachedRuns, 'vehicleWindowsMs'), phoneCpuUs: cpu(cachedRuns, 'phoneWindowsMs'), latencyMs: cachedLatencyMs },
  };
}

/** The validation row of one path: windows against the crypto inside them and the floor. */
function validationRow(
  provider: ProviderName,
  flow: FlowName,
  runs: SessionResult[],
  floorUs: number,
  coreUs: number,
  calls: { vehicle: Record<string, number>; phone: Record<string, number> },
): ValidationRow {
  const perSession = (total: Record<string, number>) =>
    Object.fromEntries(Object.entries(total).map(([k, v]) => [k, round(v / runs.length, 2)]));
  const med = (pick: (r: SessionResult) => number) => us(median(runs.map(pick)));
  return {
    provider,
    flow,
    vehicleWindowUs: med((r) => sum(r.vehicleWindowsMs)),
    phoneWindowUs: med((r) => sum(r.phoneWindowsMs)),
    vehicleCryptoUs: med((r) => sum(r.vehicleCryptoMs)),
    phoneCryptoUs: med((r) => sum(r.phoneCryptoMs)),
    vehicleOverheadUs: med((r) => sum(r.vehicleWindowsMs) - sum(r.vehicleCryptoMs)),
    phoneOverheadUs: med((r) => sum(r.phoneWindowsMs) - sum(r.phoneCryptoMs)),
    vehicleProcessCpuUs: med((r) => sum(r.vehicleProcessCpuMs)),
    vehicleVaultUs: med((r) => sum(r.vehicleVaultMs)),
    coreUs,
    floorUs,
    vehicleCallsPerSession: perSession(calls.vehicle),
    phoneCallsPerSession: perSession(calls.phone),
  };
}

/** Adds the growth of each counter from `then` to `now` into `into`. */
function addDelta(into: Record<string, number>, now: Record<string, number>, then: Record<string, number>): void {
  for (const [k, v] of Object.entries(now)) {
    const d = v - (then[k] ?? 0);
    if (d > 0) into[k] = (into[k] ?? 0) + d;
  }
}

/** Call counts per method at this moment. */
function snapshotCalls(perMethod: Record<string, { calls: number }>): Record<string, number> {
  return Object.fromEntries(Object.entries(perMethod).map(([k, v]) => [k, v.calls]));
}

/** A summary rounded to whole µs (inputs in µs). */
function roundSummary(s: Summary): Summary {
  return { median: Math.round(s.median), min: Math.round(s.min), max: Math.round(s.max), n: s.n };
}
