/**
 * The vehicle store on SQLite (docs/STORAGE.md §SQLite): every record is a row, so a commit
 * writes what changed (a 180-byte ticket, not the whole state) and opening reads a few rows, not
 * the registry. Reads are synchronous indexed lookups; nothing is loaded wholesale.
 *
 * Durability: WAL with `synchronous=FULL`, so a transaction is on disk (WAL fsynced) before
 * COMMIT returns. Writes made while a commit is due share it (group commit, like a database
 * server's): each is its own savepoint, so one that fails undoes only itself. One protocol state
 * change (a used ticket, a revocation with its keys, tickets and request ids) is always inside
 * one transaction.
 *
 * Two kinds of write (the VehicleStore contract, docs/STORAGE.md §Deferred writes):
 * - immediate (keys, revocations, a request marked pending, identity, pairing, reset floor):
 *   resolves only after its commit;
 * - deferred (the ticket take, a ticket filed, a finished request, an audit record, a raised
 *   floor): applied at once (every read sees it), resolves at once, and becomes durable with the
 *   next immediate write, `sync()`, `close()` or `deferredCommitMs` later, whichever is first.
 *   The vehicle calls `sync()` before running anything a ticket authorised, so a fast-path unlock
 *   costs one fsync (take + pending request together) instead of five.
 *
 * Exclusive: `locking_mode=EXCLUSIVE` holds SQLite's own file lock from open to close, so a
 * second process (or a second open in this one) fails at once with STORE_LOCKED; the kernel
 * drops the lock when the holder dies, so a crash leaves no stale lock to judge.
 *
 * Node-only (node:fs through ./files.ts, drivers through ./driver.ts).
 */
import { StoreError, UsageError } from '../../errors.js';
import { toHex } from '../../crypto/bytes.js';
import {
  REQUEST_MEMORY_PER_KEY,
  REQUEST_MEMORY_PER_COMMAND,
  REQUEST_PENDING,
  decodeKey,
  encodeKey,
  type AuditEvent,
  type AuditQuery,
  type KeyRecord,
  type RequestRecord,
  type RevocationChange,
  type RevokedKey,
  type StoredIdentity,
  type TicketRecord,
  type VehicleStore,
} from '../../vehicle/store.js';
import { openSqliteDatabase, sqliteCode, type SqlRow, type SqlValue, type SqliteDatabase, type SqliteDriverChoice, type SqliteStatement } from './driver.js';
import { prepareLocation, resolveLocation } from './files.js';
import { MIGRATIONS, SQLITE_APPLICATION_ID, SQLITE_SCHEMA_VERSION, SQLITE_TABLES } from './schema.js';

/** Audit rows kept by default (oldest dropped first): about 20 MB of a busy car's history. */
export const SQLITE_AUDIT_DEFAULT_MAX_ROWS = 100_000;
/** Decoded key records kept in memory (the rest are read from SQLite when asked for). */
const KEY_CACHE_ENTRIES = 1024;
const DEFAULT_AUDIT_LIMIT = 1000;

/** Options of {@link openSqliteVehicleStore}. */
export interface SqliteStoreOptions {
  /** Driver: `auto` (default: better-sqlite3 if installed, else node:sqlite), a name, or an opener. */
  driver?: SqliteDriverChoice;
  /**
   * Lowest acceptable generation, e.g. a hardware monotonic counter's value (docs/STORAGE.md
   * §Rollback); a store with a lower generation is refused with STORE_ROLLBACK.
   */
  minGeneration?: number;
  /** Audit rows kept, newest first (default {@link SQLITE_AUDIT_DEFAULT_MAX_ROWS}). */
  auditMaxRows?: number;
  /**
   * When a pending group commit runs: `microtask` (default) commits once the current
   * synchronous work and its promise callbacks are done — deterministic under a virtual clock;
   * `macrotask` waits one event-loop turn (setImmediate), so writes from many connections
   * handled in the same turn share one fsync (higher throughput on a busy vehicle).
   */
  commitBatching?: 'microtask' | 'macrotask';
  /**
   * Longest a deferred write (see the class doc) waits for another commit to ride on, ms
   * (default {@link SQLITE_DEFERRED_COMMIT_MS}); 0 commits deferred writes like immediate ones.
   * A crash within this window may lose those writes, never tear a state.
   */
  deferredCommitMs?: number;
}

/** Default {@link SqliteStoreOptions.deferredCommitMs}: audit and tickets of a burst share one fsync. */
export const SQLITE_DEFERRED_COMMIT_MS = 10;

/** Highest generation seen per database file in this process: the in-process rollback guard. */
const highestGeneration = new Map<string, number>();

/** A {@link VehicleStore} on SQLite. Create with {@link openSqliteVehicleStore}. */
export class SqliteVehicleStore implements VehicleStore {
  private readonly s: Statements;
  private readonly keyCache = new Map<string, KeyRecord>();
  private readonly auditQueries = new Map<string, SqliteStatement>();
  private identity: StoredIdentity | null = null;
  private pairing: Uint8Array | null = null;
  private floor = 0;
  private gen = 0;
  private keys = 0;
  private tickets = 0;
  private revoked = 0;
  private batchOpen = false;
  /** A flush is queued (microtask or immediate): an immediate write or sync() waits for it. */
  private flushQueued = false;
  /** The deferred-write backstop timer, while deferred writes wait for a commit. */
  private backstop: ReturnType<typeof setTimeout> | undefined;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private closed = false;
  private poisoned: StoreError | null = null;

  /** @internal use openSqliteVehicleStore */
  constructor(
    private readonly db: SqliteDatabase,
    /** Absolute path of the database file. */
    readonly file: string,
    /** Which driver opened it (`better-sqlite3`, `node:sqlite` or `custom`). */
    readonly driver: string,
    private readonly realFile: string,
    private readonly options: Required<Pick<SqliteStoreOptions, 'auditMaxRows' | 'commitBatching' | 'deferredCommitMs'>>,
  ) {
    this.s = prepareStatements(db);
  }

  /** Generation of the last commit: +1 per commit; feed it to a hardware monotonic counter. */
  get generation(): number {
    return this.gen;
  }

  /** @internal Reads the small rows kept in memory and applies the rollback guard. */
  load(minGeneration: number): void {
    const meta = decodeRow(this.file, 'meta', () => new Map(this.s.meta.all().map((r) => [text(r as SqlRow, 'name'), int(r as SqlRow, 'value')])));
    const gen = meta.get('generation');
    const floor = meta.get('time_floor');
    if (gen === undefined || floor === undefined) throw corrupt(this.file, 'meta rows missing');
    const seen = Math.max(minGeneration, highestGeneration.get(this.realFile) ?? 0);
    if (gen < seen) throw new StoreError('STORE_ROLLBACK', `store ${this.file} is at generation ${gen}, older than generation ${seen} already seen: refusing a rolled-back store`);
    this.gen = gen;
    highestGeneration.set(this.realFile, gen);
    this.floor = floor;
    const id = this.s.getIdentity.get() as SqlRow | undefined;
    this.identity = id ? decodeIdentityRow(id, this.file) : null;
    const pairing = this.s.getPairing.get() as SqlRow | undefined;
    this.pairing = pairing ? decodeRow(this.file, 'pairing', () => blob(pairing, 'record')) : null;
    this.keys = count(this.s.countKeys);
    this.tickets = count(this.s.countTickets);
    this.revoked = count(this.s.countRevokedGrants) + count(this.s.countRevokedKeys);
  }

  getIdentity(): StoredIdentity | null {
    this.usable();
    return this.identity;
  }

  setIdentity(identity: StoredIdentity): Promise<void> {
    return this.write(() => {
      this.s.putIdentity.run(identity.vehicleId, identity.publicKey, identity.advertisingSecret, identity.ticketSealPublicKey);
      this.identity = identity;
    });
  }

  getPairingRecord(): Uint8Array | null {
    this.usable();
    return this.pairing;
  }

  setPairingRecord(record: Uint8Array | null): Promise<void> {
    return this.write(() => {
      if (record) this.s.putPairing.run(record);
      else this.s.deletePairing.run();
      this.pairing = record;
    });
  }

  getKey(keyId: Uint8Array): KeyRecord | undefined {
    this.usable();
    const hex = toHex(keyId);
    const cached = this.keyCache.get(hex);
    if (cached) return cached;
    const row = this.read(() => this.s.getKey.get(keyId)) as SqlRow | undefined;
    if (!row) return undefined;
    const key = decodeKeyRow(row, this.file);
    this.cacheKey(hex, key);
    return key;
  }

  listKeys(): KeyRecord[] {
    this.usable();
    return (this.read(() => this.s.listKeys.all()) as SqlRow[]).map((r) => decodeKeyRow(r, this.file));
  }

  get keyCount(): number {
    return this.keys;
  }

  putKey(record: KeyRecord): Promise<void> {
    return this.write(() => {
      const exists = this.s.hasKey.get(record.keyId) !== undefined;
      this.s.putKey.run(record.keyId, JSON.stringify(encodeKey(record)));
      if (!exists) this.keys++;
      this.cacheKey(toHex(record.keyId), record);
    });
  }

  /**
   * Removes and returns the ticket at once (a second take of a copy gets null): deferred, so it
   * shares the commit of the pending request that follows it; `sync()` makes it durable.
   */
  async takeTicket(ticketId: Uint8Array): Promise<TicketRecord | null> {
    this.usable();
    const row = this.read(() => this.s.getTicket.get(ticketId)) as SqlRow | undefined;
    if (!row) return null;
    const ticket = decodeTicketRow(row, this.file);
    await this.deferred(() => {
      this.tickets -= changes(this.s.deleteTicketOf.run(ticket.keyId));
    });
    return ticket;
  }

  /** Files a key's next ticket (deferred: a lost ticket only costs the phone one full handshake). */
  putTicket(ticket: TicketRecord): Promise<void> {
    return this.deferred(() => {
      // A key revoked meanwhile (its handler was running) gets nothing filed behind it.
      if (this.s.hasKey.get(ticket.keyId) === undefined) return;
      const dropped = changes(this.s.deleteTicketOf.run(ticket.keyId)) + changes(this.s.deleteTicketById.run(ticket.ticketId));
      this.s.putTicket.run(ticket.keyId, ticket.ticketId, ticket.sealedSecret, ticket.expiresAt, ticket.renewalsLeft);
      this.tickets += 1 - dropped;
    });
  }

  get ticketCount(): number {
    return this.tickets;
  }

  isGrantRevoked(grantId: Uint8Array): boolean {
    this.usable();
    return this.read(() => this.s.isGrantRevoked.get(grantId)) !== undefined;
  }

  getRevokedKey(keyId: Uint8Array): RevokedKey | undefined {
    this.usable();
    const row = this.read(() => this.s.getRevokedKey.get(keyId)) as SqlRow | undefined;
    return row ? { keyId: Uint8Array.from(row.key_id as Uint8Array), keepUntil: int(row, 'keep_until'), revokedAt: int(row, 'revoked_at') } : undefined;
  }

  get revokedCount(): number {
    return this.revoked;
  }

  async revoke(change: RevocationChange): Promise<void> {
    if (change.keys.length + change.grants.length === 0) return;
    await this.write(() => {
      let keys = 0;
      let tickets = 0;
      let revoked = 0;
      for (const k of change.keys) {
        keys += changes(this.s.deleteKey.run(k.keyId));
        tickets += changes(this.s.deleteTicketOf.run(k.keyId));
        this.s.deleteRequestsOf.run(k.keyId);
        if (this.s.isKeyRevoked.get(k.keyId) === undefined) revoked++;
        this.s.putRevokedKey.run(k.keyId, k.keepUntil, k.revokedAt);
      }
      for (const g of change.grants) {
        if (this.s.isGrantRevoked.get(g.grantId) === undefined) revoked++;
        this.s.putRevokedGrant.run(g.grantId, g.keepUntil);
      }
      this.keys -= keys;
      this.tickets -= tickets;
      this.revoked += revoked;
      for (const k of change.keys) this.keyCache.delete(toHex(k.keyId));
    });
  }

  async pruneRevocations(beforeMs: number): Promise<number> {
    this.usable();
    // Indexed probe first: the vehicle calls this on every floor step and usually finds nothing.
    const due = this.read(() => this.s.anyRevocationBefore.get(beforeMs, beforeMs)) as SqlRow | undefined;
    if (!due || int(due, 'due') === 0) return 0;
    return this.write(() => {
      const n = changes(this.s.pruneGrants.run(beforeMs)) + changes(this.s.pruneKeys.run(beforeMs));
      this.revoked -= n;
      return n;
    });
  }

  get timeFloor(): number {
    return this.floor;
  }

  async resetTimeFloor(ms: number): Promise<void> {
    this.usable();
    await this.write(() => {
      this.s.setMeta.run(ms, 'time_floor');
      this.floor = ms;
    });
  }

  /** Raises the floor (deferred: a lost raise leaves the previous floor, which still holds). */
  async raiseTimeFloor(ms: number): Promise<void> {
    this.usable();
    if (!(ms > this.floor)) return;
    await this.deferred(() => {
      this.s.setMeta.run(ms, 'time_floor');
      this.floor = Math.max(this.floor, ms);
    });
  }

  getRequest(keyId: Uint8Array, requestId: Uint8Array): RequestRecord | undefined {
    this.usable();
    const row = this.read(() => this.s.getRequest.get(keyId, requestId)) as SqlRow | undefined;
    return row ? decodeRequestRow(row, this.file) : undefined;
  }

  /**
   * Remembers a request: a pending mark is immediate (it must be on disk before the handler
   * runs); a finished outcome is deferred (if lost, a retry hears "may have succeeded").
   */
  putRequest(record: RequestRecord): Promise<void> {
    const write = record.status === REQUEST_PENDING ? this.write.bind(this) : this.deferred.bind(this);
    return write(() => {
      if (this.s.hasKey.get(record.keyId) === undefined) return;
      // Delete then insert: an updated request becomes the newest, as in the vault store.
      this.s.deleteRequest.run(record.keyId, record.requestId);
      this.s.putRequest.run(record.keyId, record.requestId, record.command, record.status, record.data ?? null, record.timeMs);
      this.s.trimRequestsOfCommand.run(record.keyId, record.command, record.keyId, record.command, REQUEST_MEMORY_PER_COMMAND);
      this.s.trimRequests.run(record.keyId, record.keyId, REQUEST_MEMORY_PER_KEY);
    });
  }

  /** Appends an audit record (deferred: durable with the next commit, at most deferredCommitMs later). */
  appendAudit(event: AuditEvent): Promise<void> {
    return this.deferred(() => {
      this.s.putAudit.run(event.timeMs, event.keyId ?? null, event.outcome, JSON.stringify(event));
      this.s.trimAudit.run(this.options.auditMaxRows);
    });
  }

  async readAudit(query: AuditQuery | number = {}): Promise<AuditEvent[]> {
    this.usable();
    const q = typeof query === 'number' ? { limit: query } : query;
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.sinceMs !== undefined) (where.push('time_ms >= ?'), params.push(q.sinceMs));
    if (q.keyId !== undefined) (where.push('key_id = ?'), params.push(q.keyId));
    if (q.outcome !== undefined) (where.push('outcome = ?'), params.push(q.outcome));
    const sql = `SELECT record FROM audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    let stmt = this.auditQueries.get(sql);
    if (!stmt) this.auditQueries.set(sql, (stmt = this.read(() => this.db.prepare(sql))));
    const rows = this.read(() => stmt.all(...params, q.limit ?? DEFAULT_AUDIT_LIMIT)) as SqlRow[];
    return rows.reverse().map((r) => decodeAuditRow(r, this.file));
  }

  wipeAll(): Promise<void> {
    // The time floor and the generation survive a reset: a reset car keeps its sense of time,
    // and the rollback guard never goes back.
    return this.write(() => {
      this.db.exec(SQLITE_TABLES.filter((t) => t !== 'meta').map((t) => `DELETE FROM ${t};`).join('\n'));
      this.identity = null;
      this.pairing = null;
      this.keys = this.tickets = this.revoked = 0;
      this.keyCache.clear();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      this.db.close();
    } catch {
      // Closing releases the lock even when it reports an error; nothing is left to save.
    }
  }

  /** Makes every write made so far durable: resolves after the commit that holds them. */
  sync(): Promise<void> {
    try {
      this.usable();
    } catch (e) {
      return Promise.reject(e);
    }
    if (!this.batchOpen) return Promise.resolve();
    this.queueFlush();
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Runs `apply` as one savepoint of the pending group commit; resolves once it is durable. */
  private write<T>(apply: () => T): Promise<T> {
    return this.staged(apply, (result) => {
      this.queueFlush();
      return new Promise<T>((resolve, reject) => this.waiters.push({ resolve: () => resolve(result), reject }));
    });
  }

  /** Runs `apply` as one savepoint of the pending group; resolves at once (see the class doc). */
  private deferred<T>(apply: () => T): Promise<T> {
    return this.staged(apply, (result) => {
      if (this.options.deferredCommitMs === 0) this.queueFlush();
      else if (!this.flushQueued && this.backstop === undefined) {
        this.backstop = setTimeout(() => this.flush(), this.options.deferredCommitMs);
        // A Node process with nothing else to do may exit: close() commits what is left.
        (this.backstop as { unref?: () => void }).unref?.();
      }
      return Promise.resolve(result);
    });
  }

  /** Applies `apply` and hands its result to `then`; a failure is a typed rejection, never a throw. */
  private staged<T>(apply: () => T, then: (result: T) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = this.apply(apply);
    } catch (e) {
      return Promise.reject(this.typed(e, 'writing'));
    }
    return then(result);
  }

  /** Applies one write as a savepoint of the open group (opening it if needed). */
  private apply<T>(apply: () => T): T {
    this.usable();
    if (!this.batchOpen) {
      this.s.begin.run();
      this.batchOpen = true;
    }
    this.s.savepoint.run();
    try {
      const result = apply();
      this.s.releaseSavepoint.run();
      return result;
    } catch (e) {
      this.s.rollbackToSavepoint.run();
      this.s.releaseSavepoint.run();
      throw e;
    }
  }

  /** Queues the group's commit (once) for the end of this microtask run or event-loop turn. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    if (this.options.commitBatching === 'macrotask') setImmediate(() => this.flush());
    else queueMicrotask(() => this.flush());
  }

  /** Commits the pending group: one fsync, then every write in it resolves. */
  private flush(): void {
    this.flushQueued = false;
    if (this.backstop !== undefined) clearTimeout(this.backstop);
    this.backstop = undefined;
    if (!this.batchOpen) return;
    const waiters = this.waiters;
    this.waiters = [];
    this.batchOpen = false;
    try {
      this.s.bumpGeneration.run();
      this.s.commit.run();
    } catch (e) {
      // The WAL may or may not hold the commit: poison until reopened, as the file vault does.
      this.poisoned = new StoreError('STORE_IO', `commit failed for ${this.file} (${sqliteCode(e) ?? 'error'}); close and reopen the store`, { cause: e, mayHaveSucceeded: true });
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // Already rolled back by SQLite.
      }
      for (const w of waiters) w.reject(this.poisoned);
      return;
    }
    this.gen++;
    highestGeneration.set(this.realFile, this.gen);
    for (const w of waiters) w.resolve();
  }

  private read<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      throw this.typed(e, 'reading');
    }
  }

  private usable(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'vehicle store is closed');
    if (this.poisoned) throw this.poisoned;
  }

  private typed(e: unknown, op: string): unknown {
    return e instanceof StoreError || e instanceof UsageError ? e : sqliteError(e, op, this.file);
  }

  private cacheKey(hex: string, key: KeyRecord): void {
    this.keyCache.delete(hex);
    this.keyCache.set(hex, key);
    if (this.keyCache.size > KEY_CACHE_ENTRIES) this.keyCache.delete(this.keyCache.keys().next().value!);
  }
}

/** Every statement the store runs, compiled once at open. */
function prepareStatements(db: SqliteDatabase) {
  const p = (sql: string) => db.prepare(sql);
  return {
    begin: p('BEGIN IMMEDIATE'),
    commit: p('COMMIT'),
    savepoint: p('SAVEPOINT op'),
    releaseSavepoint: p('RELEASE op'),
    rollbackToSavepoint: p('ROLLBACK TO op'),
    bumpGeneration: p("UPDATE meta SET value = value + 1 WHERE name = 'generation'"),
    meta: p('SELECT name, value FROM meta'),
    setMeta: p('UPDATE meta SET value = ? WHERE name = ?'),
    getIdentity: p('SELECT vehicle_id, public_key, advertising_secret, ticket_seal_public_key FROM identity WHERE id = 1'),
    putIdentity: p('INSERT OR REPLACE INTO identity (id, vehicle_id, public_key, advertising_secret, ticket_seal_public_key) VALUES (1, ?, ?, ?, ?)'),
    getPairing: p('SELECT record FROM pairing WHERE id = 1'),
    putPairing: p('INSERT OR REPLACE INTO pairing (id, record) VALUES (1, ?)'),
    deletePairing: p('DELETE FROM pairing'),
    getKey: p('SELECT record FROM keys WHERE key_id = ?'),
    hasKey: p('SELECT 1 AS x FROM keys WHERE key_id = ?'),
    listKeys: p('SELECT record FROM keys ORDER BY key_id'),
    putKey: p('INSERT OR REPLACE INTO keys (key_id, record) VALUES (?, ?)'),
    deleteKey: p('DELETE FROM keys WHERE key_id = ?'),
    countKeys: p('SELECT count(*) AS n FROM keys'),
    getTicket: p('SELECT key_id, ticket_id, sealed_secret, expires_at, renewals_left FROM tickets WHERE ticket_id = ?'),
    putTicket: p('INSERT INTO tickets (key_id, ticket_id, sealed_secret, expires_at, renewals_left) VALUES (?, ?, ?, ?, ?)'),
    deleteTicketOf: p('DELETE FROM tickets WHERE key_id = ?'),
    deleteTicketById: p('DELETE FROM tickets WHERE ticket_id = ?'),
    countTickets: p('SELECT count(*) AS n FROM tickets'),
    isGrantRevoked: p('SELECT 1 AS x FROM revoked_grants WHERE grant_id = ?'),
    isKeyRevoked: p('SELECT 1 AS x FROM revoked_keys WHERE key_id = ?'),
    putRevokedGrant: p('INSERT OR REPLACE INTO revoked_grants (grant_id, keep_until) VALUES (?, ?)'),
    putRevokedKey: p('INSERT OR REPLACE INTO revoked_keys (key_id, keep_until, revoked_at) VALUES (?, ?, ?)'),
    getRevokedKey: p('SELECT key_id, keep_until, revoked_at FROM revoked_keys WHERE key_id = ?'),
    countRevokedGrants: p('SELECT count(*) AS n FROM revoked_grants'),
    countRevokedKeys: p('SELECT count(*) AS n FROM revoked_keys'),
    anyRevocationBefore: p('SELECT EXISTS (SELECT 1 FROM revoked_grants WHERE keep_until < ?) OR EXISTS (SELECT 1 FROM revoked_keys WHERE keep_until < ?) AS due'),
    pruneGrants: p('DELETE FROM revoked_grants WHERE keep_until < ?'),
    pruneKeys: p('DELETE FROM revoked_keys WHERE keep_until < ?'),
    getRequest: p('SELECT key_id, request_id, command, status, data, time_ms FROM requests WHERE key_id = ? AND request_id = ?'),
    deleteRequest: p('DELETE FROM requests WHERE key_id = ? AND request_id = ?'),
    putRequest: p('INSERT INTO requests (key_id, request_id, command, status, data, time_ms) VALUES (?, ?, ?, ?, ?, ?)'),
    trimRequestsOfCommand: p('DELETE FROM requests WHERE key_id = ? AND command = ? AND seq NOT IN (SELECT seq FROM requests WHERE key_id = ? AND command = ? ORDER BY seq DESC LIMIT ?)'),
    trimRequests: p('DELETE FROM requests WHERE key_id = ? AND seq NOT IN (SELECT seq FROM requests WHERE key_id = ? ORDER BY seq DESC LIMIT ?)'),
    deleteRequestsOf: p('DELETE FROM requests WHERE key_id = ?'),
    putAudit: p('INSERT INTO audit (time_ms, key_id, outcome, record) VALUES (?, ?, ?, ?)'),
    trimAudit: p('DELETE FROM audit WHERE seq <= (SELECT max(seq) FROM audit) - ?'),
  };
}
type Statements = ReturnType<typeof prepareStatements>;

/**
 * Opens (creating if needed) the SQLite vehicle store at `location`: a directory (the database
 * is `vehicle.db` in it) or a file path ending in `.db`, `.sqlite` or `.sqlite3`. Fails with
 * StoreError: `STORE_LOCKED` (another process or handle has it open), `STORE_CORRUPT` (the quick
 * integrity check, the schema or a row fails; never auto-repaired), `STORE_VERSION` (written by
 * a newer library), `STORE_ROLLBACK`, `STORE_INSECURE` (directory open to group or others),
 * `STORE_UNAVAILABLE` (no driver: the message says what to install).
 */
export async function openSqliteVehicleStore(location: string, options: SqliteStoreOptions = {}): Promise<SqliteVehicleStore> {
  const auditMaxRows = options.auditMaxRows ?? SQLITE_AUDIT_DEFAULT_MAX_ROWS;
  if (!Number.isSafeInteger(auditMaxRows) || auditMaxRows < 1) throw new UsageError('STORE_BAD_OPTION', '"auditMaxRows" must be a positive integer');
  const deferredCommitMs = options.deferredCommitMs ?? SQLITE_DEFERRED_COMMIT_MS;
  if (!Number.isSafeInteger(deferredCommitMs) || deferredCommitMs < 0 || deferredCommitMs > 60_000) throw new UsageError('STORE_BAD_OPTION', '"deferredCommitMs" must be an integer from 0 to 60000');
  const minGeneration = options.minGeneration ?? 0;
  if (!Number.isSafeInteger(minGeneration) || minGeneration < 0) throw new UsageError('STORE_BAD_OPTION', '"minGeneration" must be a non-negative integer');
  const loc = resolveLocation(location);
  const realFile = prepareLocation(loc);
  let opened: { db: SqliteDatabase; driver: string } | undefined;
  try {
    opened = openSqliteDatabase(loc.file, options.driver);
    const { db } = opened;
    configure(db, loc.file);
    const store = new SqliteVehicleStore(db, loc.file, opened.driver, realFile, { auditMaxRows, commitBatching: options.commitBatching ?? 'microtask', deferredCommitMs });
    store.load(minGeneration);
    return store;
  } catch (e) {
    try {
      opened?.db.close();
    } catch {
      // The open failed; closing is best effort.
    }
    throw e instanceof StoreError || e instanceof UsageError ? e : sqliteError(e, 'opening', loc.file);
  }
}

/** Durability and exclusivity settings, the lock, the integrity check and migrations. */
function configure(db: SqliteDatabase, file: string): void {
  // EXCLUSIVE before WAL: the WAL index then lives in this process's memory (no -shm file) and
  // the lock taken by the first transaction below is held until close.
  db.exec('PRAGMA locking_mode = EXCLUSIVE');
  const mode = db.prepare('PRAGMA journal_mode = WAL').get() as SqlRow | undefined;
  if (mode?.journal_mode !== 'wal') throw new StoreError('STORE_IO', `${file}: SQLite refused WAL mode (${String(mode?.journal_mode)})`);
  db.exec('PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF; PRAGMA trusted_schema = OFF; PRAGMA cell_size_check = ON');
  db.exec('BEGIN EXCLUSIVE'); // takes the lock now: STORE_LOCKED here, not on the first write
  try {
    const check = db.prepare('PRAGMA quick_check').all() as SqlRow[];
    if (check.length !== 1 || check[0]!.quick_check !== 'ok') throw corrupt(file, `quick_check: ${check.map((r) => String(r.quick_check)).slice(0, 3).join('; ')}`);
    migrate(db, file);
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}

/** Brings a new file to the current schema, checks an existing one is ours and not newer. */
function migrate(db: SqliteDatabase, file: string): void {
  const version = int(db.prepare('PRAGMA user_version').get() as SqlRow, 'user_version');
  const appId = int(db.prepare('PRAGMA application_id').get() as SqlRow, 'application_id');
  const objects = int(db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as SqlRow, 'n');
  if (appId !== SQLITE_APPLICATION_ID && !(appId === 0 && version === 0 && objects === 0)) {
    throw corrupt(file, 'not a ble-digital-key store (application_id differs)');
  }
  if (version > SQLITE_SCHEMA_VERSION) throw new StoreError('STORE_VERSION', `store ${file} has schema version ${version}; this library reads up to ${SQLITE_SCHEMA_VERSION}`);
  for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) {
    db.exec(MIGRATIONS[v]!);
    db.exec(`PRAGMA user_version = ${v + 1}; PRAGMA application_id = ${SQLITE_APPLICATION_ID}; UPDATE meta SET value = ${v + 1} WHERE name = 'schema'`);
  }
  const tables = new Set((db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as SqlRow[]).map((r) => r.name));
  const missing = SQLITE_TABLES.filter((t) => !tables.has(t));
  if (missing.length > 0) throw corrupt(file, `tables missing: ${missing.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Errors and row decoding: anything unexpected in a row is STORE_CORRUPT, never a default.
// ---------------------------------------------------------------------------------------------

function corrupt(file: string, what: string, cause?: unknown): StoreError {
  return new StoreError('STORE_CORRUPT', `store ${file} is corrupt: ${what}; refusing to use it (restore it or remove the store deliberately)`, { cause });
}

/** Maps a driver error to a StoreError by its SQLite result code. */
function sqliteError(e: unknown, op: string, file: string): StoreError {
  const code = sqliteCode(e);
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
      return new StoreError('STORE_LOCKED', `store ${file} is open in another process or handle (SQLite: ${message}); only one may hold it`, { cause: e, retryable: true });
    case 'SQLITE_CORRUPT':
    case 'SQLITE_NOTADB':
      return corrupt(file, message, e);
    case 'SQLITE_FULL':
      return new StoreError('STORE_FULL', `store ${file}: disk full while ${op}`, { cause: e });
    default:
      return new StoreError('STORE_IO', `store ${file}: ${op} failed (${code ?? 'error'}: ${message})`, { cause: e, retryable: op === 'reading' });
  }
}

function col(row: SqlRow, name: string): SqlValue {
  const v = row[name];
  if (v === undefined) throw new Error(`column ${name} missing`);
  return v;
}
function blob(row: SqlRow, name: string): Uint8Array {
  const v = col(row, name);
  if (!(v instanceof Uint8Array)) throw new Error(`column ${name} is not a blob`);
  return new Uint8Array(v); // a plain copy (better-sqlite3 returns Buffers)
}
function int(row: SqlRow, name: string): number {
  const v = col(row, name);
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`column ${name} is not a number`);
  return n;
}
function text(row: SqlRow, name: string): string {
  const v = col(row, name);
  if (typeof v !== 'string') throw new Error(`column ${name} is not text`);
  return v;
}
function count(stmt: SqliteStatement): number {
  return int(stmt.get() as SqlRow, 'n');
}
function changes(r: { changes: number | bigint }): number {
  return Number(r.changes);
}

/** Decodes a row with `build`; any failure is STORE_CORRUPT naming the table. */
function decodeRow<T>(file: string, table: string, build: () => T): T {
  try {
    return build();
  } catch (cause) {
    throw corrupt(file, `a ${table} row is unreadable`, cause);
  }
}

function decodeIdentityRow(r: SqlRow, file: string): StoredIdentity {
  return decodeRow(file, 'identity', () => ({
    vehicleId: blob(r, 'vehicle_id'),
    publicKey: blob(r, 'public_key'),
    advertisingSecret: blob(r, 'advertising_secret'),
    ticketSealPublicKey: blob(r, 'ticket_seal_public_key'),
  }));
}
function decodeKeyRow(r: SqlRow, file: string): KeyRecord {
  return decodeRow(file, 'keys', () => {
    const json = JSON.parse(text(r, 'record')) as unknown;
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
    return decodeKey(json as Record<string, unknown>);
  });
}
function decodeTicketRow(r: SqlRow, file: string): TicketRecord {
  return decodeRow(file, 'tickets', () => ({
    ticketId: blob(r, 'ticket_id'),
    keyId: blob(r, 'key_id'),
    sealedSecret: blob(r, 'sealed_secret'),
    expiresAt: int(r, 'expires_at'),
    renewalsLeft: int(r, 'renewals_left'),
  }));
}
function decodeRequestRow(r: SqlRow, file: string): RequestRecord {
  return decodeRow(file, 'requests', () => {
    const data = r.data === null ? undefined : blob(r, 'data');
    return { keyId: blob(r, 'key_id'), requestId: blob(r, 'request_id'), command: int(r, 'command'), status: int(r, 'status'), ...(data ? { data } : {}), timeMs: int(r, 'time_ms') };
  });
}
function decodeAuditRow(r: SqlRow, file: string): AuditEvent {
  return decodeRow(file, 'audit', () => {
    const e = JSON.parse(text(r, 'record')) as AuditEvent;
    if (typeof e !== 'object' || e === null || typeof e.timeMs !== 'number' || typeof e.outcome !== 'string') throw new Error('not an audit event');
    return e;
  });
}
