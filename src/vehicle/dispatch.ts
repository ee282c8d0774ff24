/**
 * From an authenticated command to a started handler (docs/PROTOCOL.md §6, §6.4).
 *
 * The policy hooks (RSSI, ranging) may await for hundreds of milliseconds; a key can be revoked
 * or suspended, or the link cut, meanwhile. So the hooks run first, and then everything that
 * decides — the key re-read from the store, its issuers' suspension, the policy, the request-id
 * memory, the use counter — runs under the registry lock, and the handler is STARTED inside
 * that critical section. A revocation therefore lands either before the checks (refused) or
 * after the command started (it ran before the revocation): never in between.
 */
import { fromHex, toHex } from '../crypto/bytes.js';
import type { Link } from '../transport/link.js';
import { COMMAND_FLAG, MAX_FRAME_BYTES, STATUS } from '../protocol/constants.js';
import type { CommandMsg } from '../protocol/messages.js';
import { handleManagementLocked, isManagement } from './management.js';
import { evaluatePolicy, type CommandPolicy } from './policy.js';
import { Refusal, errorCode } from './refusal.js';
import { startHandlerRun, type HandlerOutcome } from './run-handler.js';
import { markPending, recall, remember, requestDigest, track } from './requests.js';
import type { KeyRecord } from './store.js';
import type { Vehicle, VehicleConfig } from './vehicle.js';
import type { LinkInfo } from './connection.js';

/** HCI's "RSSI not available" (Core spec Vol 4 Part E §7.5.4): not a dBm value. */
const RSSI_UNAVAILABLE = 127;

/** What the policy hooks reported. */
export interface HookReport {
  rssiDbm?: number;
  proximityOk?: boolean;
  /** A hook failed (stack error, timeout): the command is refused as PROXIMITY_CHECK_FAILED. */
  failed?: string;
}

/** The session facts admitCommand needs. */
interface SessionView {
  key: KeyRecord;
  path: 'full' | 'fast';
}

/** Either a finished outcome (nothing ran, or a remembered result) or a started handler. */
export type Admitted = HandlerOutcome | { run: Promise<HandlerOutcome> };

/**
 * Runs the RSSI and proximity hooks the command's policy needs. A hook that throws is a failed
 * check for this command (sealed PROXIMITY_CHECK_FAILED), never a refusal of the key.
 */
export async function runPolicyHooks(cfg: VehicleConfig, info: LinkInfo, policy: CommandPolicy | undefined, keyId: string, command: number): Promise<HookReport> {
  const report: HookReport = {};
  try {
    if (policy?.minRssiDbm !== undefined && info.rssi) {
      const rssi = await info.rssi();
      if (Number.isFinite(rssi) && rssi !== RSSI_UNAVAILABLE) report.rssiDbm = rssi;
    }
    if (policy?.requireProximity && cfg.proximityCheck) report.proximityOk = (await cfg.proximityCheck({ keyId, command })) === true;
  } catch (e) {
    report.failed = `HOOK_FAILED:${errorCode(e)}`;
  }
  return report;
}

/** Call under the registry lock: the checks against current records, then the handler's start. */
export async function admitCommand(
  vehicle: Vehicle,
  link: Link,
  s: SessionView,
  command: CommandMsg,
  ctx: { policy: CommandPolicy | undefined; hooks: HookReport; inHandshake: boolean; challengeToAuthMs: number },
): Promise<Admitted> {
  const { store } = vehicle.config;
  const keyHex = toHex(s.key.keyId);
  const current = store.getKey(s.key.keyId);
  if (!current) throw new Refusal(STATUS.rejected, 'KEY_REVOKED_IN_SESSION', keyHex);
  if (link.isClosed) throw new Refusal(STATUS.rejected, 'LINK_CLOSED_BEFORE_DISPATCH', keyHex);
  s.key = current;
  // A retry is answered before the policy: it runs nothing, and a use-limited key whose last
  // use was spent must hear the stored OK, not USE_LIMIT_REACHED.
  const digest = command.requestId ? requestDigest(vehicle, command) : undefined;
  if (digest) {
    const remembered = recall(vehicle, current, digest);
    if (remembered) return remembered;
  }
  const flags = command.flags ?? 0;
  let status = evaluatePolicy(
    { key: current, command: command.id, flags, path: s.path, inHandshake: ctx.inHandshake, challengeToAuthMs: ctx.challengeToAuthMs, nowMs: vehicle.now(), rssiDbm: ctx.hooks.rssiDbm, proximityOk: ctx.hooks.proximityOk },
    ctx.policy,
  );
  if (status === STATUS.ok && issuerSuspended(vehicle, current)) status = STATUS.keySuspended;
  if (ctx.hooks.failed && (status === STATUS.ok || status === STATUS.proximityCheckFailed)) return { status: STATUS.proximityCheckFailed, detail: ctx.hooks.failed };
  if (status !== STATUS.ok) return { status };
  // The fast path's ticket take may still be a deferred write (VehicleStore.sync): it must be on
  // disk before anything the ticket authorised runs, or a crash could let the ticket run twice.
  if (isManagement(command.id)) {
    await vehicle.config.store.sync();
    const outcome = await handleManagementLocked(vehicle, current, command);
    // Remembered in the same critical section: a retried revokeKey hears OK, not "unknown key".
    if (digest) await remember(vehicle, current, command, digest, outcome);
    return outcome;
  }
  return startHandler(vehicle, s, current, command, digest);
}

/** Whether any enrolled issuer up the key's chain is suspended (suspension reaches delegates). */
function issuerSuspended(vehicle: Vehicle, key: KeyRecord): boolean {
  return (key.chainIssuerIds ?? []).some((id) => vehicle.config.store.getKey(fromHex(id))?.suspended === true);
}

/** Spends a use, marks the request pending, makes the ticket take durable, then starts the handler. */
async function startHandler(vehicle: Vehicle, s: SessionView, key: KeyRecord, command: CommandMsg, digest: Uint8Array | undefined): Promise<Admitted> {
  const { store, handlers, clock, handlerTimeoutMs } = vehicle.config;
  const handler = handlers.get(command.id);
  if (!handler) return { status: STATUS.unknownCommand };
  if (key.usesLeft !== undefined) {
    // Spent durably before running: a crash must not give a use back.
    if (key.usesLeft <= 0) return { status: STATUS.useLimitReached };
    s.key = { ...key, usesLeft: key.usesLeft - 1 };
    await store.putKey(s.key);
  }
  if (digest) await markPending(vehicle, key, command, digest);
  // Usually already durable with the pending mark (one fsync for both); see VehicleStore.sync.
  await store.sync();
  const run = startHandlerRun(
    handler,
    { command: command.id, data: command.data, keyId: toHex(key.keyId), keyName: key.name, role: key.role, path: s.path, userPresent: ((command.flags ?? 0) & COMMAND_FLAG.userPresent) !== 0 },
    clock,
    handlerTimeoutMs,
  );
  return { run: digest ? track(vehicle, key, command, digest, run) : run.result };
}

/** Result frame overhead besides the data (CBOR map, status, data header, AEAD tag, margin). */
const RESULT_OVERHEAD_BYTES = 32;

/**
 * A handler's output that cannot fit one sealed Result is replaced by a sealed HANDLER_FAILED
 * (which says the command may have run): the session stays open, the phone hears the truth.
 */
export function fitResult(outcome: HandlerOutcome): HandlerOutcome {
  if (!outcome.data || outcome.data.length + RESULT_OVERHEAD_BYTES <= MAX_FRAME_BYTES) return outcome;
  return { status: STATUS.handlerFailed, detail: `OUTPUT_TOO_LARGE:${outcome.data.length}` };
}
