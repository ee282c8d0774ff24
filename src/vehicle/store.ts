/**
 * The vehicle's typed state on top of a {@link Vault}: its identity, the key registry, the
 * single-use resumption tickets, revoked grant ids, the pairing verifier and the audit log.
 *
 * Everything is loaded into memory at open, so a lookup by key id or ticket id is a map access
 * whatever the number of keys (CCC's fast transaction tries stored keys one by one; we never
 * do). Every change is written to the vault before it takes effect in memory, so state never
 * goes backwards after a crash: a ticket is deleted durably before its command runs.
 */
import { StoreError } from '../errors.js';
import { toHex } from '../crypto/bytes.js';
import { encodeRecord, hexField, num, optHex, optHexList, optNum, parseRecord, type Json } from '../store/json-record.js';
import type { Vault } from '../store/vault.js';
import type { VehicleIdentity } from '../protocol/vehicle-handshake.js';

/** One enrolled phone key and what it may do. */
export interface KeyRecord {
  keyId: Uint8Array;
  publicKey: Uint8Array;
  /** Owners may manage keys and share; friends hold a grant's rights. */
  role: 'owner' | 'friend';
  name: string;
  /** Allowed command ids; `null` means every command (owners). */
  commands: number[] | null;
  /** Validity window on the vehicle's clock, ms since the Unix epoch. */
  notBefore?: number;
  notAfter?: number;
  suspended: boolean;
  /** Grant that enrolled this key, its issuer, and how deep in a chain it sits. */
  grantId?: Uint8Array;
  issuerKeyId?: Uint8Array;
  /**
   * Every grant id and every issuer key id of the chain that enrolled this key, its own grant
   * and issuer included (hex), so that revoking any link of the chain — even one whose key
   * never unlocked — revokes this key too.
   */
  chainGrantIds?: string[];
  chainIssuerIds?: string[];
  /** Whether this key may issue grants itself. */
  canShare: boolean;
  chainDepth: number;
  /** Remaining command executions allowed by the grant, if limited. */
  usesLeft?: number;
  createdAt: number;
}

/** A resumption ticket as the vehicle files it (one per key: a new one replaces the old). */
export interface TicketRecord {
  ticketId: Uint8Array;
  keyId: Uint8Array;
  resumptionSecret: Uint8Array;
  expiresAt: number;
}

/** One audit record (docs/PROTOCOL.md §9). Never holds a secret. */
export interface AuditEvent {
  timeMs: number;
  /** Key id in hex, when the phone was identified. */
  keyId?: string;
  command?: number;
  path?: 'full' | 'fast' | 'pairing' | 'admin';
  /** Outcome: `ok` or a status / rejection name. */
  outcome: string;
  /** Internal reason (never sent to the phone), e.g. `UNKNOWN_KEY`, `BAD_SIGNATURE`. */
  detail?: string;
}

/** Revocation record: a grant id kept until the grant would have expired anyway. */
export interface RevokedGrant {
  grantId: Uint8Array;
  keepUntil: number;
}

const AUDIT_LOG = 'audit';

/** Typed vehicle state over a Vault. Create with {@link openVehicleStore}. */
export class VehicleStore {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly ticketByKey = new Map<string, string>();
  private readonly revoked = new Map<string, RevokedGrant>();
  private identity: VehicleIdentity | null = null;
  private pairing: Uint8Array | null = null;

  /** @internal use openVehicleStore */
  constructor(readonly vault: Vault) {}

  /** Loads every record; a record that does not parse fails closed with STORE_CORRUPT. */
  async load(): Promise<void> {
    const identity = await this.vault.get('identity');
    if (identity) this.identity = parseRecord(identity, 'vehicle', 'identity', decodeIdentity);
    this.pairing = await this.vault.get('pairing');
    for (const name of await this.vault.list('k.')) this.cacheKey(parseRecord(await this.must(name), 'vehicle', name, decodeKey));
    for (const name of await this.vault.list('t.')) this.cacheTicket(parseRecord(await this.must(name), 'vehicle', name, decodeTicket));
    for (const name of await this.vault.list('g.')) {
      const r = parseRecord(await this.must(name), 'vehicle', name, decodeRevoked);
      this.revoked.set(toHex(r.grantId), r);
    }
  }

  /** The vehicle identity, or null before setup. */
  getIdentity(): VehicleIdentity | null {
    return this.identity;
  }

  /** Stores the vehicle identity (setup or factory reset). */
  async setIdentity(identity: VehicleIdentity): Promise<void> {
    await this.vault.put('identity', encodeRecord(encodeIdentity(identity)));
    this.identity = identity;
  }

  /** The stored pairing verifier record (opaque bytes, see src/pairing/), or null. */
  getPairingRecord(): Uint8Array | null {
    return this.pairing;
  }

  /** Stores or clears the pairing verifier record. */
  async setPairingRecord(record: Uint8Array | null): Promise<void> {
    if (record) await this.vault.put('pairing', record);
    else await this.vault.delete('pairing');
    this.pairing = record;
  }

  /** The key with this id, by map lookup. */
  getKey(keyId: Uint8Array): KeyRecord | undefined {
    return this.keys.get(toHex(keyId));
  }

  /** Every enrolled key. */
  listKeys(): KeyRecord[] {
    return [...this.keys.values()];
  }

  /** Adds or replaces a key record. */
  async putKey(record: KeyRecord): Promise<void> {
    const hex = toHex(record.keyId);
    await this.vault.put(`k.${hex}`, encodeRecord(encodeKey(record)));
    this.cacheKey(record);
  }

  /** Removes a key and its ticket in one atomic write. */
  async deleteKey(keyId: Uint8Array): Promise<void> {
    const hex = toHex(keyId);
    await this.vault.putMany([
      [`k.${hex}`, null],
      [`t.${hex}`, null],
    ]);
    this.keys.delete(hex);
    this.dropTicketOf(hex);
  }

  /**
   * Removes and returns the ticket with this id (single use): the deletion is durable before
   * this resolves, so a crash can never make a used ticket valid again.
   */
  async takeTicket(ticketId: Uint8Array): Promise<TicketRecord | null> {
    const ticket = this.tickets.get(toHex(ticketId));
    if (!ticket) return null;
    const keyHex = toHex(ticket.keyId);
    await this.vault.delete(`t.${keyHex}`);
    this.dropTicketOf(keyHex);
    return ticket;
  }

  /** Files a key's next ticket, replacing its previous one. */
  async putTicket(ticket: TicketRecord): Promise<void> {
    const keyHex = toHex(ticket.keyId);
    await this.vault.put(`t.${keyHex}`, encodeRecord(encodeTicket(ticket)));
    this.dropTicketOf(keyHex);
    this.cacheTicket(ticket);
  }

  /** Number of tickets on file (for tests and benchmarks). */
  get ticketCount(): number {
    return this.tickets.size;
  }

  /** Whether a grant id is revoked. */
  isGrantRevoked(grantId: Uint8Array): boolean {
    return this.revoked.has(toHex(grantId));
  }

  /** Records a revoked grant id until `keepUntil` (the grant's own expiry). */
  async revokeGrant(grantId: Uint8Array, keepUntil: number): Promise<void> {
    const r = { grantId, keepUntil };
    await this.vault.put(`g.${toHex(grantId)}`, encodeRecord(encodeRevoked(r)));
    this.revoked.set(toHex(grantId), r);
  }

  /** Drops revocation records whose grant has expired anyway; returns how many. */
  async pruneRevocations(nowMs: number): Promise<number> {
    const expired = [...this.revoked.values()].filter((r) => r.keepUntil < nowMs);
    if (expired.length === 0) return 0;
    await this.vault.putMany(expired.map((r) => [`g.${toHex(r.grantId)}`, null]));
    for (const r of expired) this.revoked.delete(toHex(r.grantId));
    return expired.length;
  }

  /** Number of revoked grant ids on file. */
  get revokedCount(): number {
    return this.revoked.size;
  }

  /** Appends an audit record (bounded: the vault rotates the log). */
  async appendAudit(event: AuditEvent): Promise<void> {
    await this.vault.appendLog(AUDIT_LOG, encodeRecord(event as unknown as Json));
  }

  /** Audit records, oldest first; at most `limit` of the newest. */
  async readAudit(limit = 1000): Promise<AuditEvent[]> {
    const records = await this.vault.readLog(AUDIT_LOG);
    return records.slice(-limit).map((r) => parseRecord(r, 'vehicle', 'audit', (j) => j as unknown as AuditEvent));
  }

  /** Erases every record: keys, tickets, revocations, pairing record, identity (factory reset). */
  async wipeAll(): Promise<void> {
    const names = await this.vault.list();
    await this.vault.putMany(names.map((n) => [n, null]));
    this.keys.clear();
    this.tickets.clear();
    this.ticketByKey.clear();
    this.revoked.clear();
    this.identity = null;
    this.pairing = null;
  }

  /** Closes the underlying vault. */
  async close(): Promise<void> {
    await this.vault.close();
  }

  private async must(name: string): Promise<Uint8Array> {
    const v = await this.vault.get(name);
    if (!v) throw new StoreError('STORE_CORRUPT', `record ${name} vanished while loading`);
    return v;
  }

  private cacheKey(record: KeyRecord): void {
    this.keys.set(toHex(record.keyId), record);
  }

  private cacheTicket(ticket: TicketRecord): void {
    const hex = toHex(ticket.ticketId);
    this.tickets.set(hex, ticket);
    this.ticketByKey.set(toHex(ticket.keyId), hex);
  }

  private dropTicketOf(keyHex: string): void {
    const old = this.ticketByKey.get(keyHex);
    if (old) this.tickets.delete(old);
    this.ticketByKey.delete(keyHex);
  }
}

/** Opens the typed vehicle store over a vault (memory or file) and loads it. */
export async function openVehicleStore(vault: Vault): Promise<VehicleStore> {
  const store = new VehicleStore(vault);
  await store.load();
  return store;
}

// Record layouts (JSON with hex byte strings, src/store/json-record.ts).

function encodeIdentity(i: VehicleIdentity): Json {
  return { vehicleId: toHex(i.vehicleId), privateKey: toHex(i.privateKey), publicKey: toHex(i.publicKey) };
}
function decodeIdentity(j: Json): VehicleIdentity {
  return { vehicleId: hexField(j, 'vehicleId'), privateKey: hexField(j, 'privateKey'), publicKey: hexField(j, 'publicKey') };
}

function encodeKey(r: KeyRecord): Json {
  return {
    keyId: toHex(r.keyId),
    publicKey: toHex(r.publicKey),
    role: r.role,
    name: r.name,
    commands: r.commands,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    suspended: r.suspended,
    grantId: r.grantId && toHex(r.grantId),
    issuerKeyId: r.issuerKeyId && toHex(r.issuerKeyId),
    chainGrantIds: r.chainGrantIds,
    chainIssuerIds: r.chainIssuerIds,
    canShare: r.canShare,
    chainDepth: r.chainDepth,
    usesLeft: r.usesLeft,
    createdAt: r.createdAt,
  };
}
function decodeKey(j: Json): KeyRecord {
  const role = j.role;
  if (role !== 'owner' && role !== 'friend') throw new Error('role');
  const commands = j.commands;
  if (commands !== null && !(Array.isArray(commands) && commands.every((c) => Number.isInteger(c)))) throw new Error('commands');
  if (typeof j.name !== 'string' || typeof j.suspended !== 'boolean' || typeof j.canShare !== 'boolean') throw new Error('fields');
  return {
    keyId: hexField(j, 'keyId'),
    publicKey: hexField(j, 'publicKey'),
    role,
    name: j.name,
    commands: commands as number[] | null,
    notBefore: optNum(j, 'notBefore'),
    notAfter: optNum(j, 'notAfter'),
    suspended: j.suspended,
    grantId: optHex(j, 'grantId'),
    issuerKeyId: optHex(j, 'issuerKeyId'),
    chainGrantIds: optHexList(j, 'chainGrantIds'),
    chainIssuerIds: optHexList(j, 'chainIssuerIds'),
    canShare: j.canShare,
    chainDepth: num(j, 'chainDepth'),
    usesLeft: optNum(j, 'usesLeft'),
    createdAt: num(j, 'createdAt'),
  };
}

function encodeTicket(t: TicketRecord): Json {
  return { ticketId: toHex(t.ticketId), keyId: toHex(t.keyId), resumptionSecret: toHex(t.resumptionSecret), expiresAt: t.expiresAt };
}
function decodeTicket(j: Json): TicketRecord {
  return { ticketId: hexField(j, 'ticketId'), keyId: hexField(j, 'keyId'), resumptionSecret: hexField(j, 'resumptionSecret'), expiresAt: num(j, 'expiresAt') };
}

function encodeRevoked(r: RevokedGrant): Json {
  return { grantId: toHex(r.grantId), keepUntil: r.keepUntil };
}
function decodeRevoked(j: Json): RevokedGrant {
  return { grantId: hexField(j, 'grantId'), keepUntil: num(j, 'keepUntil') };
}
