/**
 * The vehicle role: serves phone links, authenticates phones offline, enforces policy, runs
 * command handlers and records every attempt for audit (docs/PROTOCOL.md §5–§9).
 *
 * Nothing thrown by a peer's bytes escapes `serve`: every failure becomes one generic clear
 * status for the phone, no action, and an audit record with the internal reason.
 */
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import { toHex, utf8 } from '../crypto/bytes.js';
import { UsageError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import { systemClock } from '../transport/clock.js';
import type { Link } from '../transport/link.js';
import { ADVERTISING_KEY_LABEL, COMMAND } from '../protocol/constants.js';
import { keyIdOf } from '../protocol/keyschedule.js';
import { createChallenge, type VehicleHandshake, type VehicleIdentity } from '../protocol/vehicle-handshake.js';
import { Connection, type LinkInfo } from './connection.js';
import { DEFAULT_POLICIES, type CommandPolicy } from './policy.js';
import type { CommandHandler } from './run-handler.js';
import { PairingWindows, type PairingWindowOptions } from './pairing.js';
import { Mutex } from './mutex.js';
import { wipe } from '../crypto/provider.js';
import type { AuditEvent, KeyRecord, VehicleStore } from './store.js';

/** Vehicle configuration. Every timing is on the injected clock. */
export interface VehicleOptions {
  crypto: CryptoProvider;
  store: VehicleStore;
  clock?: Clock;
  /** Handlers by command id: built-ins (COMMAND.unlock…) and app-defined ids ≥ 128. */
  handlers?: Record<number, CommandHandler>;
  /** Policies by command id, merged over DEFAULT_POLICIES (start: full path, user presence, relay bound). */
  policies?: Record<number, CommandPolicy>;
  /** Handshakes in progress at once; more are refused with BUSY. BLE key modules hold about three links. */
  maxConcurrentHandshakes?: number;
  /** Time allowed from the challenge to the Auth, ms. */
  handshakeTimeoutMs?: number;
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
  readonly handshakeTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly handlerTimeoutMs: number;
  readonly proximityCheck?: VehicleOptions['proximityCheck'];
}

/** A phone key module. Create with {@link Vehicle.create}. */
export class Vehicle {
  readonly config: VehicleConfig;
  private handshakes = 0;
  /** Serialises key-registry changes (revocation, management, use limits). */
  private readonly registry = new Mutex();
  /** The pairing window and its attempt limits. */
  readonly pairing: PairingWindows;
  private readonly pool: KeyPair[] = [];
  private readonly poolSize: number;
  private readonly connections = new Set<Connection>();
  private readonly auditListeners = new Set<(e: AuditEvent) => void>();

  private currentIdentity!: VehicleIdentity;
  private currentAdvertisingKey!: Uint8Array;

  private constructor(options: VehicleOptions, identity: VehicleIdentity) {
    this.config = {
      crypto: options.crypto,
      store: options.store,
      clock: options.clock ?? systemClock,
      handlers: new Map(Object.entries(options.handlers ?? {}).map(([k, v]) => [Number(k), v])),
      policies: new Map(Object.entries({ ...DEFAULT_POLICIES, ...options.policies }).map(([k, v]) => [Number(k), v])),
      maxConcurrentHandshakes: options.maxConcurrentHandshakes ?? 3,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      // Shorter than the phone's default 5 s wait, so the phone hears HANDLER_TIMEOUT.
      handlerTimeoutMs: options.handlerTimeoutMs ?? 3_000,
      proximityCheck: options.proximityCheck,
    };
    this.poolSize = options.challengePoolSize ?? 2;
    this.pairing = new PairingWindows(this.config.crypto, this.config.clock);
    this.adoptIdentity(identity);
  }

  /** The vehicle's long-term identity (changes only on factory reset). */
  get identity(): VehicleIdentity {
    return this.currentIdentity;
  }

  /** Installs an identity and derives its advertising key once. */
  private adoptIdentity(identity: VehicleIdentity): void {
    const { crypto } = this.config;
    this.currentIdentity = identity;
    this.currentAdvertisingKey = crypto.hkdfSha256(identity.privateKey, identity.vehicleId, utf8(ADVERTISING_KEY_LABEL), 32);
  }

  /**
   * Opens the vehicle over its store, creating its identity (random vehicle id and P-256
   * identity key) on first use. `identity` may be passed for test vectors or factory provisioning.
   */
  static async create(options: VehicleOptions & { identity?: VehicleIdentity }): Promise<Vehicle> {
    let identity = options.store.getIdentity();
    if (!identity) {
      identity = options.identity ?? newIdentity(options.crypto);
      await options.store.setIdentity(identity);
    }
    const vehicle = new Vehicle(options, identity);
    vehicle.refillChallengePool();
    await options.store.pruneRevocations(vehicle.config.clock.now());
    return vehicle;
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

  /** Records an audit event durably and tells listeners. Never throws. */
  async audit(event: AuditEvent): Promise<void> {
    for (const l of this.auditListeners) {
      try {
        l(event);
      } catch {
        // A listener's bug must not stop the vehicle.
      }
    }
    try {
      await this.config.store.appendAudit(event);
    } catch {
      // Audit storage failure is reported to listeners only; the attempt itself already ended.
    }
  }

  /** @internal Takes a handshake slot; false when the concurrency cap is reached. */
  tryBeginHandshake(): boolean {
    if (this.handshakes >= this.config.maxConcurrentHandshakes) return false;
    this.handshakes++;
    return true;
  }

  /** @internal Releases a handshake slot. */
  endHandshake(): void {
    this.handshakes--;
  }

  /** @internal A fresh single-use challenge, from the precomputed pool when possible. */
  nextChallenge(): { state: VehicleHandshake; bytes: Uint8Array } {
    const ephemeral = this.pool.shift() ?? this.config.crypto.generateKeyPair();
    const pairing = this.pairing.offer();
    return createChallenge(this.config.crypto, this.identity, { ephemeral, ...(pairing ? { pairing } : {}) });
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

  /** Precomputes ephemeral keys up to the pool size. Call while idle; safe to call any time. */
  refillChallengePool(): void {
    while (this.pool.length < this.poolSize) this.pool.push(this.config.crypto.generateKeyPair());
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

  /** Runs a registry change with no other registry change in between (see Mutex). @internal */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.registry.run(fn);
  }

  /** @internal {@link revokeKey} for callers that already hold the registry lock. */
  async revokeKeyLocked(keyId: Uint8Array): Promise<void> {
    const { store, clock } = this.config;
    const key = store.getKey(keyId);
    if (!key) throw new UsageError('UNKNOWN_KEY', 'no such key');
    if (key.grantId) await store.revokeGrant(key.grantId, key.notAfter ?? Number.MAX_SAFE_INTEGER);
    await store.deleteKey(keyId);
    const hex = toHex(keyId);
    await this.closeSessionsOf(hex, 'key revoked');
    await this.audit({ timeMs: clock.now(), keyId: hex, path: 'admin', outcome: 'REVOKED' });
    // A record's chain lists include its own grant and issuer: one membership test covers all.
    const descendants = this.listKeys().filter((k) => k.chainIssuerIds?.includes(hex));
    for (const child of descendants) if (store.getKey(child.keyId)) await this.revokeKeyLocked(child.keyId);
    await store.pruneRevocations(clock.now());
  }

  /** @internal {@link revokeGrant} for callers that already hold the registry lock. */
  async revokeGrantLocked(grantId: Uint8Array, keepUntilMs?: number): Promise<void> {
    const { store, clock } = this.config;
    const hex = toHex(grantId);
    const holders = this.listKeys().filter((k) => k.chainGrantIds?.includes(hex));
    const direct = holders.find((k) => k.grantId && toHex(k.grantId) === hex);
    await store.revokeGrant(grantId, keepUntilMs ?? direct?.notAfter ?? Number.MAX_SAFE_INTEGER);
    for (const k of holders) if (store.getKey(k.keyId)) await this.revokeKeyLocked(k.keyId);
    await this.audit({ timeMs: clock.now(), path: 'admin', outcome: 'GRANT_REVOKED' });
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
      await this.config.store.wipeAll();
      const identity = newIdentity(this.config.crypto);
      await this.config.store.setIdentity(identity);
      wipe(this.identity.privateKey);
      this.adoptIdentity(identity);
      for (const kp of this.pool.splice(0)) wipe(kp.privateKey);
      this.refillChallengePool();
      await this.audit({ timeMs: this.config.clock.now(), path: 'admin', outcome: 'FACTORY_RESET' });
    });
  }

  /** Recent audit records, oldest first. */
  readAudit(limit?: number): Promise<AuditEvent[]> {
    return this.config.store.readAudit(limit);
  }

  /** Default command id by name, for convenience in integrator code. */
  static readonly COMMAND = COMMAND;

  /**
   * Shuts down cleanly (a daemon's SIGTERM): closes the pairing window, ends every open session
   * (its link closes; the phone sees a clean close) and waits for each to finish its bookkeeping,
   * wipes the precomputed challenge keys, then closes the store. Serve no link afterwards.
   */
  async close(reason = 'vehicle shutting down'): Promise<void> {
    this.pairing.close();
    await Promise.all([...this.connections].map((c) => c.close(reason)));
    await this.registry.run(async () => undefined); // registry writes in flight land first
    for (let i = 0; this.connections.size > 0 && i < 100; i++) await new Promise<void>((r) => this.config.clock.setTimeout(r, 10));
    for (const kp of this.pool.splice(0)) wipe(kp.privateKey);
    await this.config.store.close();
  }
}

function newIdentity(crypto: CryptoProvider): VehicleIdentity {
  const kp = crypto.generateKeyPair();
  return { vehicleId: crypto.randomBytes(16), privateKey: kp.privateKey, publicKey: kp.publicKey };
}
