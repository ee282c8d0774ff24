/**
 * The vehicle role: serves phone links, authenticates phones offline, enforces policy, runs
 * command handlers and records every attempt for audit (docs/PROTOCOL.md §5–§9).
 *
 * Nothing thrown by a peer's bytes escapes `serve`: every failure becomes one generic clear
 * status for the phone, no action, and an audit record with the internal reason.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { equalBytes, toHex } from '../crypto/bytes.js';
import { createSoftwareKeyAgreement, type VehicleKeyAgreement } from '../crypto/key-agreement.js';
import { UsageError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import { systemClock } from '../transport/clock.js';
import type { Link } from '../transport/link.js';
import { COMMAND, DEFAULT_MAX_TICKET_RENEWALS } from '../protocol/constants.js';
import { keyIdOf } from '../protocol/keyschedule.js';
import { createChallenge, prepareChallenge, type PreparedChallenge, type VehicleHandshake, type VehicleIdentity } from '../protocol/vehicle-handshake.js';
import { Connection, type LinkInfo } from './connection.js';
import { DEFAULT_POLICIES, type CommandPolicy } from './policy.js';
import type { CommandHandler } from './run-handler.js';
import { PairingWindows, type PairingWindowOptions } from './pairing.js';
import { Mutex } from './mutex.js';
import { setSuspendedLocked } from './management.js';
import { Admission } from './admission.js';
import { AuditLimiter } from './audit-limiter.js';
import { deriveAdvertisingKey, deriveTicketSealKey, newStoredIdentity } from './identity.js';
import { wipe } from '../crypto/provider.js';
import type { AuditEvent, AuditQuery, KeyRecord, RevokedGrant, RevokedKey, StoredIdentity, VehicleStore } from './store.js';

/** Vehicle configuration. Every timing is on the injected clock. */
export interface VehicleOptions {
  crypto: CryptoProvider;
  store: VehicleStore;
  /**
   * The identity key's handle (TPM, HSM, secure element, or openSoftwareKeyAgreement over a
   * vault kept apart from the store). Required once the store holds an identity; when omitted
   * on a store without one, a software key is made in memory only (tests: it is lost on exit).
   */
  identityKey?: VehicleKeyAgreement;
  clock?: Clock;
  /** Handlers by command id: built-ins (COMMAND.unlock…) and app-defined ids ≥ 128. */
  handlers?: Record<number, CommandHandler>;
  /** Policies by command id, merged over DEFAULT_POLICIES (start: full path, user presence, relay bound). */
  policies?: Record<number, CommandPolicy>;
  /** Arrived Auths processed at once (ECDH, signatures); more are answered BUSY. Default 3. */
  maxConcurrentHandshakes?: number;
  /**
   * Challenged links awaiting their first Auth; when full, the oldest is dropped to admit the
   * newest, so silent links cannot lock the owner out. Default 256 (bounds memory per flood).
   */
  maxPendingHandshakes?: number;
  /** Time allowed from the challenge to the Auth (or PairStart), ms. Default 5,000. */
  handshakeTimeoutMs?: number;
  /** Fast-path renewals of a ticket chain before a signed full handshake is needed. Default 8. */
  maxTicketRenewals?: number;
  /**
   * How often the durable time floor is raised while the car is idle, ms. Default 60,000;
   * 0 turns the idle timer off (the floor then moves only with traffic and at start-up).
   */
  timeFloorIntervalMs?: number;
  /** Unauthenticated audit records written one by one per minute; the rest are summarised. Default 20. */
  unauthenticatedAuditBudget?: number;
  /** A session with no command for this long is closed, ms. */
  idleTimeoutMs?: number;
  /** Time a handler may take before the phone is told HANDLER_TIMEOUT, ms. */
  handlerTimeoutMs?: number;
  /** Ranging hook (UWB, Channel Sounding): true if the phone is where it must be for this command. */
  proximityCheck?: (ctx: { keyId: string; command: number }) => Promise<boolean> | boolean;
  /** Challenges kept precomputed while idle, so key generation is off the critical path. */
  challengePoolSize?: number;
}

/** Resolved configuration shared with each connection. */
export interface VehicleConfig {
  readonly crypto: CryptoProvider;
  readonly store: VehicleStore;
  readonly clock: Clock;
  readonly handlers: Map<number, CommandHandler>;
  readonly policies: Map<number, CommandPolicy>;
  readonly maxConcurrentHandshakes: number;
  readonly maxPendingHandshakes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxTicketRenewals: number;
  readonly idleTimeoutMs: number;
  readonly handlerTimeoutMs: number;
  readonly proximityCheck?: VehicleOptions['proximityCheck'];
}

/** A phone key module. Create with {@link Vehicle.create}. */
export class Vehicle {
  readonly config: VehicleConfig;
  /** @internal Pending-handshake FIFO and Auth work slots (see Admission). */
  readonly admission: Admission;
  private readonly auditLimiter: AuditLimiter;
  private summaryTimer: unknown;
  private floorTimer: unknown;
  private closing = false;
  private readonly floorIntervalMs: number;
  /** Serialises key-registry changes (revocation, management, use limits). */
  private readonly registry = new Mutex();
  /** The pairing window and its attempt limits. */
  readonly pairing: PairingWindows;
  /** Challenges made while idle: ephemeral, bytes and h1 (createChallenge re-makes one that no longer fits). */
  private readonly pool: PreparedChallenge[] = [];
  private readonly poolSize: number;
  private readonly connections = new Set<Connection>();
  private readonly auditListeners = new Set<(e: AuditEvent) => void>();

  private currentIdentity!: VehicleIdentity;
  private stored!: StoredIdentity;
  private currentAdvertisingKey!: Uint8Array;
  private sealKey!: Uint8Array;
  /** @internal Results of commands with a request id still running (exactly-once retries). */
  readonly inFlight = new Map<string, Promise<{ status: number; data?: Uint8Array }>>();

  private constructor(options: VehicleOptions, stored: StoredIdentity, keyAgreement: VehicleKeyAgreement) {
    this.config = {
      crypto: options.crypto,
      store: options.store,
      clock: options.clock ?? systemClock,
      handlers: new Map(Object.entries(options.handlers ?? {}).map(([k, v]) => [Number(k), v])),
      policies: new Map(Object.entries({ ...DEFAULT_POLICIES, ...options.policies }).map(([k, v]) => [Number(k), v])),
      maxConcurrentHandshakes: options.maxConcurrentHandshakes ?? 3,
      maxPendingHandshakes: options.maxPendingHandshakes ?? 256,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      maxTicketRenewals: options.maxTicketRenewals ?? DEFAULT_MAX_TICKET_RENEWALS,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      // Shorter than the phone's default 5 s wait, so the phone hears HANDLER_TIMEOUT.
      handlerTimeoutMs: options.handlerTimeoutMs ?? 3_000,
      proximityCheck: options.proximityCheck,
    };
    this.poolSize = options.challengePoolSize ?? 2;
    this.floorIntervalMs = options.timeFloorIntervalMs ?? TIME_FLOOR_STEP_MS;
    this.pairing = new PairingWindows(this.config.crypto, this.config.clock);
    this.admission = new Admission(this.config.maxPendingHandshakes, this.config.maxConcurrentHandshakes);
    this.auditLimiter = new AuditLimiter(options.unauthenticatedAuditBudget ?? 20, 60_000);
    this.adoptIdentity(stored, keyAgreement);
  }

  /** The vehicle's long-term identity (changes only on factory reset). */
  get identity(): VehicleIdentity {
    return this.currentIdentity;
  }

  /** Installs an identity and derives its advertising and ticket-sealing keys once. */
  private adoptIdentity(stored: StoredIdentity, keyAgreement: VehicleKeyAgreement): void {
    const { crypto } = this.config;
    if (this.sealKey) wipe(this.sealKey);
    this.stored = stored;
    this.currentIdentity = { vehicleId: stored.vehicleId, publicKey: stored.publicKey, keyAgreement };
    this.currentAdvertisingKey = deriveAdvertisingKey(crypto, stored);
    this.sealKey = deriveTicketSealKey(crypto, stored, keyAgreement);
  }

  /**
   * Opens the vehicle over its store, creating its public identity (random vehicle id,
   * advertising secret, sealing point) for the identity key on first use. A stored identity
   * needs the same identity key back (UsageError IDENTITY_KEY_REQUIRED / IDENTITY_KEY_MISMATCH).
   */
  static async create(options: VehicleOptions & { identity?: Partial<Pick<StoredIdentity, 'vehicleId' | 'advertisingSecret'>> }): Promise<Vehicle> {
    const { crypto, store } = options;
    let stored = store.getIdentity();
    const keyAgreement = options.identityKey ?? (stored ? undefined : createSoftwareKeyAgreement(crypto));
    if (!keyAgreement) throw new UsageError('IDENTITY_KEY_REQUIRED', 'this store holds an identity: pass its identityKey (the key is not kept in the store, docs/STORAGE.md)');
    if (stored && !equalBytes(crypto.validatePublicKey(keyAgreement.publicKey), stored.publicKey)) {
      throw new UsageError('IDENTITY_KEY_MISMATCH', 'identityKey is not the key of the identity in this store');
    }
    if (!stored) {
      stored = { ...newStoredIdentity(crypto, keyAgreement), ...options.identity };
      await store.setIdentity(stored);
    }
    const vehicle = new Vehicle(options, stored, keyAgreement);
    vehicle.refillChallengePool();
    // Forced only for a new store; otherwise at most once a minute, so that opening a store for
    // a read-only admin command does not rewrite it each time.
    await vehicle.noteTime(options.store.timeFloor === 0);
    vehicle.armFloorTimer();
    return vehicle;
  }

  /**
   * The vehicle's time for every validity judgement: the later of its clock and its durable
   * time floor, so a clock set back cannot revive an expired key or ticket.
   */
  now(): number {
    return Math.max(this.config.clock.now(), this.config.store.timeFloor);
  }

  /**
   * Raises the durable time floor to the clock (at most once a minute unless `force`) and
   * prunes revoked grant ids five years (REVOCATION_RETENTION_MS) past their grant's expiry,
   * judged by the floor. Never throws.
   */
  async noteTime(force = false): Promise<void> {
    const { store, clock } = this.config;
    const now = clock.now();
    if (!force && now < store.timeFloor + TIME_FLOOR_STEP_MS) return;
    try {
      await store.raiseTimeFloor(now);
      await store.pruneRevocations(store.timeFloor - REVOCATION_RETENTION_MS);
    } catch {
      // A floor not raised only weakens the clock check until the next try; nothing to undo.
    }
  }

  /**
   * Lowers the durable time floor to the clock, after an integrator has corrected a clock that
   * had jumped ahead (the floor followed it, so short grants and tickets looked expired). Needs a
   * physical confirmation, like a factory reset: a radio peer must never move the car's time.
   * Revocations are unaffected (revoked key ids are kept for ever, grant ids five years).
   */
  async resetTimeFloor(physicalConfirmation: { confirmed: true }): Promise<void> {
    if (physicalConfirmation?.confirmed !== true) throw new UsageError('CONFIRMATION_REQUIRED', 'resetting the time floor requires a physical confirmation');
    await this.registry.run(async () => {
      const from = this.config.store.timeFloor;
      await this.config.store.resetTimeFloor(this.config.clock.now());
      await this.audit({ timeMs: this.config.clock.now(), path: 'admin', outcome: 'TIME_FLOOR_RESET', detail: `from ${from}` });
    });
  }

  /**
   * Keeps the time floor moving while the car is idle (a clock set back after an idle spell
   * must not revive a key that expired meanwhile): one timer, re-armed each step, that does not
   * keep a Node process alive.
   */
  private armFloorTimer(): void {
    if (this.closing || this.floorIntervalMs <= 0) return;
    const { clock } = this.config;
    const handle = clock.setTimeout(() => {
      void this.noteTime().finally(() => this.armFloorTimer());
    }, this.floorIntervalMs);
    unrefTimer(handle);
    this.floorTimer = handle;
  }

  /** @internal Seals and unseals ticket secrets (key derived from the identity key at start-up). */
  get ticketSealKey(): Uint8Array {
    return this.sealKey;
  }

  /**
   * Replaces the advertising secret: phones that knew the old advertising key can no longer
   * recognise this car's pseudonyms (stops past key holders from tracking it). Current holders
   * learn the new key from a share bundle or by pairing again (docs/BLE.md §Advertising key).
   */
  rotateAdvertisingKey(): Promise<void> {
    return this.registry.run(async () => {
      const next = { ...this.stored, advertisingSecret: this.config.crypto.randomBytes(32) };
      await this.config.store.setIdentity(next);
      this.adoptIdentity(next, this.identity.keyAgreement);
      await this.audit({ timeMs: this.config.clock.now(), path: 'admin', outcome: 'ADVERTISING_KEY_ROTATED' });
    });
  }

  /** What a phone must know to talk to this vehicle (delivered at pairing or in a share bundle). */
  get peer(): { vehicleId: Uint8Array; publicKey: Uint8Array; advertisingKey: Uint8Array } {
    return { vehicleId: this.identity.vehicleId, publicKey: this.identity.publicKey, advertisingKey: this.advertisingKey };
  }

  /**
   * Key of the rotating advertising pseudonym (docs/BLE.md), shared with key holders so their
   * phones can recognise this car among many. Derived one-way from the identity key, so it
   * needs no storage and reveals nothing about the identity key.
   */
  get advertisingKey(): Uint8Array {
    return this.currentAdvertisingKey;
  }

  /**
   * Serves one link until it closes: challenge, authenticate, run commands. Never rejects:
   * every failure is answered generically, recorded for audit, and closes the link.
   */
  async serve(link: Link, info: LinkInfo = {}): Promise<void> {
    const conn = new Connection(this, link, info);
    this.connections.add(conn);
    try {
      await conn.run();
    } finally {
      this.connections.delete(conn);
    }
  }

  /** Registers an audit listener; returns an unsubscribe function. */
  onAudit(listener: (e: AuditEvent) => void): () => void {
    this.auditListeners.add(listener);
    return () => this.auditListeners.delete(listener);
  }

  /**
   * Records an audit event durably and tells listeners. Never throws. Unauthenticated records
   * beyond the per-minute budget are folded into one summary (see AuditLimiter).
   */
  async audit(event: AuditEvent): Promise<void> {
    for (const l of this.auditListeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not stop the vehicle.
      }
    }
    for (const record of this.auditLimiter.admit(event)) await this.appendAudit(record);
    this.scheduleAuditSummary();
  }

  private async appendAudit(record: AuditEvent): Promise<void> {
    try {
      await this.config.store.appendAudit(record);
    } catch {
      // Audit storage failure is reported to listeners only; the attempt itself already ended.
    }
  }

  /**
   * Writes the summary of suppressed junk when its window ends even if nothing else happens
   * (an owner reading the log after a burst must see the count). The timer does not keep a
   * Node process alive.
   */
  private scheduleAuditSummary(): void {
    if (this.summaryTimer !== undefined || this.auditLimiter.suppressedCount === 0) return;
    const { clock } = this.config;
    const handle = clock.setTimeout(() => {
      this.summaryTimer = undefined;
      const summary = this.auditLimiter.flush(clock.now());
      if (summary) void this.appendAudit(summary);
    }, Math.max(0, this.auditLimiter.windowEndsAt - clock.now()));
    unrefTimer(handle);
    this.summaryTimer = handle;
  }

  /** @internal A fresh single-use challenge, from the precomputed pool when possible. */
  nextChallenge(): { state: VehicleHandshake; bytes: Uint8Array } {
    const prepared = this.pool.shift();
    const pairing = this.pairing.offer();
    return createChallenge(this.config.crypto, this.identity, { ...(prepared ? { prepared } : {}), ...(pairing ? { pairing } : {}) });
  }

  // ----- owner pairing (SPAKE2+) -----

  /**
   * Opens the pairing window. Call it ONLY from a physical action in the car (a button, the
   * screen with the car unlocked, a service tool): anyone in radio range can try to pair while
   * it is open. Returns the code to show when the vehicle made one; with `code: 'record'` the
   * factory record stored by {@link setPairingRecord} is used and the code is on a printed card.
   */
  openPairingWindow(options: PairingWindowOptions): { code?: string; expiresAt: number } {
    return this.pairing.open(options, this.config.store.getPairingRecord());
  }

  /** Closes the pairing window at once. */
  closePairingWindow(): void {
    this.pairing.close();
  }

  /** Stores a factory-made pairing verifier record (see makePairingRecord); the code never reaches the vehicle. */
  async setPairingRecord(record: Uint8Array): Promise<void> {
    await this.config.store.setPairingRecord(record);
  }

  /** Precomputes challenges (ephemeral key, bytes, h1) up to the pool size. Call while idle; safe to call any time. */
  refillChallengePool(): void {
    while (this.pool.length < this.poolSize) this.pool.push(prepareChallenge(this.config.crypto, this.identity));
  }

  /** @internal Closes every open session of a key (revocation takes effect at once). */
  async closeSessionsOf(keyIdHex: string, reason: string): Promise<void> {
    await Promise.all([...this.connections].filter((c) => c.keyIdHex === keyIdHex).map((c) => c.close(reason)));
  }

  /** Number of links being served. */
  get activeConnections(): number {
    return this.connections.size;
  }

  // ----- local admin API (the car's screen or a service tool; no radio involved) -----

  /** Enrolls a phone key as an owner directly (a service tool; phones normally pair with a code). */
  enrollOwner(publicKey: Uint8Array, name = 'owner', path: 'admin' | 'pairing' = 'admin'): Promise<KeyRecord> {
    return this.registry.run(() => this.enrollOwnerLocked(publicKey, name, path));
  }

  private async enrollOwnerLocked(publicKey: Uint8Array, name: string, path: 'admin' | 'pairing'): Promise<KeyRecord> {
    const crypto = this.config.crypto;
    const compressed = crypto.validatePublicKey(publicKey);
    const keyId = keyIdOf(crypto, compressed);
    if (this.config.store.getKey(keyId)) throw new UsageError('KEY_EXISTS', 'this key is already enrolled');
    const record: KeyRecord = {
      keyId,
      publicKey: compressed,
      role: 'owner',
      name,
      commands: null,
      suspended: false,
      canShare: true,
      chainDepth: 0,
      createdAt: this.config.clock.now(),
    };
    await this.config.store.putKey(record);
    await this.audit({ timeMs: this.config.clock.now(), keyId: toHex(keyId), path, outcome: 'ENROLLED' });
    return record;
  }

  /**
   * Enrolls the device key of a completed owner pairing. The same device pairing again (its
   * PairDone was lost, or it held a friend's key) gets an owner record and the welcome again,
   * instead of KEY_EXISTS: the code shown in the car is proof of the owner's physical access.
   * @internal
   */
  enrollPairedOwner(publicKey: Uint8Array, name: string): Promise<{ record: KeyRecord; again: boolean }> {
    return this.registry.run(async () => {
      const existing = this.config.store.getKey(keyIdOf(this.config.crypto, this.config.crypto.validatePublicKey(publicKey)));
      if (!existing) return { record: await this.enrollOwnerLocked(publicKey, name, 'pairing'), again: false };
      // A suspended key stays suspended: only an owner's explicit resume lifts it.
      if (existing.suspended) throw new UsageError('KEY_SUSPENDED', 'this device key is suspended');
      if (existing.role === 'owner') return { record: existing, again: true };
      const record: KeyRecord = { keyId: existing.keyId, publicKey: existing.publicKey, role: 'owner', name, commands: null, suspended: false, canShare: true, chainDepth: 0, createdAt: existing.createdAt };
      await this.config.store.putKey(record);
      return { record, again: true };
    });
  }

  /** Every enrolled key. */
  listKeys(): KeyRecord[] {
    return this.config.store.listKeys();
  }

  /**
   * Removes a key at once, closing its open sessions. The grant that enrolled it is remembered
   * as revoked until it expires (so it cannot be presented again), and every key whose grant
   * chain passes through it is revoked with it.
   */
  revokeKey(keyId: Uint8Array): Promise<void> {
    return this.registry.run(() => this.revokeKeyLocked(keyId));
  }

  /**
   * Revokes a grant by id, used or not: it can never be presented again, and every key whose
   * grant chain contains it is revoked. `keepUntilMs` is the grant's expiry (kept forever when
   * unknown and no enrolled key tells it).
   */
  revokeGrant(grantId: Uint8Array, keepUntilMs?: number): Promise<void> {
    return this.registry.run(() => this.revokeGrantLocked(grantId, keepUntilMs));
  }

  /**
   * Suspends a key at once (local admin): its commands, and those of every key whose grant
   * chain passes through it, are refused with KEY_SUSPENDED, and their open sessions close.
   */
  suspendKey(keyId: Uint8Array): Promise<void> {
    return this.registry.run(() => this.setSuspended(keyId, true));
  }

  /** Lifts a suspension (local admin). */
  resumeKey(keyId: Uint8Array): Promise<void> {
    return this.registry.run(() => this.setSuspended(keyId, false));
  }

  private async setSuspended(keyId: Uint8Array, suspended: boolean): Promise<void> {
    if (!this.config.store.getKey(keyId)) throw new UsageError('UNKNOWN_KEY', 'no such key');
    await setSuspendedLocked(this, keyId, suspended);
    await this.audit({ timeMs: this.config.clock.now(), keyId: toHex(keyId), path: 'admin', outcome: suspended ? 'SUSPENDED' : 'RESUMED' });
  }

  /** Runs a registry change with no other registry change in between (see Mutex). @internal */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.registry.run(fn);
  }

  /**
   * @internal {@link revokeKey} for callers that already hold the registry lock. The key, every
   * key whose chain passes through it, their tickets and request memory go in ONE commit, with
   * their key ids and grant ids remembered as revoked; memory follows the commit, and open
   * sessions are closed after it.
   */
  async revokeKeyLocked(keyId: Uint8Array): Promise<void> {
    const key = this.config.store.getKey(keyId);
    if (!key) throw new UsageError('UNKNOWN_KEY', 'no such key');
    const hex = toHex(keyId);
    // A record's chain lists include its own grant and issuer: one membership test covers all.
    const victims = [key, ...this.listKeys().filter((k) => k.chainIssuerIds?.includes(hex))];
    await this.commitRevocation(victims, []);
  }

  /** @internal {@link revokeGrant} for callers that already hold the registry lock. */
  async revokeGrantLocked(grantId: Uint8Array, keepUntilMs?: number): Promise<void> {
    const hex = toHex(grantId);
    const holders = this.listKeys().filter((k) => k.chainGrantIds?.includes(hex));
    const direct = holders.find((k) => k.grantId && toHex(k.grantId) === hex);
    const keepUntil = retain(keepUntilMs ?? direct?.notAfter);
    await this.commitRevocation(holders, [{ grantId, keepUntil }]);
    await this.audit({ timeMs: this.config.clock.now(), path: 'admin', outcome: 'GRANT_REVOKED', detail: hex });
  }

  /** One atomic revocation of `victims` (with their grants) and `grants`, then sessions closed. */
  private async commitRevocation(victims: KeyRecord[], grants: RevokedGrant[]): Promise<void> {
    // Revoked key ids are kept for ever (8 bytes each): a key's own expiry says nothing about
    // how long other bundles naming it stay valid.
    const revokedAt = this.now();
    const keys: RevokedKey[] = victims.map((k) => ({ keyId: k.keyId, keepUntil: Number.MAX_SAFE_INTEGER, revokedAt }));
    const own = victims.filter((k) => k.grantId).map((k) => ({ grantId: k.grantId!, keepUntil: retain(k.notAfter) }));
    await this.config.store.revoke({ keys, grants: [...grants, ...own] });
    for (const k of victims) {
      const hex = toHex(k.keyId);
      await this.closeSessionsOf(hex, 'key revoked');
      await this.audit({ timeMs: this.config.clock.now(), keyId: hex, path: 'admin', outcome: 'REVOKED' });
    }
  }

  /**
   * Factory reset: erases every key, ticket, revocation, pairing record and the identity, then
   * makes a new identity. `physicalConfirmation` must come from a physical action wired by the
   * integrator (a button in the car, a service tool on the diagnostic port), never from the radio.
   */
  async factoryReset(physicalConfirmation: { confirmed: true }): Promise<void> {
    if (physicalConfirmation?.confirmed !== true) throw new UsageError('CONFIRMATION_REQUIRED', 'factory reset requires a physical confirmation');
    await this.registry.run(async () => {
      this.pairing.close();
      for (const c of [...this.connections]) await c.close('factory reset');
      const keyAgreement = this.identity.keyAgreement;
      if (!keyAgreement.replace) throw new UsageError('IDENTITY_KEY_NOT_REPLACEABLE', 'this identity key handle cannot make a new key: provision a new one and create the vehicle again');
      await this.config.store.wipeAll();
      await keyAgreement.replace();
      const identity = newStoredIdentity(this.config.crypto, keyAgreement);
      await this.config.store.setIdentity(identity);
      this.adoptIdentity(identity, keyAgreement);
      for (const p of this.pool.splice(0)) wipe(p.ephemeral.privateKey);
      this.refillChallengePool();
      await this.audit({ timeMs: this.config.clock.now(), path: 'admin', outcome: 'FACTORY_RESET' });
    });
  }

  /** Recent audit records, oldest first: the newest `limit` (default 1000), or a query. */
  readAudit(query?: number | AuditQuery): Promise<AuditEvent[]> {
    return this.config.store.readAudit(query);
  }

  /** Default command id by name, for convenience in integrator code. */
  static readonly COMMAND = COMMAND;

  /**
   * Shuts down cleanly (a daemon's SIGTERM): closes the pairing window, ends every open session
   * (its link closes; the phone sees a clean close) and waits for each to finish its bookkeeping,
   * wipes the precomputed challenge keys, then closes the store. Serve no link afterwards.
   */
  async close(reason = 'vehicle shutting down'): Promise<void> {
    this.closing = true;
    this.pairing.close();
    await Promise.all([...this.connections].map((c) => c.close(reason)));
    await this.registry.run(async () => undefined); // registry writes in flight land first
    for (let i = 0; this.connections.size > 0 && i < 100; i++) await new Promise<void>((r) => this.config.clock.setTimeout(r, 10));
    for (const p of this.pool.splice(0)) wipe(p.ephemeral.privateKey);
    // Stop the floor timer and write what the audit limiter still holds before the store goes.
    this.config.clock.clearTimeout(this.floorTimer);
    this.config.clock.clearTimeout(this.summaryTimer);
    const summary = this.auditLimiter.flush(this.config.clock.now());
    if (summary) await this.appendAudit(summary);
    await this.noteTime();
    wipe(this.sealKey);
    await this.config.store.close();
  }
}

/**
 * Lets a Node process exit while only this timer is pending (the car's bookkeeping timers must
 * not keep a one-shot CLI alive). Duck-typed: browsers and React Native return a number.
 */
function unrefTimer(handle: unknown): void {
  (handle as { unref?: () => void } | undefined)?.unref?.();
}

/** The floor is raised at most this often from the clock (a clock set back by less is harmless). */
const TIME_FLOOR_STEP_MS = 60_000;

/**
 * Revoked grant ids are kept this long past their grant's expiry, judged by the time floor:
 * a clock that jumped ahead (dragging the floor along) cannot prune them unless it jumped more
 * than five years. Revoked key ids are kept for ever. Both are 8–16 bytes: cheap to keep.
 */
export const REVOCATION_RETENTION_MS = 5 * 365 * 24 * 3600 * 1000;

/** keepUntil for a revocation record of something that expires at `notAfter` (never, if unknown). */
function retain(notAfter: number | undefined): number {
  return notAfter === undefined ? Number.MAX_SAFE_INTEGER : notAfter;
}
