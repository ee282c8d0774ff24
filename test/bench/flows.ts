/**
 * The flow rows and the Tesla rows for one provider (docs/BENCHMARKS.md §Method):
 *
 * 1. CPU: `runs` iterations. Each runs one session of every flow, both Tesla sessions, a
 *    validation session of each path on crypto-timed providers, every floor and the pure core
 *    once — in an order that rotates by one task per iteration, so no measurement always runs
 *    first (cold) or last (hot). Each flow's CPU is divided by the floor measured in the SAME
 *    iteration; the kept iterations are cut into {@link ROUNDS} rounds, each round's median ratio
 *    is taken, and the ratio is reported as min / median / max over the rounds.
 * 2. Link: one session per flow at ATT MTU 23, 185 and 247 × connection interval 7.5, 15 and 30
 *    ms over the flow's own transport (ATT acknowledgements where it uses them: transports.ts),
 *    replaying each window's median CPU in virtual time; and once more per MTU with no
 *    acknowledgements at all, for comparison with the earlier model.
 */
import { prepareCore, runCore } from './core.js';
import { runFloor, prepareFloor, FLOORS, type FloorName } from './floor.js';
import { FLOW_SPECS, flowSpec, runSession, type CpuModel, type FlowName, type SessionResult } from './session.js';
import { median, sum, summarize, us, round, type Summary } from './stats.js';
import { makeTeslaWorld, runTeslaSession, TESLA_VARIANTS, type TeslaSessionResult, type TeslaVariant } from './tesla-model.js';
import { NO_ACKS, OURS_TRANSPORT, TESLA_TRANSPORT, type Transport } from './transports.js';
import { makeBenchWorld, newProvider, type BenchWorld, type ProviderName } from './world.js';
import type { MockLinkOptions, MockStatsSnapshot, MockTraceEvent } from '../../src/transport/mock/index.js';

/** ATT MTUs of the link figures. */
export const MTUS: readonly number[] = [23, 185, 247];
/** Connection intervals of the latency figures, ms. */
export const INTERVALS_MS: readonly number[] = [7.5, 15, 30];
/** MTU of the headline latency figures. */
export const LATENCY_MTU = 185;
/** Rounds the kept iterations are cut into for the paired ratios. */
export const ROUNDS = 5;

/** One latency figure: connection events from subscription to the answer's arrival, and ms to the result in the app. */
export interface LatencyCell {
  events: number;
  ms: number;
}

/** Latency by MTU, then by connection interval (string keys: "185", "15"). */
export type LatencyGrid = Record<string, Record<string, LatencyCell>>;

/** A paired ratio: min / median / max over the rounds' median ratios, and each round's. */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
  rounds: number[];
}

/** What both kinds of row share: link figures and CPU per side. */
export interface LinkFigures {
  provider: ProviderName;
  messages: number;
  bytesOnAir: number;
  /** Size of each application message in order, before framing, bytes. */
  messageBytes: number[];
  /** GATT writes + notifications/indications per MTU. */
  gattOps: Record<string, number>;
  /** ATT acknowledgements (Write Responses + Confirmations) per MTU. */
  acks: Record<string, number>;
  /** Median CPU per session on the critical path, µs, and its spread. */
  vehicleCpuUs: number;
  phoneCpuUs: number;
  vehicleCpu: Summary;
  phoneCpu: Summary;
  vehicleWindowsUs: number[];
  phoneWindowsUs: number[];
  /** Over the row's own transport. */
  latency: LatencyGrid;
  /** The same at 15 ms with no ATT acknowledgements at all (the earlier model), by MTU. */
  noAcks: Record<string, LatencyCell>;
  /** Subscription to the vehicle finishing the command's work (the car has acted), at MTU 185, by interval, ms. */
  actuatedMs: Record<string, number>;
}

/** One of our flows. */
export interface FlowRow extends LinkFigures {
  name: FlowName;
  path: 'full' | 'fast' | 'resume';
  vehicleFloor: FloorName;
  phoneFloor: FloorName;
  /** Median of the floors measured alongside, µs. */
  vehicleFloorUs: number;
  phoneFloorUs: number;
  /** CPU ÷ floor, paired per iteration. */
  vehicleRatio: PairedRatio;
  phoneRatio: PairedRatio;
}

/** One Tesla session. */
export interface TeslaRow extends LinkFigures {
  name: `tesla-${TeslaVariant}`;
  variant: TeslaVariant;
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
  /** The vehicle floor of this path measured in the same iterations, µs. */
  floorUs: number;
  /** Crypto calls per session on each side (the vehicle's generateKeyPair is the idle pool refill, outside the windows). */
  vehicleCallsPerSession: Record<string, number>;
  phoneCallsPerSession: Record<string, number>;
}

/** Everything measured for one provider. */
export interface ProviderReport {
  flows: FlowRow[];
  tesla: TeslaRow[];
  validation: ValidationRow[];
  /** Largest virtual time seen inside any CPU window (must be 0). */
  maxVirtualMsInWindows: number;
  /** Floor medians, µs. */
  floorsUs: Record<FloorName, number>;
}

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
function both(stats: MockStatsSnapshot, key: 'messages' | 'airBytes' | 'gattOps' | 'acks'): number {
  return stats.toVehicle[key] + stats.toPhone[key];
}

/** Everything the interleaved iterations collect for one provider; arrays are indexed by kept iteration. */
interface Samples {
  world: BenchWorld;
  sessions: Partial<Record<FlowName, SessionResult[]>>;
  checks: Partial<Record<FlowName, SessionResult[]>>;
  calls: Partial<Record<FlowName, { vehicle: Record<string, number>; phone: Record<string, number> }>>;
  tesla: Record<TeslaVariant, TeslaSessionResult[]>;
  floors: Record<FloorName, number[]>;
  cores: Record<'full' | 'fast', number[]>;
  maxVirtualMs: number;
}

/** One measurement of an iteration: runs, and files its figure when `keep`. */
type Task = (keep: boolean) => Promise<void> | void;

/** The tasks of one iteration, in their base order. */
async function makeTasks(provider: ProviderName, s: Samples): Promise<Task[]> {
  const timed = await makeBenchWorld(provider, { timed: true });
  const teslas = Object.fromEntries(TESLA_VARIANTS.map((v) => [v, makeTeslaWorld(provider, v)])) as Record<TeslaVariant, ReturnType<typeof makeTeslaWorld>>;
  const floor = prepareFloor(newProvider(provider));
  const core = prepareCore(newProvider(provider));
  // The fast path needs a ticket: one full session first.
  await runSession(s.world, 'unlock-full');
  await runSession(timed, 'unlock-full');
  const seen = (r: { virtualMsInWindows: number }) => (s.maxVirtualMs = Math.max(s.maxVirtualMs, r.virtualMsInWindows));
  const tasks: Task[] = [];
  for (const { name } of FLOW_SPECS) {
    s.sessions[name] = [];
    tasks.push(async (keep) => {
      const r = await runSession(s.world, name);
      seen(r);
      if (keep) s.sessions[name]!.push(r);
    });
  }
  for (const flow of VALIDATED) {
    s.checks[flow] = [];
    const calls = (s.calls[flow] = { vehicle: {}, phone: {} });
    tasks.push(async (keep) => {
      const vehicleBefore = snapshotCalls(timed.vehicleCrypto!.perMethod);
      const phoneBefore = snapshotCalls(timed.phoneCrypto!.perMethod);
      const r = await runSession(timed, flow);
      seen(r);
      if (!keep) return;
      s.checks[flow]!.push(r);
      addDelta(calls.vehicle, snapshotCalls(timed.vehicleCrypto!.perMethod), vehicleBefore);
      addDelta(calls.phone, snapshotCalls(timed.phoneCrypto!.perMethod), phoneBefore);
    });
  }
  for (const variant of TESLA_VARIANTS) {
    tasks.push(async (keep) => {
      const r = await runTeslaSession(teslas[variant]);
      seen(r);
      if (keep) s.tesla[variant].push(r);
    });
  }
  for (const name of FLOORS) {
    tasks.push((keep) => {
      const ms = runFloor(floor, name);
      if (keep) s.floors[name].push(ms);
    });
  }
  for (const path of ['full', 'fast'] as const) {
    tasks.push((keep) => {
      const ms = runCore(core, path);
      if (keep) s.cores[path].push(ms);
    });
  }
  return tasks;
}

/** Runs `warmup` discarded then `runs` kept iterations of every task, in rotating order. */
async function collect(provider: ProviderName, runs: number, warmup: number, log: (s: string) => void): Promise<Samples> {
  const s: Samples = {
    world: await makeBenchWorld(provider),
    sessions: {},
    checks: {},
    calls: {},
    tesla: { uncached: [], cached: [] },
    floors: Object.fromEntries(FLOORS.map((f) => [f, []])) as unknown as Record<FloorName, number[]>,
    cores: { full: [], fast: [] },
    maxVirtualMs: 0,
  };
  const tasks = await makeTasks(provider, s);
  const t0 = performance.now();
  for (let i = -warmup; i < runs; i++) {
    const offset = ((i % tasks.length) + tasks.length) % tasks.length;
    for (let j = 0; j < tasks.length; j++) await tasks[(offset + j) % tasks.length]!(i >= 0);
    if (i >= 0 && (i + 1) % Math.max(1, Math.floor(runs / 4)) === 0) log(`${provider}: ${i + 1}/${runs} iterations (${Math.round(performance.now() - t0)} ms)`);
  }
  return s;
}

/** CPU ÷ floor per iteration, then min / median / max over the rounds' medians. */
export function pairedRatio(cpuMs: readonly number[], floorMs: readonly number[], rounds = ROUNDS): PairedRatio {
  const ratios = cpuMs.map((c, i) => c / floorMs[i]!);
  const size = Math.max(1, Math.floor(ratios.length / rounds));
  const medians: number[] = [];
  for (let r = 0; r * size < ratios.length && r < rounds; r++) {
    const end = r === rounds - 1 ? ratios.length : (r + 1) * size;
    medians.push(median(ratios.slice(r * size, end)));
  }
  const sum = summarize(medians);
  return { median: round(sum.median, 3), min: round(sum.min, 3), max: round(sum.max, 3), rounds: medians.map((m) => round(m, 3)) };
}

/** Measures every flow, the floors, the Tesla sessions and the validation for one provider. */
export async function measureProvider(provider: ProviderName, runs: number, warmup: number, log: (s: string) => void): Promise<ProviderReport> {
  const s = await collect(provider, runs, warmup, log);
  const floorsUs = Object.fromEntries(FLOORS.map((f) => [f, us(median(s.floors[f]))])) as Record<FloorName, number>;
  const flows: FlowRow[] = [];
  for (const { name } of FLOW_SPECS) flows.push(await flowRow(s.world, name, s.sessions[name]!, s.floors, floorsUs));
  const tesla: TeslaRow[] = [];
  for (const variant of TESLA_VARIANTS) tesla.push(await teslaRow(provider, variant, s.tesla[variant]));
  const validation = VALIDATED.map((flow) => {
    const coreUs = us(median(s.cores[flow === 'unlock-fast' ? 'fast' : 'full']));
    return validationRow(provider, flow, s.checks[flow]!, floorsUs[flowSpec(flow).vehicleFloor], coreUs, s.calls[flow]!);
  });
  return { flows, tesla, validation, maxVirtualMsInWindows: s.maxVirtualMs, floorsUs };
}

/** What the link figures need from one session. */
interface LinkRun {
  stats: MockStatsSnapshot;
  arrivedMs: number;
  latencyMs: number;
  actuatedMs: number;
}

/** Link figures of a flow: sizes, GATT operations and acknowledgements per MTU, latency grid, CPU. */
async function linkFigures(
  provider: ProviderName,
  transport: Transport,
  runs: ReadonlyArray<{ vehicleWindowsMs: number[]; phoneWindowsMs: number[] }>,
  once: (link: Partial<Omit<MockLinkOptions, 'clock'>>, model?: CpuModel) => Promise<LinkRun>,
): Promise<LinkFigures> {
  const model = modelOf(runs);
  const messageBytes: number[] = [];
  const first = await once({ ...transport, trace: sendSizes(messageBytes) });
  const gattOps: Record<string, number> = {};
  const acks: Record<string, number> = {};
  const latency: LatencyGrid = {};
  const noAcks: Record<string, LatencyCell> = {};
  const actuatedMs: Record<string, number> = {};
  const cell = (r: LinkRun, interval: number): LatencyCell => ({ events: round(r.arrivedMs / interval, 2), ms: round(r.latencyMs, 2) });
  for (const mtu of MTUS) {
    latency[String(mtu)] = {};
    for (const interval of INTERVALS_MS) {
      const r = await once({ ...transport, mtu, connectionIntervalMs: interval }, model);
      latency[String(mtu)]![String(interval)] = cell(r, interval);
      if (interval === 15) {
        gattOps[String(mtu)] = both(r.stats, 'gattOps');
        acks[String(mtu)] = both(r.stats, 'acks');
      }
      if (mtu === LATENCY_MTU) actuatedMs[String(interval)] = round(r.actuatedMs, 2);
    }
    noAcks[String(mtu)] = cell(await once({ ...NO_ACKS, mtu, connectionIntervalMs: 15 }, model), 15);
  }
  const vehicleCpu = summarize(runs.map((r) => sum(r.vehicleWindowsMs) * 1000));
  const phoneCpu = summarize(runs.map((r) => sum(r.phoneWindowsMs) * 1000));
  return {
    provider,
    messages: both(first.stats, 'messages'),
    bytesOnAir: both(first.stats, 'airBytes'),
    messageBytes,
    gattOps,
    acks,
    vehicleCpuUs: Math.round(vehicleCpu.median),
    phoneCpuUs: Math.round(phoneCpu.median),
    vehicleCpu: roundSummary(vehicleCpu),
    phoneCpu: roundSummary(phoneCpu),
    vehicleWindowsUs: model.vehicleMs.map(us),
    phoneWindowsUs: model.phoneMs.map(us),
    latency,
    noAcks,
    actuatedMs,
  };
}

/** One flow row: link figures over our transport and the CPU ratios paired with the floors. */
async function flowRow(world: BenchWorld, flow: FlowName, runs: SessionResult[], floors: Record<FloorName, number[]>, floorsUs: Record<FloorName, number>): Promise<FlowRow> {
  const spec = flowSpec(flow);
  const figures = await linkFigures(world.provider, OURS_TRANSPORT, runs, (link, model) => runSession(world, flow, link, model));
  return {
    name: flow,
    path: spec.path,
    ...figures,
    vehicleFloor: spec.vehicleFloor,
    phoneFloor: spec.phoneFloor,
    vehicleFloorUs: floorsUs[spec.vehicleFloor],
    phoneFloorUs: floorsUs[spec.phoneFloor],
    vehicleRatio: pairedRatio(runs.map((r) => sum(r.vehicleWindowsMs)), floors[spec.vehicleFloor]),
    phoneRatio: pairedRatio(runs.map((r) => sum(r.phoneWindowsMs)), floors[spec.phoneFloor]),
  };
}

/**
 * A Tesla row: CPU from the measured runs; link figures from a fresh world whose anti-replay
 * counter starts at protocol.md's example value (6), so every size is reproducible (a counter of
 * 128 or more adds one varint byte to each message after the first).
 */
async function teslaRow(provider: ProviderName, variant: TeslaVariant, runs: TeslaSessionResult[]): Promise<TeslaRow> {
  const fresh = () => makeTeslaWorld(provider, variant);
  const figures = await linkFigures(provider, TESLA_TRANSPORT, runs, (link, model) => runTeslaSession(fresh(), link, model));
  return { name: `tesla-${variant}`, variant, ...figures };
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
