/**
 * Owner management over an authenticated session (docs/PROTOCOL.md §8.4): list keys, revoke by
 * key or grant id, suspend, resume, rename, read the audit log. Every change is durable before
 * the answer, and takes effect at once, including on sessions already open.
 */
import { fromHex, toHex } from '../crypto/bytes.js';
import { MGMT_COMMAND, STATUS } from '../protocol/constants.js';
import {
  AUDIT_PER_PAGE,
  AuditPageSchema,
  GrantArgSchema,
  KEYS_PER_PAGE,
  KeyArgSchema,
  KeyPageSchema,
  PageArgSchema,
  type KeyInfo,
} from '../protocol/management.js';
import type { CommandMsg } from '../protocol/messages.js';
import { decodeMessage, encodeMessage, type Schema } from '../wire/schema.js';
import type { KeyRecord } from './store.js';
import type { Vehicle } from './vehicle.js';

const IDS: readonly number[] = Object.values(MGMT_COMMAND);

/** Whether a command id is a management command. */
export function isManagement(id: number): boolean {
  return IDS.includes(id);
}

type Outcome = { status: number; data?: Uint8Array; detail?: string };

/**
 * Runs one management command for an owner (policy already checked the role), with no other
 * registry change in between: checks such as "not the last owner" hold when the write lands.
 */
export function handleManagement(vehicle: Vehicle, caller: KeyRecord, cmd: CommandMsg): Promise<Outcome> {
  return vehicle.exclusive(() => handleManagementLocked(vehicle, caller, cmd));
}

/** {@link handleManagement} for a caller that already holds the registry lock. */
export async function handleManagementLocked(vehicle: Vehicle, caller: KeyRecord, cmd: CommandMsg): Promise<Outcome> {
  if (!vehicle.config.store.getKey(caller.keyId)) return { status: STATUS.notPermitted, detail: 'caller revoked' };
  try {
    switch (cmd.id) {
      case MGMT_COMMAND.listKeys:
        return listKeys(vehicle, arg(PageArgSchema, cmd, {}).offset ?? 0);
      case MGMT_COMMAND.readAudit:
        return readAudit(vehicle, arg(PageArgSchema, cmd, {}).offset ?? 0);
      case MGMT_COMMAND.revokeKey:
        return revokeKey(vehicle, arg(KeyArgSchema, cmd).keyId);
      case MGMT_COMMAND.revokeGrant: {
        const a = arg(GrantArgSchema, cmd);
        await vehicle.revokeGrantLocked(a.grantId, a.notAfter !== undefined ? a.notAfter * 1000 : undefined);
        return { status: STATUS.ok, detail: `grant ${toHex(a.grantId)}` };
      }
      case MGMT_COMMAND.suspendKey:
      case MGMT_COMMAND.resumeKey:
        return setSuspended(vehicle, caller, arg(KeyArgSchema, cmd).keyId, cmd.id === MGMT_COMMAND.suspendKey);
      case MGMT_COMMAND.renameKey: {
        const a = arg(KeyArgSchema, cmd);
        if (!a.name) return { status: STATUS.invalidArgument };
        return update(vehicle, a.keyId, (k) => ({ ...k, name: a.name! }));
      }
      default:
        return { status: STATUS.unknownCommand };
    }
  } catch (e) {
    return { status: STATUS.invalidArgument, detail: e instanceof Error ? e.message.slice(0, 120) : 'bad argument' };
  }
}

function arg<T>(schema: Schema<T>, cmd: CommandMsg, fallback?: T): T {
  if (!cmd.data) {
    if (fallback) return fallback;
    throw new Error('argument required');
  }
  return decodeMessage(schema, cmd.data);
}

function listKeys(vehicle: Vehicle, offset: number): Outcome {
  const all = vehicle.listKeys().sort((a, b) => a.createdAt - b.createdAt || toHex(a.keyId).localeCompare(toHex(b.keyId)));
  const keys = all.slice(offset, offset + KEYS_PER_PAGE).map(keyInfo);
  return { status: STATUS.ok, data: encodeMessage(KeyPageSchema, { total: all.length, keys }) };
}

/** KeyInfo.2's bound, UTF-8 bytes (docs/PROTOCOL.md §3.3). */
const KEY_INFO_NAME_BYTES = 64;

/**
 * The longest prefix of `s` that fits `maxBytes` of UTF-8, cut between code points. A name from
 * the local admin API has no length bound: cutting it by UTF-16 units could leave more than 64
 * bytes, and one such name would make every listKeys page fail to encode.
 */
export function truncateUtf8(s: string, maxBytes: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes) break;
    bytes += n;
    out += ch;
  }
  return out;
}

function keyInfo(k: KeyRecord): KeyInfo {
  const s = (ms: number | undefined) => (ms === undefined ? undefined : Math.floor(ms / 1000));
  const info: KeyInfo = { keyId: k.keyId, owner: k.role === 'owner', name: truncateUtf8(k.name, KEY_INFO_NAME_BYTES), suspended: k.suspended };
  if (k.commands) info.commands = k.commands.slice(0, 32);
  if (k.notBefore !== undefined) info.notBefore = s(k.notBefore);
  if (k.notAfter !== undefined) info.notAfter = s(k.notAfter);
  if (k.usesLeft !== undefined) info.usesLeft = k.usesLeft;
  if (k.grantId) info.grantId = k.grantId;
  return info;
}

async function readAudit(vehicle: Vehicle, offset: number): Promise<Outcome> {
  const all = await vehicle.readAudit(100_000);
  const page = all.slice(offset, offset + AUDIT_PER_PAGE).map((e) => ({
    timeMs: Math.max(0, Math.floor(e.timeMs)),
    ...(e.keyId ? { keyId: fromHex(e.keyId) } : {}),
    ...(e.command !== undefined ? { command: e.command } : {}),
    ...(e.path ? { path: e.path } : {}),
    outcome: e.outcome.slice(0, 32),
  }));
  return { status: STATUS.ok, data: encodeMessage(AuditPageSchema, { total: all.length, records: page }) };
}

async function revokeKey(vehicle: Vehicle, keyId: Uint8Array): Promise<Outcome> {
  const target = vehicle.config.store.getKey(keyId);
  if (!target) return { status: STATUS.invalidArgument, detail: 'unknown key' };
  // A suspended owner (a stolen phone) can be revoked while another active owner remains.
  if (target.role === 'owner' && activeOwnersBesides(vehicle, target) === 0) return { status: STATUS.notPermitted, detail: 'last active owner key' };
  await vehicle.revokeKeyLocked(keyId);
  return { status: STATUS.ok, detail: `revoked ${toHex(keyId)}` };
}

async function setSuspended(vehicle: Vehicle, caller: KeyRecord, keyId: Uint8Array, suspended: boolean): Promise<Outcome> {
  const target = vehicle.config.store.getKey(keyId);
  if (!target) return { status: STATUS.invalidArgument };
  if (suspended && target.role === 'owner' && activeOwnersBesides(vehicle, target) === 0) return { status: STATUS.notPermitted, detail: 'last active owner key' };
  if (suspended && toHex(target.keyId) === toHex(caller.keyId)) return { status: STATUS.notPermitted, detail: 'cannot suspend own key' };
  return setSuspendedLocked(vehicle, keyId, suspended);
}

/**
 * Suspends or resumes a key (registry lock held by the caller). Suspension reaches delegates:
 * their commands are refused while it lasts, and their open sessions are closed with the key's.
 */
export async function setSuspendedLocked(vehicle: Vehicle, keyId: Uint8Array, suspended: boolean): Promise<Outcome> {
  const outcome = await update(vehicle, keyId, (k) => ({ ...k, suspended }));
  if (suspended && outcome.status === STATUS.ok) {
    const hex = toHex(keyId);
    const reached = [hex, ...vehicle.listKeys().filter((k) => k.chainIssuerIds?.includes(hex)).map((k) => toHex(k.keyId))];
    for (const id of reached) await vehicle.closeSessionsOf(id, 'key suspended');
  }
  return outcome;
}

async function update(vehicle: Vehicle, keyId: Uint8Array, change: (k: KeyRecord) => KeyRecord): Promise<Outcome> {
  const target = vehicle.config.store.getKey(keyId);
  if (!target) return { status: STATUS.invalidArgument };
  await vehicle.config.store.putKey(change(target));
  return { status: STATUS.ok };
}

/** Active (unsuspended) owners other than `target`: the car must always keep one. */
function activeOwnersBesides(vehicle: Vehicle, target: KeyRecord): number {
  const hex = toHex(target.keyId);
  return vehicle.listKeys().filter((k) => k.role === 'owner' && !k.suspended && toHex(k.keyId) !== hex).length;
}
