/**
 * The local admin operations of a key module, run on a {@link Vehicle}: by the daemon for a
 * control-socket request, or by `dkey` itself on the store when no daemon runs. Local access to
 * the module (its control socket, mode 0600, or its store) is the physical action that the
 * library asks for before opening a pairing window or resetting.
 */
import { toHex } from '../crypto/bytes.js';
import { COMMAND, MGMT_COMMAND } from '../protocol/constants.js';
import { makePairingRecord, randomCode } from '../vehicle/pairing.js';
import type { AuditEvent, KeyRecord } from '../vehicle/store.js';
import type { Vehicle } from '../vehicle/vehicle.js';
import { CliError, EXIT } from './errors.js';

/** A request to the admin API; the same shape travels on the control socket. */
export type AdminRequest =
  | { op: 'info' }
  | { op: 'keys' }
  | { op: 'revoke' | 'suspend' | 'resume'; keyId: string }
  | { op: 'audit'; limit?: number }
  | { op: 'reset'; confirm: true }
  | { op: 'pair'; ttlSeconds: number; card?: boolean }
  | { op: 'pairing-card'; digits?: number };

/** A key as `dkey vehicle keys` shows it. */
export interface KeyView {
  keyId: string;
  name: string;
  role: 'owner' | 'friend';
  suspended: boolean;
  commands: string[] | null;
  notBefore?: string;
  notAfter?: string;
  usesLeft?: number;
  createdAt: string;
}

const COMMAND_NAMES: Record<number, string> = Object.fromEntries([...Object.entries(COMMAND), ...Object.entries(MGMT_COMMAND)].map(([n, id]) => [id, n]));

/** The name of a command id (`unlock`, `listKeys`, or `command 130`). */
export function commandName(id: number): string {
  return COMMAND_NAMES[id] ?? `command ${id}`;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** The JSON view of a key record (no public key bytes: the id names it). */
export function keyView(k: KeyRecord): KeyView {
  return {
    keyId: toHex(k.keyId),
    name: k.name,
    role: k.role,
    suspended: k.suspended,
    commands: k.commands === null ? null : k.commands.map(commandName),
    ...(k.notBefore !== undefined ? { notBefore: iso(k.notBefore) } : {}),
    ...(k.notAfter !== undefined ? { notAfter: iso(k.notAfter) } : {}),
    ...(k.usesLeft !== undefined ? { usesLeft: k.usesLeft } : {}),
    createdAt: iso(k.createdAt)!,
  };
}

/** Finds a key by its hex id or a unique prefix of at least 4 hex digits. */
export function findKey(vehicle: Vehicle, text: string): KeyRecord {
  const wanted = text.trim().toLowerCase();
  if (!/^[0-9a-f]{4,}$/.test(wanted)) throw new CliError(EXIT.usage, `"${text}" is not a key id (hex, at least 4 digits)`);
  const matches = vehicle.listKeys().filter((k) => toHex(k.keyId).startsWith(wanted));
  if (matches.length === 0) throw new CliError(EXIT.refused, `no enrolled key has id ${wanted}: list them with "dkey vehicle keys"`);
  if (matches.length > 1) throw new CliError(EXIT.usage, `${wanted} matches ${matches.length} keys: give more digits`);
  return matches[0]!;
}

/** The vehicle's id and a short fingerprint of its public key, for humans to compare. */
export function vehicleInfo(vehicle: Vehicle): { vehicleId: string; fingerprint: string; publicKey: string; keys: number } {
  const { vehicleId, publicKey } = vehicle.peer;
  const digest = toHex(vehicle.config.crypto.sha256(publicKey)).slice(0, 16);
  return { vehicleId: toHex(vehicleId), fingerprint: digest.match(/.{4}/g)!.join(':'), publicKey: toHex(publicKey), keys: vehicle.listKeys().length };
}

/** A JSON view of an audit event. */
export function auditView(e: AuditEvent): Record<string, unknown> {
  return { time: new Date(e.timeMs).toISOString(), ...e, ...(e.command !== undefined ? { commandName: commandName(e.command) } : {}) };
}

/** One human line per audit event. */
export function auditLine(e: AuditEvent): string {
  const parts = [new Date(e.timeMs).toISOString(), e.outcome];
  if (e.command !== undefined) parts.push(commandName(e.command));
  if (e.path !== undefined) parts.push(`path=${e.path}`);
  if (e.keyId !== undefined) parts.push(`key=${e.keyId}`);
  if (e.detail !== undefined) parts.push(`(${e.detail})`);
  return parts.join(' ');
}

/** Runs one admin request; returns its JSON result. Needs a live daemon for `pair`. */
export async function runAdmin(vehicle: Vehicle, req: AdminRequest, live: boolean): Promise<unknown> {
  switch (req.op) {
    case 'info':
      return vehicleInfo(vehicle);
    case 'keys':
      return vehicle.listKeys().sort((a, b) => a.createdAt - b.createdAt).map(keyView);
    case 'revoke': {
      const key = findKey(vehicle, req.keyId);
      await vehicle.revokeKey(key.keyId);
      return { revoked: toHex(key.keyId), name: key.name };
    }
    case 'suspend':
    case 'resume': {
      const key = findKey(vehicle, req.keyId);
      // The library closes the key's sessions (and its chain's) and records the audit event.
      await (req.op === 'suspend' ? vehicle.suspendKey(key.keyId) : vehicle.resumeKey(key.keyId));
      return { keyId: toHex(key.keyId), suspended: req.op === 'suspend' };
    }
    case 'audit':
      return (await vehicle.readAudit(req.limit)).map(auditView);
    case 'reset':
      if (req.confirm !== true) throw new CliError(EXIT.usage, 'a factory reset erases every key: pass --confirm');
      await vehicle.factoryReset({ confirmed: true });
      return vehicleInfo(vehicle);
    case 'pair': {
      if (!live) throw new CliError(EXIT.unreachable, 'no key-module daemon is running for this store, and a pairing window lives in the daemon: start "dkey vehicle serve" first');
      const { code, expiresAt } = vehicle.openPairingWindow({ ttlMs: req.ttlSeconds * 1000, ...(req.card ? { code: 'record' } : {}) });
      return { ...(code !== undefined ? { code } : { code: null, card: true }), expiresAt: new Date(expiresAt).toISOString() };
    }
    case 'pairing-card': {
      const code = randomCode(vehicle.config.crypto, req.digits ?? 8);
      const record = makePairingRecord(vehicle.config.crypto, code);
      await vehicle.setPairingRecord(record);
      return { code, record: toHex(record) };
    }
    default:
      throw new CliError(EXIT.usage, `unknown admin operation "${(req as { op: unknown }).op}"`);
  }
}
