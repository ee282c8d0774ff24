/**
 * The owner's management commands as typed calls on a phone session (docs/PROTOCOL.md §8.4):
 * list, revoke, suspend, resume and rename keys, revoke grants, read the audit log. Each call is
 * one ordinary command on the open session carrying its schema-encoded argument; the vehicle
 * refuses them from a key that is not an owner (PolicyError `NOT_PERMITTED`).
 *
 * The wire carries key validity in seconds and audit times in milliseconds; here every time is
 * JS milliseconds since the epoch, like the rest of the API (`Date.now()`, `new Date(ms)`).
 */
import { assertBytes, toHex } from '../crypto/bytes.js';
import { ProtocolError, UsageError } from '../errors.js';
import { KEY_ID_BYTES, MGMT_COMMAND } from '../protocol/constants.js';
import { GRANT_ID_BYTES } from '../protocol/grant.js';
import {
  AUDIT_PER_PAGE,
  AuditPageSchema,
  GrantArgSchema,
  KeyArgSchema,
  KeyPageSchema,
  PageArgSchema,
  type KeyInfo,
} from '../protocol/management.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import type { CommandRequest, CommandResult } from './phone.js';
import { checkAborted } from './session-abort.js';

/** Options of every owner call. */
export interface OwnerCallOptions {
  /** Cancels the call; it then rejects with AbortError. */
  signal?: AbortSignal;
}

/** One key enrolled in the car, as the owner sees it. Times are JS ms since the epoch. */
export interface KeyEntry {
  keyId: Uint8Array;
  /** `keyId` in lower-case hex, handy as a React list key. */
  keyIdHex: string;
  owner: boolean;
  name: string;
  suspended: boolean;
  /** Commands the key may send (absent: every command its role allows). */
  commands?: number[];
  notBeforeMs?: number;
  notAfterMs?: number;
  usesLeft?: number;
  /** The grant this key was enrolled with (a friend's key). */
  grantId?: Uint8Array;
}

/** One audit record. `timeMs` is JS ms since the epoch (vehicle clock). */
export interface AuditEntry {
  timeMs: number;
  keyId?: Uint8Array;
  command?: number;
  /** `full` or `fast` for an unlock path, absent for events without a session. */
  path?: string;
  /** What happened, e.g. `ok`, `NOT_ENTITLED`, `revoked`. */
  outcome: string;
}

/** Options of {@link OwnerApi.readAudit}. */
export interface ReadAuditOptions extends OwnerCallOptions {
  /** First record to read (0 = oldest kept). Default 0. */
  offset?: number;
  /** Most records to return. Default one page (AUDIT_PER_PAGE); each page is one round trip. */
  limit?: number;
}

/** Pages of keys read at most by listKeys (a registry is far smaller; bounds a confused car). */
export const MAX_KEY_PAGES = 100;
/** Records read at most by one readAudit call. */
export const MAX_AUDIT_READ = 2_000;

/** Sends one management command on a session; throws the typed error unless it succeeded. */
export type SendCommand = (request: CommandRequest, options: { signal?: AbortSignal }) => Promise<CommandResult>;

/** The typed owner calls over one session's `send`. */
export class OwnerApi {
  constructor(private readonly send: SendCommand) {}

  /** Every key enrolled in the car, oldest first (one round trip per 10 keys). */
  async listKeys(options: OwnerCallOptions = {}): Promise<KeyEntry[]> {
    const keys: KeyEntry[] = [];
    for (let page = 0; page < MAX_KEY_PAGES; page++) {
      const r = await this.call(MGMT_COMMAND.listKeys, encodeMessage(PageArgSchema, { offset: keys.length }), options);
      const got = decodeMessage(KeyPageSchema, resultData(r));
      keys.push(...got.keys.map(toKeyEntry));
      if (got.keys.length === 0 || keys.length >= got.total) return keys;
    }
    throw new ProtocolError('TOO_MANY_KEYS', `the vehicle lists more than ${MAX_KEY_PAGES} pages of keys`);
  }

  /** Revokes a key at once (also on its open sessions). The car refuses to revoke its last active owner. */
  async revokeKey(keyId: Uint8Array, options: OwnerCallOptions = {}): Promise<void> {
    await this.call(MGMT_COMMAND.revokeKey, keyArg(keyId), options);
  }

  /**
   * Revokes a grant by id, used or not, so a share still in transit is void. `notAfterMs` (the
   * grant's expiry) lets the car forget the id once the grant would have expired anyway.
   */
  async revokeGrant(grantId: Uint8Array, options: OwnerCallOptions & { notAfterMs?: number | Date } = {}): Promise<void> {
    assertBytes(grantId, 'grantId', GRANT_ID_BYTES);
    const notAfter = options.notAfterMs === undefined ? undefined : Math.ceil(toMs(options.notAfterMs, 'notAfterMs') / 1000);
    await this.call(MGMT_COMMAND.revokeGrant, encodeMessage(GrantArgSchema, notAfter === undefined ? { grantId } : { grantId, notAfter }), options);
  }

  /** Suspends a key (e.g. a lost phone) until resumed; the car refuses to suspend the caller or its last active owner. */
  async suspendKey(keyId: Uint8Array, options: OwnerCallOptions = {}): Promise<void> {
    await this.call(MGMT_COMMAND.suspendKey, keyArg(keyId), options);
  }

  /** Lifts a suspension. */
  async resumeKey(keyId: Uint8Array, options: OwnerCallOptions = {}): Promise<void> {
    await this.call(MGMT_COMMAND.resumeKey, keyArg(keyId), options);
  }

  /** Renames a key in the car's list (1–32 characters). */
  async renameKey(keyId: Uint8Array, name: string, options: OwnerCallOptions = {}): Promise<void> {
    if (typeof name !== 'string' || name.length === 0) throw new UsageError('INVALID_ARGUMENT', '"name" must be a non-empty string');
    await this.call(MGMT_COMMAND.renameKey, keyArg(keyId, name), options);
  }

  /** Reads audit records, oldest first, from `offset`; `total` says how many the car keeps. */
  async readAudit(options: ReadAuditOptions = {}): Promise<{ total: number; records: AuditEntry[] }> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? AUDIT_PER_PAGE;
    if (!Number.isInteger(offset) || offset < 0) throw new UsageError('INVALID_ARGUMENT', '"offset" must be an integer ≥ 0');
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_READ) throw new UsageError('INVALID_ARGUMENT', `"limit" must be an integer in [1, ${MAX_AUDIT_READ}]`);
    const records: AuditEntry[] = [];
    let total = 0;
    while (records.length < limit) {
      const r = await this.call(MGMT_COMMAND.readAudit, encodeMessage(PageArgSchema, { offset: offset + records.length }), options);
      const page = decodeMessage(AuditPageSchema, resultData(r));
      total = page.total;
      records.push(...page.records.map((a) => ({ ...a })));
      if (page.records.length === 0 || offset + records.length >= total) break;
    }
    return { total, records: records.slice(0, limit) };
  }

  private call(id: number, data: Uint8Array, options: OwnerCallOptions): Promise<CommandResult> {
    checkAborted(options.signal);
    return this.send({ id, data }, options.signal ? { signal: options.signal } : {});
  }
}

/** Converts a key as listed on the wire (seconds) to a {@link KeyEntry} (ms). */
export function toKeyEntry(k: KeyInfo): KeyEntry {
  const e: KeyEntry = { keyId: k.keyId, keyIdHex: toHex(k.keyId), owner: k.owner, name: k.name, suspended: k.suspended };
  if (k.commands) e.commands = k.commands;
  if (k.notBefore !== undefined) e.notBeforeMs = k.notBefore * 1000;
  if (k.notAfter !== undefined) e.notAfterMs = k.notAfter * 1000;
  if (k.usesLeft !== undefined) e.usesLeft = k.usesLeft;
  if (k.grantId) e.grantId = k.grantId;
  return e;
}

function keyArg(keyId: Uint8Array, name?: string): Uint8Array {
  assertBytes(keyId, 'keyId', KEY_ID_BYTES);
  return encodeMessage(KeyArgSchema, name === undefined ? { keyId } : { keyId, name });
}

function resultData(r: CommandResult): Uint8Array {
  if (!r.data) throw new ProtocolError('MISSING_RESULT_DATA', 'the vehicle answered a listing without data');
  return r.data;
}

/** A time given as JS ms or a Date, as ms. */
export function toMs(t: number | Date, name: string): number {
  const ms = t instanceof Date ? t.getTime() : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new UsageError('INVALID_ARGUMENT', `"${name}" must be a Date or a finite number of ms`);
  return ms;
}
