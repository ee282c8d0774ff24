/**
 * Runs one session of a flow on a fresh mock link and reports what a benchmark needs: each
 * side's busy windows, the link counters and the virtual time from subscription to result.
 *
 * "Subscription" is the creation of the mock link pair: the MTU is negotiated and the vehicle
 * may notify at once, so it starts building its challenge at that instant (its window 0). The
 * result is in the app's hands when `Phone.connect` resolves, plus — in model mode — the phone's
 * processing of msg 3, which no send ends and so no delay models.
 */
import { COMMAND } from '../../src/protocol/constants.js';
import { createMockLinkPair, type MockLinkOptions, type MockStatsSnapshot } from '../../src/transport/mock/index.js';
import type { CommandRequest, ConnectOptions } from '../../src/phone/phone.js';
import { SideTimer, TimingLink } from './timing-link.js';
import type { BenchWorld } from './world.js';

/** The flows the suite measures. */
export type FlowName = 'unlock-full' | 'unlock-fast' | 'start';

/** Every flow, in report order. */
export const FLOWS: readonly FlowName[] = ['unlock-full', 'unlock-fast', 'start'];

/** Per-window CPU to replay in virtual time (model mode), ms. */
export interface CpuModel {
  /** Vehicle windows: [build challenge, Auth → Result]. */
  vehicleMs: readonly number[];
  /** Phone windows: [Challenge → Auth, Result → app]. */
  phoneMs: readonly number[];
}

/** What one session measured. Window arrays follow {@link CpuModel}'s order. */
export interface SessionResult {
  vehicleWindowsMs: number[];
  phoneWindowsMs: number[];
  /** Crypto ms inside each window (timed worlds only, else zeros). */
  vehicleCryptoMs: number[];
  phoneCryptoMs: number[];
  /** Vault ms inside each vehicle window. */
  vehicleVaultMs: number[];
  /** Process CPU ms (user + system, all threads) inside each vehicle window: a cross-check. */
  vehicleProcessCpuMs: number[];
  /** Virtual time that passed inside any window: must be 0 (no timer is awaited while busy). */
  virtualMsInWindows: number;
  /** Link counters when the result reached the app (both directions). */
  stats: MockStatsSnapshot;
  /** Virtual ms from subscription to the result in the app. */
  latencyMs: number;
  /** Virtual ms from subscription to the vehicle finishing Auth → Result (the car has acted). */
  actuatedMs: number;
  path: 'full' | 'fast' | 'resume';
}

/** CPU time of this process so far (user + system), ms. */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The first command and connect options of a flow. */
function flowRequest(flow: FlowName): { request: CommandRequest; options: ConnectOptions } {
  if (flow === 'start') return { request: { id: COMMAND.start, userPresent: true }, options: {} };
  return { request: { id: COMMAND.unlock }, options: flow === 'unlock-full' ? { forceFull: true } : { resume: 'off' } };
}

/**
 * One session of `flow` on a new link with `link` options. With `model`, each send is delayed by
 * its window's modelled CPU in virtual time, and the last phone window is added to the latency.
 */
export async function runSession(
  world: BenchWorld,
  flow: FlowName,
  link: Partial<Omit<MockLinkOptions, 'clock'>> = {},
  model?: CpuModel,
): Promise<SessionResult> {
  const { clock, vehicle, phone, vehicleId } = world;
  const vehicleTimer = new SideTimer(clock, {
    crypto: () => world.vehicleCrypto?.totalMs() ?? 0,
    vault: () => world.vehicleVault.totalMs(),
    process: processCpuMs,
  });
  const phoneTimer = new SideTimer(clock, { crypto: () => world.phoneCrypto?.totalMs() ?? 0 });
  const pair = createMockLinkPair({ clock, ...link });
  const vehicleLink = new TimingLink(pair.vehicle, vehicleTimer, phoneTimer, clock, { delaysMs: model?.vehicleMs });
  const phoneLink = new TimingLink(pair.phone, phoneTimer, vehicleTimer, clock, { delaysMs: model?.phoneMs });
  const startMs = clock.now();
  vehicleTimer.openInitial();
  const served = vehicle.serve(vehicleLink);
  const { request, options } = flowRequest(flow);
  const session = await clock.runUntilSettled(
    phone.connect(phoneLink, vehicleId, request, options).then((s) => {
      phoneTimer.close();
      return s;
    }),
  );
  const endMs = clock.now();
  const stats = pair.stats.snapshot();
  if (!session.firstResult.ok) throw new Error(`${flow}: the vehicle answered ${session.firstResult.code}`);
  const path = session.path;
  await clock.runUntilSettled(session.close());
  await clock.runUntilSettled(served);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const authWindowMs = model?.vehicleMs[1] ?? 0;
  return {
    vehicleWindowsMs: vehicleTimer.windowsMs,
    phoneWindowsMs: phoneTimer.windowsMs,
    vehicleCryptoMs: vehicleTimer.attributed.crypto!,
    phoneCryptoMs: phoneTimer.attributed.crypto!,
    vehicleVaultMs: vehicleTimer.attributed.vault!,
    vehicleProcessCpuMs: vehicleTimer.attributed.process!,
    virtualMsInWindows: sum(vehicleTimer.virtualMsInWindows) + sum(phoneTimer.virtualMsInWindows),
    stats,
    latencyMs: endMs - startMs + (model?.phoneMs[1] ?? 0),
    actuatedMs: (vehicleTimer.openedAtVirtualMs[1] ?? Number.NaN) - startMs + authWindowMs,
    path,
  };
}
