/**
 * The benchmark result: its JSON shape and the readable table `npm run bench` prints
 * (docs/BENCHMARKS.md). The verdicts are in targets.ts.
 */
import type { FlowRow, LinkFigures, TeslaRow, ValidationRow } from './flows.js';
import type { FloorName } from './floor.js';
import type { ScaleRow } from './scale.js';
import type { StoreReport } from './sqlite-store.js';
import { round } from './stats.js';
import type { Target } from './targets.js';
import type { Transport } from './transports.js';
import type { ProviderName } from './world.js';

export type { Target } from './targets.js';
export { judgeTargets } from './targets.js';

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
    /** Rounds the kept iterations are cut into for the paired ratios. */
    rounds: number;
    latencyMtu: number;
    packetsPerEvent: number;
    intervalsMs: readonly number[];
    mtus: readonly number[];
    /** ATT operations each side's flows use (transports.ts). */
    transports: { ours: Transport; tesla: Transport };
  };
  flows: FlowRow[];
  /** Tesla's uncached and cached sessions, per provider. */
  tesla: TeslaRow[];
  scale: ScaleRow[];
  /** Durable-store rows: SQLite against the memory vault (issue 10). */
  stores?: StoreReport;
  /** Floor medians per provider, µs. */
  floors: Record<ProviderName, Record<FloorName, number>>;
  validation: ValidationRow[];
  targets: Target[];
  durationMs: number;
}

/** Left-pads or right-pads cells into aligned columns. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const range = (s: { median: number; min: number; max: number }) => `${s.median} [${s.min}–${s.max}]`;
const ratio = (q: { median: number; min: number; max: number }) => `${q.median.toFixed(2)} [${q.min.toFixed(2)}–${q.max.toFixed(2)}]`;
const cell = (c: { events: number; ms: number } | undefined) => (c ? `${c.events}ev ${c.ms.toFixed(1)}` : '—');
const byMtu = (m: Record<string, number>, mtus: readonly number[]) => mtus.map((k) => m[String(k)]).join('/');
const transportText = (t: Transport) => `${t.writeWithResponse ? 'writes with response' : 'writes without response'}, ${t.indicate ? 'indications' : 'notifications'}`;

/** Name of a link row: our flow or a Tesla session. */
const linkName = (x: FlowRow | TeslaRow) => x.name;

/** The readable report. */
export function formatReport(r: BenchResult): string {
  const m = r.machine;
  const s = r.settings;
  const out: string[] = [];
  out.push(`ble-digital-key benchmarks — node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform}, nice ${m.priority}, load ${m.loadAvgStart.toFixed(1)} → ${m.loadAvgEnd.toFixed(1)}, ${m.date}`);
  out.push(
    `runs: noble ${s.runs.noble}, native ${s.runs.native} (after ${s.warmup.noble}/${s.warmup.native} warm-up, rotating order, ratios paired per iteration, ${s.rounds} rounds), scale ${s.scaleRuns}; ` +
      `${s.packetsPerEvent} packets/event; total ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  out.push(`transports: ours ${transportText(s.transports.ours)}; Tesla ${transportText(s.transports.tesla)}`);
  out.push('');
  out.push('CPU — µs per session on the critical path, median [min–max]; ×floor = CPU ÷ the protocol-minimal floor of the same iteration, median [min–max] over rounds');
  out.push(
    table(
      ['flow', 'provider', 'vehicle CPU', 'floor', '×floor', 'phone CPU', 'floor', '×floor'],
      r.flows.map((f) => [f.name, f.provider, range(f.vehicleCpu), String(f.vehicleFloorUs), ratio(f.vehicleRatio), range(f.phoneCpu), String(f.phoneFloorUs), ratio(f.phoneRatio)]),
    ),
  );
  out.push(
    table(
      ['Tesla', 'provider', 'vehicle CPU', 'phone CPU'],
      r.tesla.map((t) => [t.name, t.provider, range(t.vehicleCpu), range(t.phoneCpu)]),
    ),
  );
  out.push('');
  out.push(...linkSection(r));
  out.push('');
  out.push('Scale — native, memory vault, 1,000 revoked grants, phones in turn; vehicle µs per unlock (median); ×first = paired with the first row, median [min–max] over rounds');
  out.push(
    table(
      ['keys', 'phones', 'state bytes', 'full', '×first', 'in vault', 'fast', '×first', 'in vault', 'file vault ms/commit'],
      r.scale.map((x) => [
        String(x.keys),
        String(x.phones),
        String(x.stateBytes),
        String(x.fullUs),
        ratio(x.fullRatio),
        String(x.storeFullUs),
        String(x.fastUs),
        ratio(x.fastRatio),
        String(x.storeFastUs),
        x.fileVaultCommitMs.toFixed(2),
      ]),
    ),
  );
  out.push('');
  if (r.stores) out.push(...storeSection(r.stores), '');
  out.push(...validationSection(r));
  out.push('');
  out.push('Targets');
  for (const t of r.targets) out.push(`  [${t.verdict}] (issue ${t.issue}) ${t.target}\n      ${t.detail}`);
  return out.join('\n');
}

/** Link figures of every row: sizes, GATT operations and acknowledgements, events and latency. */
function linkSection(r: BenchResult): string[] {
  const mtus = r.settings.mtus;
  const rows: Array<FlowRow | TeslaRow> = [...r.flows, ...r.tesla];
  const head = `${mtus.join('/')}`;
  return [
    `Link — per MTU ${head}: GATT operations, ATT acknowledgements, and at 15 ms: connection events to the answer, ms to the result in the app (own transport; "no acks" = the earlier model)`,
    table(
      ['row', 'provider', 'msgs', 'bytes', `GATT ${head}`, `acks ${head}`, ...mtus.map((k) => `@${k}`), '@185 7.5 ms', '@185 30 ms', ...mtus.map((k) => `no acks @${k}`), 'car acts @15'],
      rows.map((x: LinkFigures & { name: string }) => [
        linkName(x as FlowRow | TeslaRow),
        x.provider,
        String(x.messages),
        String(x.bytesOnAir),
        byMtu(x.gattOps, mtus),
        byMtu(x.acks, mtus),
        ...mtus.map((k) => cell(x.latency[String(k)]?.['15'])),
        cell(x.latency['185']?.['7.5']),
        cell(x.latency['185']?.['30']),
        ...mtus.map((k) => cell(x.noAcks[String(k)])),
        (x.actuatedMs['15'] ?? Number.NaN).toFixed(1),
      ]),
    ),
    `  message sizes: ${rows.filter((x) => x.provider === 'native').map((x) => `${linkName(x)} ${x.messageBytes.join(' + ')} B`).join('; ')}`,
  ];
}

/** The durable-store rows of issue 10. */
function storeSection(st: StoreReport): string[] {
  return [
    `Durable store — SQLite (${st.driver}) vs memory vault, ${st.rows[0]?.revokedGrants ?? 0} revoked grants; raw fdatasync ${st.fdatasyncMs} ms; vehicle µs per unlock (median)`,
    table(
      ['keys', 'db bytes', 'open ms', 'commit ms', 'commit CPU ms', 'full SQLite', 'full memory', 'fast SQLite', 'fast memory'],
      st.rows.map((x) => [String(x.keys), String(x.dbBytes), x.openMs.toFixed(2), x.commitMs.toFixed(3), x.commitCpuMs.toFixed(3), String(x.fullUs.sqlite), String(x.fullUs.memory), String(x.fastUs.sqlite), String(x.fastUs.memory)]),
    ),
    `  ${st.throughput.phones} phones at once (phones in another process): SQLite ${st.throughput.sqlitePerSecond} fast unlocks/s, memory vault ${st.throughput.memoryPerSecond}/s; all on one thread: ${st.throughput.sameThread.sqlitePerSecond} vs ${st.throughput.sameThread.memoryPerSecond}/s`,
  ];
}

/** Link windows against the crypto inside them, the core and the floor. */
function validationSection(r: BenchResult): string[] {
  const out = [
    'Validation — Link windows vs crypto inside them (timed provider), µs medians; floor ≤ core ≤ window',
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
  ];
  for (const v of r.validation) {
    out.push(`  ${v.provider} ${v.flow} vehicle calls/session: ${Object.entries(v.vehicleCallsPerSession).map(([k, n]) => `${k} ${round(n, 2)}`).join(', ')}`);
  }
  return out;
}
