/**
 * Per-command policy and per-key entitlement checks, evaluated by the vehicle against its own
 * clock after the phone is authenticated (docs/PROTOCOL.md §6).
 */
import { COMMAND, COMMAND_FLAG, MGMT_COMMAND, STATUS } from '../protocol/constants.js';
import type { KeyRecord } from './store.js';

/** What a command demands before it may run. */
export interface CommandPolicy {
  /** Refuse on the fast (ticket) path. Default: true for `start`. */
  requireFullPath?: boolean;
  /** Refuse unless the phone set the user-present flag. Default: true for `start`. */
  requireUserPresence?: boolean;
  /**
   * Largest time from the challenge leaving the vehicle to the Auth arriving, ms: a relay bound.
   * GATT-level timing does NOT stop a link-layer relay (docs/THREAT-MODEL.md); it only bounds
   * slow relays. Commands with a bound are only accepted as the first command of a handshake.
   */
  maxChallengeToAuthMs?: number;
  /** Minimum RSSI in dBm reported by the integrator's hook for this link. */
  minRssiDbm?: number;
  /** Require the integrator's proximity check (UWB / Channel Sounding ranging) to pass. */
  requireProximity?: boolean;
  /**
   * May ride a ResumeAuth, which the vehicle answers before any fresh challenge of its own
   * (docs/PROTOCOL.md §14). Default: true for unlock, lock and trunk, false for every other
   * command. Never honoured for `start`, management, or a command that requires the full path
   * or has a relay bound (src/vehicle/resume.ts).
   */
  allowResume?: boolean;
}

/** The policy applied when the integrator configures none: `start` is the guarded command. */
export const DEFAULT_POLICIES: Readonly<Record<number, CommandPolicy>> = {
  [COMMAND.start]: { requireFullPath: true, requireUserPresence: true, maxChallengeToAuthMs: 1_500 },
};

/** Facts about the attempt that the policy is checked against. */
export interface AttemptContext {
  key: KeyRecord;
  command: number;
  flags: number;
  path: 'full' | 'fast';
  /** True for the command carried in the Auth; false for later commands on the session. */
  inHandshake: boolean;
  /** Challenge-to-Auth time in ms (only meaningful when inHandshake). */
  challengeToAuthMs: number;
  nowMs: number;
  rssiDbm?: number;
  proximityOk?: boolean;
}

const MGMT_IDS: readonly number[] = Object.values(MGMT_COMMAND);

/** Entitlement checks on the key itself: suspension, validity window, command list, use limit. */
export function checkEntitlement(key: KeyRecord, command: number, nowMs: number): number {
  if (key.suspended) return STATUS.keySuspended;
  if (key.notBefore !== undefined && nowMs < key.notBefore) return STATUS.keyNotValidNow;
  if (key.notAfter !== undefined && nowMs >= key.notAfter) return STATUS.keyNotValidNow;
  if (MGMT_IDS.includes(command) && key.role !== 'owner') return STATUS.notEntitled;
  if (key.commands !== null && !key.commands.includes(command)) return STATUS.notEntitled;
  if (key.usesLeft !== undefined && key.usesLeft <= 0) return STATUS.useLimitReached;
  return STATUS.ok;
}

/** Full check: entitlement, then the command's policy. Returns STATUS.ok or the refusal. */
export function evaluatePolicy(ctx: AttemptContext, policy: CommandPolicy | undefined): number {
  const entitled = checkEntitlement(ctx.key, ctx.command, ctx.nowMs);
  if (entitled !== STATUS.ok) return entitled;
  if (!policy) return STATUS.ok;
  if (policy.requireFullPath && ctx.path !== 'full') return STATUS.fullPathRequired;
  if (policy.requireUserPresence && (ctx.flags & COMMAND_FLAG.userPresent) === 0) return STATUS.userPresenceRequired;
  if (policy.maxChallengeToAuthMs !== undefined) {
    if (!ctx.inHandshake) return STATUS.freshChallengeRequired;
    if (ctx.challengeToAuthMs > policy.maxChallengeToAuthMs) return STATUS.relayBoundExceeded;
  }
  if (policy.minRssiDbm !== undefined && (ctx.rssiDbm === undefined || ctx.rssiDbm < policy.minRssiDbm)) return STATUS.proximityCheckFailed;
  if (policy.requireProximity && ctx.proximityOk !== true) return STATUS.proximityCheckFailed;
  return STATUS.ok;
}
