/**
 * The vehicle's typed state: its public identity, the key registry, single-use resumption
 * tickets (their secrets sealed), revoked key and grant ids, the durable time floor, the
 * request-id memory for exactly-once retries, the pairing verifier and the audit log.
 *
 * {@link VehicleStore} is the interface the vehicle runs on; {@link VaultVehicleStore} implements
 * it over any {@link Vault} (memory or file), and `ble-digital-key/store/sqlite` over SQLite.
 * Rules every implementation keeps:
 * - reads are synchronous lookups (a key or ticket by id is a map or index access, whatever the
 *   registry size: CCC's fast transaction tries stored keys one by one; we never do);
 * - every change is durable before it takes effect (a used ticket is deleted durably before its
 *   command runs), and one protocol state change is one atomic commit;
 * - no secret is stored in the clear: the identity private key is not here at all (it sits
 *   behind a {@link VehicleKeyAgreement}) and ticket secrets are sealed by the vehicle.
 */
import { StoreError } from '../errors.js';
import { toHex } from '../crypto/bytes.js';
import { encodeRecord, hexField, num, optHex, optHexList, optNum, parseRecord, type Json } from '../store/json-record.js';
import type { Vault } from '../store/vault.js';

/**
 * Request memory for exactly-once retries (docs/PROTOCOL.md §6.4): the newest
 * REQUEST_MEMORY_PER_COMMAND requests of each command of a key, and at most
 * REQUEST_MEMORY_PER_KEY per key in all.
 */
export const REQUEST_MEMORY_PER_COMMAND = 4;
/** See {@link REQUEST_MEMORY_PER_COMMAND}. */
export const REQUEST_MEMORY_PER_KEY = 64;
/** Request-memory status of a command whose handler started and has not finished. */
export const REQUEST_PENDING = -1;

/** The public half of the vehicle identity, as stored. The private key is never in the store. */
export interface StoredIdentity {
  /** 16 random bytes naming this vehicle. */
  vehicleId: Uint8Array;
  /** SEC1-compressed identity public key (its private half is behind the key agreement). */
  publicKey: Uint8Array;
  /** 32 random bytes the advertising-pseudonym key is derived from (rotatable on its own). */
  advertisingSecret: Uint8Array;
  /**
   * A public point W chosen at identity creation (its scalar was wiped): the ticket-sealing key
   * is derived from ECDH(s_V, W), so only the holder of the identity key can unseal tickets.
   */
  ticketSealPublicKey: Uint8Array;
}

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
   * and issuer included (hex), so that revoking or suspending any link of the chain — even one
   * whose key never unlocked — reaches this key too.
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
  /** The resumption secret sealed under the vehicle's ticket-sealing key (opaque to the store). */
  sealedSecret: Uint8Array;
  expiresAt: number;
  /** Fast-path renewals this ticket's chain may still make before a signed full handshake. */
  renewalsLeft: number;
}

/** One audit record (docs/PROTOCOL.md §9). Never holds a secret. */
export interface AuditEvent {
  timeMs: number;
  /** Key id in hex, when the phone was authenticated (or for admin records naming a key). */
  keyId?: string;
  /**
   * Key id a refused peer claimed (unknown key, bad signature, bad grant). Unauthenticated:
   * anyone can claim any id, so it never fills `keyId` and such records count as junk.
   */
  claimedKeyId?: string;
  command?: number;
  path?: 'full' | 'fast' | 'pairing' | 'admin';
  /** Outcome: `OK`, `EXECUTED`, or a status / rejection name. */
  outcome: string;
  /** Internal reason (never sent to the phone), e.g. `UNKNOWN_KEY`, `BAD_SIGNATURE`. */
  detail?: string;
  /** Unauthenticated attempts folded into this record (junk aggregation), when more than one. */
  count?: number;
}

/** Which audit records to read. */
export interface AuditQuery {
  /** At most this many of the newest matching records (default 1000). */
  limit?: number;
  /** Only records at or after this time, ms. */
  sinceMs?: number;
  /** Only records of this key (hex). */
  keyId?: string;
  /** Only records with this outcome. */
  outcome?: string;
}

/** A revoked grant id, kept until `keepUntil` (its grant's expiry plus a retention margin). */
export interface RevokedGrant {
  grantId: Uint8Array;
  keepUntil: number;
}

/**
 * A revoked key id: no grant chain naming it as subject (unless the grant was signed after the
 * revocation) or as an unenrolled issuer is accepted. Kept for ever by the vehicle
 * (`keepUntil` = Number.MAX_SAFE_INTEGER): ids are 8 bytes.
 */
export interface RevokedKey {
  keyId: Uint8Array;
  keepUntil: number;
  /** When the key was revoked, on the vehicle's time (a re-grant must be signed after it). */
  revokedAt: number;
}

/** One atomic revocation: keys removed (with tickets and request memory) and ids remembered. */
export interface RevocationChange {
  keys: RevokedKey[];
  grants: RevokedGrant[];
}

/** A remembered command request id and its result, for exactly-once retries. */
export interface RequestRecord {
  keyId: Uint8Array;
  /** The phone's request id (1–16 bytes). */
  requestId: Uint8Array;
  command: number;
  /** The result status sent (or to be sent) for it. */
  status: number;
  data?: Uint8Array;
  timeMs: number;
}

/** The vehicle's durable state. Implementations: {@link VaultVehicleStore}, `store/sqlite`. */
export interface VehicleStore {
  /** The vehicle's public identity, or null before setup. */
  getIdentity(): StoredIdentity | null;
  /** Stores the public identity (setup, factory reset, advertising-secret rotation). */
  setIdentity(identity: StoredIdentity): Promise<void>;
  /** The stored pairing verifier record (opaque bytes, see src/pairing/), or null. */
  getPairingRecord(): Uint8Array | null;
  /** Stores or clears the pairing verifier record. */
  setPairingRecord(record: Uint8Array | null): Promise<void>;
  /** The key with this id. */
  getKey(keyId: Uint8Array): KeyRecord | undefined;
  /** Every enrolled key. */
  listKeys(): KeyRecord[];
  /** Number of enrolled keys. */
  readonly keyCount: number;
  /** Adds or replaces a key record. */
  putKey(record: KeyRecord): Promise<void>;
  /**
   * Removes and returns the ticket with this id (single use: a concurrent take of a copy gets
   * null). Durable before resolving, or, in a store with deferred writes, by the next `sync()`.
   */
  takeTicket(ticketId: Uint8Array): Promise<TicketRecord | null>;
  /** Files a key's next ticket, replacing its previous one. Ignored if the key is not enrolled (revoked meanwhile). */
  putTicket(ticket: TicketRecord): Promise<void>;
  /** Number of tickets on file. */
  readonly ticketCount: number;
  /** Whether a grant id is revoked. */
  isGrantRevoked(grantId: Uint8Array): boolean;
  /** The revocation record of a key id, if it is revoked. */
  getRevokedKey(keyId: Uint8Array): RevokedKey | undefined;
  /** Number of revocation records (keys and grants). */
  readonly revokedCount: number;
  /** One atomic revocation (see {@link RevocationChange}). */
  revoke(change: RevocationChange): Promise<void>;
  /** Drops revocation records of both kinds with `keepUntil < beforeMs`; returns how many. */
  pruneRevocations(beforeMs: number): Promise<number>;
  /** The durable time floor, ms: the latest time the vehicle is known to have seen. */
  readonly timeFloor: number;
  /** Raises the time floor durably; a lower value is ignored (the floor never goes back). */
  raiseTimeFloor(ms: number): Promise<void>;
  /** Sets the time floor to `ms` even if lower (local admin after a clock fix, Vehicle.resetTimeFloor). */
  resetTimeFloor(ms: number): Promise<void>;
  /** The remembered request of a key, if any. */
  getRequest(keyId: Uint8Array, requestId: Uint8Array): RequestRecord | undefined;
  /**
   * Remembers (or updates) a request; keeps the newest REQUEST_MEMORY_PER_COMMAND per (key,
   * command) and REQUEST_MEMORY_PER_KEY per key. `requestId` is the vehicle's 16-byte request digest.
   * Ignored if the key is not enrolled (revoked while its handler ran: nothing stays behind).
   */
  putRequest(record: RequestRecord): Promise<void>;
  /** Appends an audit record (bounded: old records are dropped). */
  appendAudit(event: AuditEvent): Promise<void>;
  /** Audit records, oldest first: the newest `limit` that match. */
  readAudit(query?: AuditQuery | number): Promise<AuditEvent[]>;
  /** Erases everything (factory reset). */
  wipeAll(): Promise<void>;
  /**
   * Resolves once every write made so far is durable. A store may defer the durability of the
   * writes whose loss is harmless after a crash (a ticket take before anything ran, a ticket
   * filed, a finished request, an audit record, a raised floor) so that they share one fsync with
   * the next write that must be durable; the vehicle calls this before running anything a ticket
   * authorised. Stores whose every write is durable on resolve return at once.
   */
  sync(): Promise<void>;
  /** Closes the store (committing any deferred writes). */
  close(): Promise<void>;
}

const AUDIT_LOG = 'audit';
const FLOOR_NAME = 'meta.floor';

/** {@link VehicleStore} over a {@link Vault}, loaded into memory at open. Create with {@link openVehicleStore}. */
export class VaultVehicleStore implements VehicleStore {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly tickets = new Map<string, TicketRecord>();
  private readonly ticketByKey = new Map<string, string>();
  private readonly revokedGrants = new Map<string, RevokedGrant>();
  private readonly revokedKeys = new Map<string, RevokedKey>();
  private readonly requests = new Map<string, RequestRecord[]>();
  private identity: StoredIdentity | null = null;
  private pairing: Uint8Array | null = null;
  private floor = 0;
  private closed = false;

  /** @internal use openVehicleStore */
  constructor(readonly vault: Vault) {}

  /** Loads every record; a record that does not parse fails closed with STORE_CORRUPT. */
  async load(): Promise<void> {
    const identity = await this.vault.get('identity');
    if (identity) this.identity = parseRecord(identity, 'vehicle', 'identity', decodeIdentity);
    this.pairing = await this.vault.get('pairing');
    const floor = await this.vault.get(FLOOR_NAME);
    if (floor) this.floor = parseRecord(floor, 'vehicle', FLOOR_NAME, (j) => num(j, 'floor'));
    for (const name of await this.vault.list('k.')) this.keys.set(name.slice(2), parseRecord(await this.must(name), 'vehicle', name, decodeKey));
    for (const name of await this.vault.list('t.')) this.cacheTicket(parseRecord(await this.must(name), 'vehicle', name, decodeTicket));
    for (const name of await this.vault.list('g.')) {
      const r = parseRecord(await this.must(name), 'vehicle', name, (j) => ({ grantId: hexField(j, 'grantId'), keepUntil: num(j, 'keepUntil') }));
      this.revokedGrants.set(toHex(r.grantId), r);
    }
    for (const name of await this.vault.list('x.')) {
      const r = parseRecord(await this.must(name), 'vehicle', name, (j) => ({ keyId: hexField(j, 'keyId'), keepUntil: num(j, 'keepUntil'), revokedAt: num(j, 'revokedAt') }));
      this.revokedKeys.set(toHex(r.keyId), r);
    }
    for (const name of await this.vault.list('r.')) this.requests.set(name.slice(2), parseRecord(await this.must(name), 'vehicle', name, decodeRequests));
  }

  getIdentity(): StoredIdentity | null {
    return this.identity;
  }

  async setIdentity(identity: StoredIdentity): Promise<void> {
    await this.vault.put('identity', encodeRecord(encodeIdentity(identity)));
    this.identity = identity;
  }

  getPairingRecord(): Uint8Array | null {
    return this.pairing;
  }

  async setPairingRecord(record: Uint8Array | null): Promise<void> {
    if (record) await this.vault.put('pairing', record);
    else await this.vault.delete('pairing');
    this.pairing = record;
  }

  getKey(keyId: Uint8Array): KeyRecord | undefined {
    return this.keys.get(toHex(keyId));
  }

  listKeys(): KeyRecord[] {
    return [...this.keys.values()];
  }

  get keyCount(): number {
    return this.keys.size;
  }

  async putKey(record: KeyRecord): Promise<void> {
    const hex = toHex(record.keyId);
    await this.vault.put(`k.${hex}`, encodeRecord(encodeKey(record)));
    this.keys.set(hex, record);
  }

  async takeTicket(ticketId: Uint8Array): Promise<TicketRecord | null> {
    const ticket = this.tickets.get(toHex(ticketId));
    if (!ticket) return null;
    const keyHex = toHex(ticket.keyId);
    // Out of memory BEFORE the await: two links presenting copies of one ticket at once must
    // not both take it while the durable delete is in flight. A failed delete throws, and the
    // ticket stays gone from memory (the phone falls back to the full path; nothing is reused).
    this.dropTicketOf(keyHex);
    await this.vault.delete(`t.${keyHex}`);
    return ticket;
  }

  async putTicket(ticket: TicketRecord): Promise<void> {
    const keyHex = toHex(ticket.keyId);
    if (!this.keys.has(keyHex)) return;
    await this.vault.put(`t.${keyHex}`, encodeRecord(encodeTicket(ticket)));
    this.dropTicketOf(keyHex);
    this.cacheTicket(ticket);
  }

  get ticketCount(): number {
    return this.tickets.size;
  }

  isGrantRevoked(grantId: Uint8Array): boolean {
    return this.revokedGrants.has(toHex(grantId));
  }

  getRevokedKey(keyId: Uint8Array): RevokedKey | undefined {
    return this.revokedKeys.get(toHex(keyId));
  }

  get revokedCount(): number {
    return this.revokedGrants.size + this.revokedKeys.size;
  }

  async revoke(change: RevocationChange): Promise<void> {
    const entries: Array<[string, Uint8Array | null]> = [];
    const seen = new Set<string>();
    const add = (name: string, value: Uint8Array | null) => {
      if (seen.has(name)) return;
      seen.add(name);
      entries.push([name, value]);
    };
    for (const k of change.keys) {
      const hex = toHex(k.keyId);
      add(`k.${hex}`, null);
      add(`t.${hex}`, null);
      add(`r.${hex}`, null);
      add(`x.${hex}`, encodeRecord({ keyId: hex, keepUntil: k.keepUntil, revokedAt: k.revokedAt }));
    }
    for (const g of change.grants) add(`g.${toHex(g.grantId)}`, encodeRecord({ grantId: toHex(g.grantId), keepUntil: g.keepUntil }));
    if (entries.length === 0) return;
    await this.vault.putMany(entries);
    for (const k of change.keys) {
      const hex = toHex(k.keyId);
      this.keys.delete(hex);
      this.dropTicketOf(hex);
      this.requests.delete(hex);
      this.revokedKeys.set(hex, { keyId: k.keyId, keepUntil: k.keepUntil, revokedAt: k.revokedAt });
    }
    for (const g of change.grants) this.revokedGrants.set(toHex(g.grantId), g);
  }

  async pruneRevocations(beforeMs: number): Promise<number> {
    const grants = [...this.revokedGrants.values()].filter((r) => r.keepUntil < beforeMs);
    const keys = [...this.revokedKeys.values()].filter((r) => r.keepUntil < beforeMs);
    if (grants.length + keys.length === 0) return 0;
    await this.vault.putMany([...grants.map((r): [string, null] => [`g.${toHex(r.grantId)}`, null]), ...keys.map((r): [string, null] => [`x.${toHex(r.keyId)}`, null])]);
    for (const r of grants) this.revokedGrants.delete(toHex(r.grantId));
    for (const r of keys) this.revokedKeys.delete(toHex(r.keyId));
    return grants.length + keys.length;
  }

  get timeFloor(): number {
    return this.floor;
  }

  async raiseTimeFloor(ms: number): Promise<void> {
    if (!(ms > this.floor)) return;
    await this.vault.put(FLOOR_NAME, encodeRecord({ floor: ms }));
    this.floor = Math.max(this.floor, ms);
  }

  async resetTimeFloor(ms: number): Promise<void> {
    await this.vault.put(FLOOR_NAME, encodeRecord({ floor: ms }));
    this.floor = ms;
  }

  getRequest(keyId: Uint8Array, requestId: Uint8Array): RequestRecord | undefined {
    const id = toHex(requestId);
    return this.requests.get(toHex(keyId))?.find((r) => toHex(r.requestId) === id);
  }

  async putRequest(record: RequestRecord): Promise<void> {
    const keyHex = toHex(record.keyId);
    if (!this.keys.has(keyHex)) return;
    const id = toHex(record.requestId);
    const list = (this.requests.get(keyHex) ?? []).filter((r) => toHex(r.requestId) !== id);
    list.push(record);
    const kept = trimRequests(list);
    await this.vault.put(`r.${keyHex}`, encodeRecord({ requests: kept.map(encodeRequest) }));
    this.requests.set(keyHex, kept);
  }

  async appendAudit(event: AuditEvent): Promise<void> {
    await this.vault.appendLog(AUDIT_LOG, encodeRecord(event as unknown as Json));
  }

  async readAudit(query: AuditQuery | number = {}): Promise<AuditEvent[]> {
    const q = typeof query === 'number' ? { limit: query } : query;
    const records = (await this.vault.readLog(AUDIT_LOG)).map((r) => parseRecord(r, 'vehicle', 'audit', (j) => j as unknown as AuditEvent));
    return records.filter((e) => matchesAudit(e, q)).slice(-(q.limit ?? 1000));
  }

  /** Every write of this store is durable when it resolves: nothing to wait for. */
  sync(): Promise<void> {
    return this.closed ? Promise.reject(new StoreError('STORE_CLOSED', 'vehicle store is closed')) : Promise.resolve();
  }

  async wipeAll(): Promise<void> {
    const names = await this.vault.list();
    await this.vault.putMany(names.map((n) => [n, null]));
    for (const m of [this.keys, this.tickets, this.ticketByKey, this.revokedGrants, this.revokedKeys, this.requests]) m.clear();
    this.identity = null;
    this.pairing = null;
    // The floor survives a reset in memory only until the next write: a reset car keeps its sense of time.
    if (this.floor > 0) await this.vault.put(FLOOR_NAME, encodeRecord({ floor: this.floor }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.vault.close();
  }

  private async must(name: string): Promise<Uint8Array> {
    const v = await this.vault.get(name);
    if (!v) throw new StoreError('STORE_CORRUPT', `record ${name} vanished while loading`);
    return v;
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

/**
 * The request records to keep of a key's list (oldest first): the newest
 * REQUEST_MEMORY_PER_COMMAND of each command, then the newest REQUEST_MEMORY_PER_KEY overall.
 * Shared by store implementations so their eviction is identical.
 */
export function trimRequests(list: RequestRecord[]): RequestRecord[] {
  const perCommand = new Map<number, number>();
  const keep: RequestRecord[] = [];
  for (let i = list.length - 1; i >= 0 && keep.length < REQUEST_MEMORY_PER_KEY; i--) {
    const r = list[i]!;
    const n = perCommand.get(r.command) ?? 0;
    if (n >= REQUEST_MEMORY_PER_COMMAND) continue;
    perCommand.set(r.command, n + 1);
    keep.push(r);
  }
  return keep.reverse();
}

/** Whether an audit record matches a query's filters (shared by store implementations). */
export function matchesAudit(e: AuditEvent, q: AuditQuery): boolean {
  if (q.sinceMs !== undefined && e.timeMs < q.sinceMs) return false;
  if (q.keyId !== undefined && e.keyId !== q.keyId) return false;
  if (q.outcome !== undefined && e.outcome !== q.outcome) return false;
  return true;
}

/** Opens the typed vehicle store over a vault (memory or file) and loads it. */
export async function openVehicleStore(vault: Vault): Promise<VaultVehicleStore> {
  const store = new VaultVehicleStore(vault);
  await store.load();
  return store;
}

// Record layouts (JSON with hex byte strings, src/store/json-record.ts). Exported for other
// store implementations (SQLite keeps key records as the same JSON).

/** @internal */
export function encodeIdentity(i: StoredIdentity): Json {
  return { vehicleId: toHex(i.vehicleId), publicKey: toHex(i.publicKey), advertisingSecret: toHex(i.advertisingSecret), ticketSealPublicKey: toHex(i.ticketSealPublicKey) };
}
/** @internal */
export function decodeIdentity(j: Json): StoredIdentity {
  if (j.privateKey !== undefined) throw new Error('a 0.1 identity record holds the private key: re-provision (docs/STORAGE.md §Upgrading)');
  return { vehicleId: hexField(j, 'vehicleId'), publicKey: hexField(j, 'publicKey'), advertisingSecret: hexField(j, 'advertisingSecret'), ticketSealPublicKey: hexField(j, 'ticketSealPublicKey') };
}

/** @internal */
export function encodeKey(r: KeyRecord): Json {
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
/** @internal */
export function decodeKey(j: Json): KeyRecord {
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

/** @internal */
export function encodeTicket(t: TicketRecord): Json {
  return { ticketId: toHex(t.ticketId), keyId: toHex(t.keyId), sealedSecret: toHex(t.sealedSecret), expiresAt: t.expiresAt, renewalsLeft: t.renewalsLeft };
}
/** @internal */
export function decodeTicket(j: Json): TicketRecord {
  return { ticketId: hexField(j, 'ticketId'), keyId: hexField(j, 'keyId'), sealedSecret: hexField(j, 'sealedSecret'), expiresAt: num(j, 'expiresAt'), renewalsLeft: num(j, 'renewalsLeft') };
}

/** @internal */
export function encodeRequest(r: RequestRecord): Json {
  return { keyId: toHex(r.keyId), requestId: toHex(r.requestId), command: r.command, status: r.status, data: r.data && toHex(r.data), timeMs: r.timeMs };
}
/** @internal */
export function decodeRequest(j: Json): RequestRecord {
  const data = optHex(j, 'data');
  return { keyId: hexField(j, 'keyId'), requestId: hexField(j, 'requestId'), command: num(j, 'command'), status: num(j, 'status'), ...(data ? { data } : {}), timeMs: num(j, 'timeMs') };
}
function decodeRequests(j: Json): RequestRecord[] {
  if (!Array.isArray(j.requests)) throw new Error('requests');
  return j.requests.map((r) => decodeRequest(r as Json));
}
