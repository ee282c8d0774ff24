/**
 * The benchmark result: its JSON shape, the targets of issue 6 judged against it, and the
 * readable table `npm run bench` prints (docs/BENCHMARKS.md §Targets).
 */
import type { BaselineRow, FlowRow, ValidationRow } from './flows.js';
import type { FloorName } from './floor.js';
import type { ScaleRow } from './scale.js';
import type { StoreReport } from './sqlite-store.js';
import { round } from './stats.js';
import type { ProviderName } from './world.js';

/** Everything one run measured. */
export interface BenchResult {
  machine: {
    node: string;
    cpus: number;
    cpuModel: string;
    platform: string;
    /** 1-minute load average when the run started and ended (other processes compete for the CPUs). */
    loadAvgStart: number;
    loadAvgEnd: number;
    /** Scheduling priority of the bench process (nice value; −20 when it could be raised). */
    priority: number;
    date: string;
  };
  settings: {
    runs: Record<ProviderName, number>;
    warmup: Record<ProviderName, number>;
    scaleRuns: number;
    latencyMtu: number;
    packetsPerEvent: number;
    intervalsMs: readonly number[];
    mtus: readonly number[];
  };
  flows: FlowRow[];
  /** The Tesla model; top-level figures are on the native provider, `providers` has both. */
  baseline: {
    name: 'tesla-model';
    messages: number;
    bytesOnAir: number;
    messageBytes: number[];
    latencyMs: Record<string, number>;
    providers: BaselineRow[];
  };
  scale: ScaleRow[];
  /** Durable-store rows: SQLite against the memory vault (issue 10). */
  stores?: StoreReport;
  floors: Record<ProviderName, Record<FloorName, number>>;
  validation: ValidationRow[];
  targets: Target[];
  durationMs: number;
}

/** One target of issue 6 and whether this run meets it. */
export interface Target {
  id: string;
  target: string;
  holds: boolean;
  detail: string;
}

const row = (r: BenchResult, name: string, provider: ProviderName): FlowRow => {
  const found = r.flows.find((f) => f.name === name && f.provider === provider);
  if (!found) throw new Error(`no row ${name}/${provider}`);
  return found;
};
const base = (r: BenchResult, provider: ProviderName): BaselineRow => r.baseline.providers.find((b) => b.provider === provider)!;
const providersOf = (r: BenchResult): ProviderName[] => [...new Set(r.flows.map((f) => f.provider))];

/** Judges every target against a result. */
export function judgeTargets(r: BenchResult): Target[] {
  const ps = providersOf(r);
  const full = ps.map((p) => row(r, 'unlock-full', p));
  const fast = ps.map((p) => row(r, 'unlock-fast', p));
  const latency = ps.flatMap((p) =>
    (['unlock-full', 'unlock-fast'] as const).map((f) => ({ p, f, ratio: row(r, f, p).latencyMs['15']! / base(r, p).latencyMs['15']! })),
  );
  const s10 = r.scale.find((s) => s.keys === 10)!;
  const s10k = r.scale.find((s) => s.keys === 10_000)!;
  const scaleRatio = s10k.vehicleCpuUs / s10.vehicleCpuUs;
  const scaleMapRatio = s10k.vehicleCpuUsMapVault / s10.vehicleCpuUsMapVault;
  const ratioText = (f: FlowRow) => `${f.provider} ${f.name} ${f.vehicleCpuUs}/${f.floorUs} µs = ${f.floorRatio.toFixed(2)}×`;
  return [
    {
      id: 'first-unlock-size',
      target: 'first unlock in 3 messages and ≤ 300 bytes on the air',
      holds: full.every((f) => f.messages === 3 && f.bytesOnAir <= 300),
      detail: `${full[0]!.messages} messages, ${full[0]!.bytesOnAir} bytes`,
    },
    {
      id: 'fast-unlock-size',
      target: 'fast-path unlock ≤ 200 bytes on the air',
      holds: fast.every((f) => f.bytesOnAir <= 200),
      detail: `${fast[0]!.messages} messages, ${fast[0]!.bytesOnAir} bytes`,
    },
    {
      id: 'vehicle-cpu-floor',
      target: 'vehicle CPU per unlock ≤ 1.3× the raw crypto floor (same run; full: ECDH ×2 + verify + KDF + AEAD)',
      holds: [...full, ...fast].every((f) => f.floorRatio <= 1.3),
      detail: [...full, ...fast].map(ratioText).join('; '),
    },
    {
      id: 'vehicle-cpu-floor-one-ecdh',
      target: 'same, against the issue\'s one-ECDH floor (ECDH + verify + KDF + AEAD), full path',
      holds: full.every((f) => (f.floorOneEcdhRatio ?? Infinity) <= 1.3),
      detail: full.map((f) => `${f.provider} ${f.vehicleCpuUs}/${f.floorOneEcdhUs} µs = ${f.floorOneEcdhRatio!.toFixed(2)}×`).join('; '),
    },
    {
      id: 'latency-15ms',
      target: 'simulated unlock latency at 15 ms ≤ 0.75× the modelled Tesla flow (same provider)',
      holds: latency.every((l) => l.ratio <= 0.75),
      detail: latency.map((l) => `${l.p} ${l.f} ${row(r, l.f, l.p).latencyMs['15']}/${base(r, l.p).latencyMs['15']} ms = ${l.ratio.toFixed(3)}×`).join('; '),
    },
    {
      id: 'latency-15ms-actuation',
      target: 'same, timed to the car acting (vehicle done with Auth → Result) instead of the result reaching the app',
      holds: latency.every((l) => row(r, l.f, l.p).actuatedMs['15']! / base(r, l.p).actuatedMs['15']! <= 0.75),
      detail: latency
        .map((l) => `${l.p} ${l.f} ${row(r, l.f, l.p).actuatedMs['15']}/${base(r, l.p).actuatedMs['15']} ms = ${(row(r, l.f, l.p).actuatedMs['15']! / base(r, l.p).actuatedMs['15']!).toFixed(3)}×`)
        .join('; '),
    },
    {
      id: 'scale-10k',
      target: 'vehicle auth CPU with 10,000 keys ≤ 1.1× with 10 keys (native, 1,000 revoked grants)',
      holds: scaleRatio <= 1.1,
      detail: `memory vault ${s10k.vehicleCpuUs}/${s10.vehicleCpuUs} µs = ${scaleRatio.toFixed(2)}×; O(1) Map vault ${s10k.vehicleCpuUsMapVault}/${s10.vehicleCpuUsMapVault} µs = ${scaleMapRatio.toFixed(2)}×`,
    },
    ...storeTargets(r.stores),
  ];
}

/** The durable-store targets of issue 10, judged at 10,000 keys + 100,000 revoked grants. */
function storeTargets(st: StoreReport | undefined): Target[] {
  const big = st?.rows.find((x) => x.keys === 10_000);
  if (!st || !big) return [];
  const disk = `raw fdatasync on this disk ${st.fdatasyncMs} ms`;
  return [
    { id: 'store-open', target: 'SQLite store open ≤ 50 ms at 10,000 keys + 100,000 revocations', holds: big.openMs <= 50, detail: `${big.openMs} ms (${big.dbBytes} B database, quick_check included)` },
    { id: 'store-commit', target: 'one durable commit ≤ 1 ms at that scale', holds: big.commitMs <= 1, detail: `${big.commitMs} ms wall, ${big.commitCpuMs} ms CPU; ${disk}` },
    {
      id: 'store-fast-unlock',
      target: 'fast-path unlock on the durable store within 1 ms of the memory vault',
      holds: big.fastUs.sqlite - big.fastUs.memory <= 1000,
      detail: `vehicle ${big.fastUs.sqlite} µs vs ${big.fastUs.memory} µs (full path ${big.fullUs.sqlite} vs ${big.fullUs.memory} µs); ${disk}`,
    },
    {
      id: 'store-throughput',
      target: `≥ 500 fast-path unlocks/s on one core with ${st.throughput.phones} phones at once (durable store)`,
      holds: st.throughput.sqlitePerSecond >= 500,
      detail: `SQLite ${st.throughput.sqlitePerSecond}/s (vehicle loop ${Math.round(st.throughput.vehicleLoopBusy.sqlite * 100)}% busy), memory vault ${st.throughput.memoryPerSecond}/s; vehicle alone on one event loop, phones in another process over the socket link (all on one thread: ${st.throughput.sameThread.sqlitePerSecond}/s vs ${st.throughput.sameThread.memoryPerSecond}/s)`,
    },
  ];
}

/** Left-pads or right-pads cells into aligned columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const range = (s: { median: number; min: number; max: number }) => `${s.median} [${s.min}–${s.max}]`;
const byInterval = (m: Record<string, number>) => ['7.5', '15', '30'].map((k) => m[k]!.toFixed(1)).join(' / ');

/** The readable report. */
export function formatReport(r: BenchResult): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`ble-digital-key benchmarks — node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform}, nice ${m.priority}, load ${m.loadAvgStart.toFixed(1)} → ${m.loadAvgEnd.toFixed(1)}, ${m.date}`);
  out.push(
    `runs: noble ${r.settings.runs.noble}, native ${r.settings.runs.native} (after ${r.settings.warmup.noble}/${r.settings.warmup.native} warm-up), scale ${r.settings.scaleRuns}; ` +
      `latency at MTU ${r.settings.latencyMtu}, ${r.settings.packetsPerEvent} packets/event; total ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  out.push('');
  out.push('Flows — CPU in µs per session on the critical path: median [min–max]; latency in ms of virtual time, subscription → result in the app');
  out.push(
    table(
      ['flow', 'provider', 'msgs', 'bytes', 'GATT 23/185/247', 'vehicle CPU', 'phone CPU', 'floor', '×floor', '×1-ECDH', 'latency 7.5/15/30', 'car acts @15'],
      r.flows.map((f) => [
        f.name,
        f.provider,
        String(f.messages),
        String(f.bytesOnAir),
        ['23', '185', '247'].map((k) => f.gattOps[k]).join('/'),
        range(f.vehicleCpu),
        range(f.phoneCpu),
        String(f.floorUs),
        f.floorRatio.toFixed(2),
        f.floorOneEcdhRatio === undefined ? '—' : f.floorOneEcdhRatio.toFixed(2),
        byInterval(f.latencyMs),
        f.actuatedMs['15']!.toFixed(1),
      ]),
    ),
  );
  out.push('');
  out.push(`Baseline — Tesla vehicle-command BLE unlock, modelled: ${r.baseline.messages} messages (${r.baseline.messageBytes.join(' + ')} B), ${r.baseline.bytesOnAir} B on the air`);
  out.push(
    table(
      ['model', 'provider', 'GATT 23/185/247', 'vehicle CPU', 'phone CPU', 'latency 7.5/15/30', 'car acts @15', 'cached-K latency'],
      r.baseline.providers.map((b) => [
        b.name,
        b.provider,
        ['23', '185', '247'].map((k) => b.gattOps[k]).join('/'),
        String(b.vehicleCpuUs),
        String(b.phoneCpuUs),
        byInterval(b.latencyMs),
        b.actuatedMs['15']!.toFixed(1),
        byInterval(b.cachedEcdh.latencyMs),
      ]),
    ),
  );
  out.push('');
  out.push('Scale — native, full-path unlock, 1,000 revoked grants; vehicle CPU in µs (median); file vault commit in ms of wall time (CPU + disk)');
  out.push(
    table(
      ['keys', 'state bytes', 'memory vault: vehicle CPU', 'of which in vault', 'Map vault: vehicle CPU', 'file vault: ms per commit'],
      r.scale.map((s) => [String(s.keys), String(s.stateBytes), String(s.vehicleCpuUs), String(s.storeCpuUs), String(s.vehicleCpuUsMapVault), s.fileVaultCommitMs.toFixed(2)]),
    ),
  );
  out.push('');
  if (r.stores) {
    const st = r.stores;
    out.push(`Durable store — SQLite (${st.driver}) vs memory vault, ${st.rows[0]?.revokedGrants ?? 0} revoked grants; raw fdatasync ${st.fdatasyncMs} ms; vehicle µs per unlock (median)`);
    out.push(
      table(
        ['keys', 'db bytes', 'open ms', 'commit ms', 'commit CPU ms', 'full SQLite', 'full memory', 'fast SQLite', 'fast memory'],
        st.rows.map((x) => [String(x.keys), String(x.dbBytes), x.openMs.toFixed(2), x.commitMs.toFixed(3), x.commitCpuMs.toFixed(3), String(x.fullUs.sqlite), String(x.fullUs.memory), String(x.fastUs.sqlite), String(x.fastUs.memory)]),
      ),
    );
    out.push(`  ${st.throughput.phones} phones at once (phones in another process): SQLite ${st.throughput.sqlitePerSecond} fast unlocks/s, memory vault ${st.throughput.memoryPerSecond}/s; all on one thread: ${st.throughput.sameThread.sqlitePerSecond} vs ${st.throughput.sameThread.memoryPerSecond}/s`);
    out.push('');
  }
  out.push('Validation — Link windows vs crypto inside them (timed provider), µs medians');
  out.push(
    table(
      ['flow', 'provider', 'vehicle window', 'crypto in it', 'rest', 'in vault', 'process CPU', 'floor', 'core', 'phone window', 'crypto in it', 'rest'],
      r.validation.map((v) => [
        v.flow,
        v.provider,
        String(v.vehicleWindowUs),
        String(v.vehicleCryptoUs),
        String(v.vehicleOverheadUs),
        String(v.vehicleVaultUs),
        String(v.vehicleProcessCpuUs),
        String(v.floorUs),
        String(v.coreUs),
        String(v.phoneWindowUs),
        String(v.phoneCryptoUs),
        String(v.phoneOverheadUs),
      ]),
    ),
  );
  for (const v of r.validation) {
    out.push(`  ${v.provider} ${v.flow} vehicle calls/session: ${Object.entries(v.vehicleCallsPerSession).map(([k, n]) => `${k} ${round(n, 2)}`).join(', ')}`);
  }
  out.push('');
  out.push('Targets');
  for (const t of r.targets) out.push(`  [${t.holds ? 'MET' : 'MISSED'}] ${t.target}\n      ${t.detail}`);
  return out.join('\n');
}
