/**
 * The phone role: opens a vehicle over any Link with the v1 handshake (fast path when it holds a
 * ticket, full path otherwise or when the command demands it), sends commands, and reports
 * typed results and errors (docs/PROTOCOL.md §5–§7).
 *
 * Errors say what the caller can do: `mayHaveSucceeded` is true whenever the failure came after
 * the command left the phone — a link that dies then may still have unlocked the car.
 */
import type { CryptoProvider, Signer } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { equalBytes, toHex as toHexString } from '../crypto/bytes.js';
import { AbortError, AuthenticationError, DigitalKeyError, PolicyError, ProtocolError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import { systemClock } from '../transport/clock.js';
import type { Link } from '../transport/link.js';
import { clearStatusOf, closeChannel, openFrame, sealFrame, type Channel } from '../protocol/channel.js';
import { COMMAND, COMMAND_FLAG, MGMT_COMMAND, RECHALLENGE_COMMAND, REQUEST_ID_BYTES, STATUS, STATUS_NAME, TICKET_LIFETIME_MS } from '../protocol/constants.js';
import { keyIdOf } from '../protocol/keyschedule.js';
import { CommandSchema, ResultSchema, type CommandMsg, type ResultMsg } from '../protocol/messages.js';
import {
  consumeChallenge,
  consumeResult,
  createFastAuth,
  createFullAuth,
  prepareFullAuth,
  precomputeFullAuth,
  type Challenged,
  type FullAuthPrecomputed,
  type HandshakeOutcome,
} from '../protocol/phone-handshake.js';
import { decodeGrant, decodeShareBundle, encodeShareBundle, issueGrant, type IssueGrantOptions } from '../protocol/grant.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import type { PairedVehicle, PhoneStore, StoredTicket } from './store.js';
import { pairWithCode, type PairOptions } from './pairing.js';
import { DEFAULT_RESUME_COMMANDS, resumeAgeMs, type ResumeMode } from './resume.js';
import { abandonResume, completeResume, createResumeAuth, type ResumeSent } from '../protocol/resume.js';
import { abortableLink, asAbortError, checkAborted } from './session-abort.js';
import { OwnerApi, toMs, type AuditEntry, type KeyEntry, type OwnerCallOptions, type ReadAuditOptions } from './session-owner.js';

/** Options of {@link Phone.pair}: {@link PairOptions} and a signal that cancels the pairing. */
export type PhonePairOptions = PairOptions & { signal?: AbortSignal };

/** What {@link Phone.share} grants a friend's key. Times are JS ms since the epoch or Dates. */
export interface ShareOptions {
  /** The friend's phone public key (65-byte uncompressed P-256). */
  friendKey: Uint8Array;
  /** Commands granted. Default unlock and lock. */
  commands?: number[];
  /** Start of validity. Default: now on the phone's clock. */
  from?: number | Date;
  /** End of validity (required: a share always expires). */
  until: number | Date;
  /** Uses allowed, if limited. */
  useLimit?: number;
  /** Whether the friend may share on (never with wider rights). */
  canShare?: boolean;
  /** The friend's name in the car's key list. */
  name?: string;
  signal?: AbortSignal;
}

/** A command as the app asks for it. */
export interface CommandRequest {
  /** COMMAND.unlock, COMMAND.lock, …, or an app-defined id ≥ 128. */
  id: number;
  /** The user was verified on the phone just now (biometric / passcode). Required for `start`. */
  userPresent?: boolean;
  /** App-defined argument bytes. */
  data?: Uint8Array;
  /**
   * Request id (1–16 bytes) for exactly-once execution. Normally left out: the phone draws one,
   * and reuses it when the same command is asked again for the same car after a failure that
   * said `mayHaveSucceeded`, so the car answers the retry with the first attempt's result
   * instead of running it twice (docs/PROTOCOL.md §6.4).
   */
  requestId?: Uint8Array;
}

/** How long an uncertain command's request id is reused for a retry of the same command, ms. */
export const RETRY_WINDOW_MS = 120_000;

/** Outcome of a command that the vehicle answered under the session key. */
export interface CommandResult {
  ok: boolean;
  /** STATUS code and its name, e.g. 0 / `OK`, 16 / `NOT_ENTITLED`. */
  status: number;
  code: string;
  data?: Uint8Array;
}

/** Phone configuration. */
export interface PhoneOptions {
  crypto: CryptoProvider;
  /** The device key; on a phone, a Secure Enclave / Android Keystore key. */
  signer: Signer;
  store: PhoneStore;
  clock?: Clock;
  /** How long to wait for each vehicle message, ms. */
  responseTimeoutMs?: number;
  /** Commands that always use the full path and a fresh challenge (default: start). */
  fullPathCommands?: number[];
  /**
   * Commands this phone sends on the resume path when it holds a young enough ticket (default:
   * unlock, lock, trunk). The vehicle's own resume policy decides too: a command it does not let
   * resume falls back to the full path on the same connection.
   */
  resumeCommands?: number[];
}

/** Options of {@link Phone.connect}. */
export interface ConnectOptions {
  /** Skip the ticket even if one is held. */
  forceFull?: boolean;
  /**
   * Resumption (docs/PROTOCOL.md §14): `auto` (default) sends the command right after
   * subscribing when a young ticket is held and the command may resume, two connection events
   * to the result; `off` waits for the Challenge as before.
   */
  resume?: ResumeMode;
  /**
   * Cancels the handshake, and any later wait on the session it opens (owner calls, `send`):
   * they reject with AbortError, with `mayHaveSucceeded` once the command has left the phone.
   */
  signal?: AbortSignal;
}

/** A phone key. */
export class Phone {
  readonly crypto: CryptoProvider;
  readonly signer: Signer;
  readonly store: PhoneStore;
  readonly clock: Clock;
  /** This phone's key id (what the vehicle's registry files it under). */
  readonly keyId: Uint8Array;
  readonly responseTimeoutMs: number;
  private readonly fullPathCommands: Set<number>;
  private readonly resumeCommands: Set<number>;
  /** Request ids of commands whose outcome is unknown, by vehicle and command (see CommandRequest.requestId). */
  private readonly uncertain = new Map<string, { requestId: Uint8Array; data: string; atMs: number }>();
  private pendingWrites: Promise<void> = Promise.resolve();

  constructor(options: PhoneOptions) {
    this.crypto = options.crypto;
    this.signer = options.signer;
    this.store = options.store;
    this.clock = options.clock ?? systemClock;
    this.keyId = keyIdOf(this.crypto, options.signer.publicKey);
    this.responseTimeoutMs = options.responseTimeoutMs ?? 5_000;
    this.fullPathCommands = new Set(options.fullPathCommands ?? [COMMAND.start]);
    this.resumeCommands = new Set(options.resumeCommands ?? DEFAULT_RESUME_COMMANDS);
  }

  /** This phone's public key (give it to the vehicle's owner to enroll or to a grant issuer). */
  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  /** Remembers a vehicle (from pairing, or provisioned by the app). */
  async addVehicle(vehicle: PairedVehicle): Promise<void> {
    this.crypto.validatePublicKey(vehicle.publicKey);
    await this.store.putVehicle(vehicle);
  }

  /** Imports a key shared by an owner (base64url text or bytes); returns the vehicle id. */
  async importShare(bundle: string | Uint8Array, name = 'shared car'): Promise<Uint8Array> {
    const b = decodeShareBundle(bundle);
    const known = await this.store.getVehicle(b.vehicleId);
    if (known) {
      // A bundle must never re-key a car this phone already knows: that would hand our
      // identity to whoever made the bundle. Same key: only the grants are taken.
      if (!equalBytes(this.crypto.validatePublicKey(known.publicKey), this.crypto.validatePublicKey(b.vehiclePublicKey))) {
        throw new UsageError('VEHICLE_KEY_MISMATCH', 'this share names a car this phone knows, with a different car key: refused');
      }
      await this.store.putVehicle({ ...known, grants: b.grants });
      return b.vehicleId;
    }
    await this.addVehicle({
      vehicleId: b.vehicleId,
      publicKey: b.vehiclePublicKey,
      name,
      grants: b.grants,
      ...(b.advertisingKey ? { advertisingKey: b.advertisingKey } : {}),
    });
    return b.vehicleId;
  }

  /**
   * Runs the handshake on `link` with `first` as the command carried in the Auth, and returns
   * the open session with that command's result. Three messages from subscription to result, or
   * two connection events on the resume path (a young ticket and a resumable command, see
   * {@link ConnectOptions.resume}).
   */
  async connect(link: Link, vehicleId: Uint8Array, request: CommandRequest, options: ConnectOptions = {}): Promise<PhoneSession> {
    // Every wait below (msg 1, the Auth's send, the Result) honours the signal.
    link = abortableLink(link, options.signal);
    checkAborted(options.signal);
    await this.flush();
    const first = this.withRequestId(vehicleId, request);
    const vehicle = await this.store.getVehicle(vehicleId);
    if (!vehicle) throw new UsageError('UNKNOWN_VEHICLE', 'this phone is not paired with that vehicle');
    const forceFull = options.forceFull === true || this.fullPathCommands.has(first.id);
    const ticket = forceFull ? null : await this.store.takeTicket(vehicleId);
    const live = ticket && ticket.expiresAt > this.clock.now() ? ticket : null;
    const resume = live && options.resume !== 'off' ? this.startResume(vehicle, live, first) : null;
    // Full path ahead: do its challenge-independent work while the radio brings msg 1.
    const pre = live ? undefined : precomputeFullAuth(this.crypto, vehicle);
    const challenge = resume ? null : await this.receiveChallenge(link, vehicle, options.signal);
    const session = new PhoneSession(this, link, vehicle);
    try {
      if (resume) await session.resume(resume, first, live!, options.signal);
      else await session.handshake(challenge!, first, live, pre, options.signal);
    } catch (e) {
      this.settleRequest(vehicleId, first, e instanceof DigitalKeyError && e.mayHaveSucceeded);
      // Free the vehicle's link slot at once rather than leaving it to its idle timeout.
      await link.close('handshake failed').catch(() => undefined);
      throw options.signal?.aborted ? asAbortError(e, options.signal) : e;
    }
    this.settleRequest(vehicleId, first, session.firstResult.status === STATUS.handlerTimeout);
    return session;
  }

  /** Connects, runs one command, closes. Throws a typed error unless the command succeeded. */
  async command(link: Link, vehicleId: Uint8Array, request: CommandRequest, options: ConnectOptions = {}): Promise<CommandResult> {
    const session = await this.connect(link, vehicleId, request, options);
    try {
      return expectOk(session.firstResult);
    } finally {
      await session.close();
    }
  }

  /**
   * Pairs this phone as an owner with the code the car shows (SPAKE2+, docs/PROTOCOL.md §10).
   * The link stays open afterwards: `connect` can follow on it.
   */
  async pair(link: Link, code: string, options: PhonePairOptions = {}): Promise<PairedVehicle> {
    const { signal } = options;
    checkAborted(signal);
    try {
      return await pairWithCode(this, abortableLink(link, signal), code, options);
    } catch (e) {
      if (!signal?.aborted) throw e;
      // A half-run PAKE cannot resume: free the car's pairing slot now.
      await link.close('pairing aborted').catch(() => undefined);
      throw asAbortError(e, signal);
    }
  }

  /**
   * Opens an owner session for the management calls ({@link PhoneSession.listKeys} and the
   * rest). The handshake carries a first listKeys page, so a key that is not an owner is told
   * at once (PolicyError `NOT_PERMITTED`) and the link is closed.
   */
  async manage(link: Link, vehicleId: Uint8Array, options: ConnectOptions = {}): Promise<PhoneSession> {
    const session = await this.connect(link, vehicleId, { id: MGMT_COMMAND.listKeys }, options);
    try {
      expectOk(session.firstResult);
    } catch (e) {
      await session.close().catch(() => undefined);
      throw e;
    }
    return session;
  }

  /**
   * Shares access to a vehicle with a friend's key, offline, and returns the share text
   * (base64url, fits a QR code) for the friend's `importShare`. A simpler front to
   * {@link Phone.shareKey}, which also returns the grant id for an early revokeGrant.
   */
  async share(vehicleId: Uint8Array, options: ShareOptions): Promise<string> {
    checkAborted(options.signal);
    const { text } = await this.shareKey(vehicleId, {
      subjectKey: options.friendKey,
      commands: options.commands ?? [COMMAND.unlock, COMMAND.lock],
      notBeforeMs: options.from === undefined ? this.clock.now() : toMs(options.from, 'from'),
      notAfterMs: toMs(options.until, 'until'),
      ...(options.useLimit !== undefined ? { useLimit: options.useLimit } : {}),
      ...(options.canShare !== undefined ? { canShare: options.canShare } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
    });
    // The signer may have waited on a biometric prompt: honour an abort that came meanwhile.
    checkAborted(options.signal);
    return text;
  }

  /**
   * Shares this phone's access to a vehicle with a friend's phone key, offline: signs a grant
   * (docs/PROTOCOL.md §8) and returns the share bundle as base64url text (short enough for a QR
   * code) for any channel. The vehicle checks it at the friend's first unlock. A friend's phone
   * may re-share only if its own grant allows it, and never with wider rights.
   */
  async shareKey(vehicleId: Uint8Array, options: Omit<IssueGrantOptions, 'vehicleId'>): Promise<{ text: string; grantId: Uint8Array }> {
    const vehicle = await this.store.getVehicle(vehicleId);
    if (!vehicle) throw new UsageError('UNKNOWN_VEHICLE', 'this phone is not paired with that vehicle');
    const grant = await issueGrant(this.crypto, this.signer, { ...options, vehicleId });
    const grants = [...(vehicle.grants ?? []), grant];
    const text = encodeShareBundle({
      vehicleId,
      vehiclePublicKey: vehicle.publicKey,
      grants,
      ...(vehicle.advertisingKey ? { advertisingKey: vehicle.advertisingKey } : {}),
    });
    return { text, grantId: decodeGrant(grant).body.grantId };
  }

  /** Unlocks (one connection, one command). */
  unlock(link: Link, vehicleId: Uint8Array, options: ConnectOptions = {}): Promise<CommandResult> {
    return this.command(link, vehicleId, { id: COMMAND.unlock }, options);
  }

  /** The ResumeAuth for this ticket and command, or null when either may not resume (src/phone/resume.ts). */
  private startResume(vehicle: PairedVehicle, ticket: StoredTicket, first: CommandRequest): { state: ResumeSent; bytes: Uint8Array } | null {
    if (!this.resumeCommands.has(first.id) || this.fullPathCommands.has(first.id)) return null;
    const age = resumeAgeMs(ticket, this.clock.now());
    return age === null ? null : createResumeAuth(this.crypto, vehicle, ticket, Phone.toCommand(first), age);
  }

  /** @internal Receives msg 1, telling a BUSY vehicle apart. */
  async receiveChallenge(link: Link, vehicle: PairedVehicle, signal?: AbortSignal): Promise<Challenged> {
    const bytes = await link.receive({ timeoutMs: this.responseTimeoutMs, signal });
    try {
      return consumeChallenge(this.crypto, vehicle, bytes);
    } catch (e) {
      if (clearStatusOf(bytes) === STATUS.busy) throw new TransportError('VEHICLE_BUSY', 'the vehicle is busy with other phones; retry shortly');
      throw e;
    }
  }

  /**
   * @internal Queues store writes that follow a result (next ticket, spent grants). A failed
   * write only means the next connection takes the full path.
   */
  afterResult(write: () => Promise<void>): void {
    // A zero-delay timer on the injected clock: the write starts only after the result has
    // reached the app (a Keychain or file write can take milliseconds on a phone).
    const later = () => new Promise<void>((resolve) => this.clock.setTimeout(resolve, 0));
    this.pendingWrites = this.pendingWrites.then(later).then(write).catch(() => undefined);
  }

  /** Resolves once every queued store write has finished. */
  flush(): Promise<void> {
    return this.pendingWrites;
  }

  /** @internal Whether a command must ride a fresh full handshake. */
  needsFresh(id: number): boolean {
    return this.fullPathCommands.has(id);
  }

  /** @internal Encodes a request. */
  static toCommand(req: CommandRequest): CommandMsg {
    const cmd: CommandMsg = { id: req.id };
    if (req.userPresent) cmd.flags = COMMAND_FLAG.userPresent;
    if (req.data && req.data.length > 0) cmd.data = req.data;
    if (req.requestId) cmd.requestId = req.requestId;
    return cmd;
  }

  /**
   * @internal The request with its request id: the app's, the one of an uncertain earlier
   * attempt of the same command (same car, same argument, within RETRY_WINDOW_MS), or a new one.
   */
  withRequestId(vehicleId: Uint8Array, req: CommandRequest): CommandRequest {
    if (req.requestId) return req;
    const slot = uncertainKey(vehicleId, req.id);
    const previous = this.uncertain.get(slot);
    const data = req.data ? toHexString(req.data) : '';
    if (previous && previous.data === data && this.clock.now() - previous.atMs <= RETRY_WINDOW_MS) return { ...req, requestId: previous.requestId };
    return { ...req, requestId: this.crypto.randomBytes(REQUEST_ID_BYTES) };
  }

  /** @internal Remembers or forgets a request's id after an attempt (uncertain, or settled). */
  settleRequest(vehicleId: Uint8Array, req: CommandRequest, uncertain: boolean): void {
    const slot = uncertainKey(vehicleId, req.id);
    if (uncertain && req.requestId) this.uncertain.set(slot, { requestId: req.requestId, data: req.data ? toHexString(req.data) : '', atMs: this.clock.now() });
    else this.uncertain.delete(slot);
  }
}

/** An authenticated session with one vehicle over one link. */
export class PhoneSession {
  private channel: Channel | null = null;
  /** Which path the latest handshake took. */
  path: 'full' | 'fast' | 'resume' = 'full';
  /** Result of the command carried in the latest handshake. */
  firstResult!: CommandResult;

  constructor(
    private readonly phone: Phone,
    private readonly link: Link,
    private readonly vehicle: PairedVehicle,
  ) {}

  /** Sends a command on the session (or on a fresh handshake when it needs one, e.g. start). */
  async send(request: CommandRequest, options: { fresh?: boolean; signal?: AbortSignal } = {}): Promise<CommandResult> {
    const withId = this.phone.withRequestId(this.vehicle.vehicleId, request);
    try {
      const result = await this.sendOnce(withId, options);
      this.phone.settleRequest(this.vehicle.vehicleId, withId, false);
      return result;
    } catch (e) {
      this.phone.settleRequest(this.vehicle.vehicleId, withId, e instanceof DigitalKeyError && e.mayHaveSucceeded);
      throw e;
    }
  }

  private async sendOnce(request: CommandRequest, options: { fresh?: boolean; signal?: AbortSignal }): Promise<CommandResult> {
    const channel = this.requireChannel();
    const crypto = this.phone.crypto;
    if (options.fresh || this.phone.needsFresh(request.id)) {
      await this.sendFrame(sealFrame(crypto, channel, encodeMessage(CommandSchema, { id: RECHALLENGE_COMMAND })), false);
      closeChannel(channel);
      this.channel = null;
      const pre = precomputeFullAuth(crypto, this.vehicle);
      const challenge = await this.phone.receiveChallenge(this.link, this.vehicle, options.signal);
      await this.handshake(challenge, request, null, pre, options.signal);
      return expectOk(this.firstResult);
    }
    await this.sendFrame(sealFrame(crypto, channel, encodeMessage(CommandSchema, Phone.toCommand(request))), true);
    const bytes = await this.receive(true, options.signal);
    let frame;
    try {
      frame = openFrame(crypto, channel, bytes);
    } catch (e) {
      throw afterSend(e);
    }
    if ('status' in frame) throw clearStatusError(frame.status, 'the vehicle ended the session');
    return expectOk(toResult(decodeMessage(ResultSchema, frame.plaintext)));
  }

  /** Owner calls on this session (see session-owner.ts). */
  private get owner(): OwnerApi {
    return new OwnerApi((request, options) => this.send(request, options));
  }

  /** Every key enrolled in the car (owner only). */
  listKeys(options?: OwnerCallOptions): Promise<KeyEntry[]> {
    return this.owner.listKeys(options);
  }

  /** Revokes a key at once (owner only). */
  revokeKey(keyId: Uint8Array, options?: OwnerCallOptions): Promise<void> {
    return this.owner.revokeKey(keyId, options);
  }

  /** Revokes a grant by id, used or not (owner only). */
  revokeGrant(grantId: Uint8Array, options?: OwnerCallOptions & { notAfterMs?: number | Date }): Promise<void> {
    return this.owner.revokeGrant(grantId, options);
  }

  /** Suspends a key until resumed (owner only). */
  suspendKey(keyId: Uint8Array, options?: OwnerCallOptions): Promise<void> {
    return this.owner.suspendKey(keyId, options);
  }

  /** Lifts a suspension (owner only). */
  resumeKey(keyId: Uint8Array, options?: OwnerCallOptions): Promise<void> {
    return this.owner.resumeKey(keyId, options);
  }

  /** Renames a key in the car's list (owner only). */
  renameKey(keyId: Uint8Array, name: string, options?: OwnerCallOptions): Promise<void> {
    return this.owner.renameKey(keyId, name, options);
  }

  /** Reads audit records with times in JS ms (owner only). */
  readAudit(options?: ReadAuditOptions): Promise<{ total: number; records: AuditEntry[] }> {
    return this.owner.readAudit(options);
  }

  /** Closes the session and the link; wipes the session keys; waits for the store writes. */
  async close(): Promise<void> {
    if (this.channel) closeChannel(this.channel);
    this.channel = null;
    await this.link.close('phone closed the session');
    await this.phone.flush();
  }

  /** @internal Fast path when a live ticket is held and allowed, full path otherwise or on RETRY_FULL. */
  async handshake(
    challenge: Challenged,
    first: CommandRequest,
    ticket: StoredTicket | null,
    pre: FullAuthPrecomputed | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const { crypto } = this.phone;
    const command = Phone.toCommand(first);
    let outcome: HandshakeOutcome | null = null;
    if (ticket) {
      const { state, bytes } = createFastAuth(crypto, challenge, ticket, command);
      wipe(ticket.resumptionSecret);
      await this.sendFrame(bytes, true);
      outcome = this.consume(state, await this.receive(true, signal));
      this.path = 'fast';
      if (outcome.kind === 'clear' && outcome.status === STATUS.retryFull) outcome = null;
    }
    if (!outcome) {
      const { state: signing, toBeSigned } = prepareFullAuth(crypto, challenge, this.phone.keyId, command, pre);
      let signature: Uint8Array;
      try {
        signature = await this.phone.signer.sign(toBeSigned);
      } catch (e) {
        // E.g. the user cancelled the biometric prompt: nothing was sent, wipe the keys.
        wipe(signing.kAuth, signing.chain);
        throw e;
      }
      const { state, bytes } = createFullAuth(crypto, signing, signature, this.vehicle.grants);
      await this.sendFrame(bytes, true);
      outcome = this.consume(state, await this.receive(true, signal));
      this.path = 'full';
    }
    this.settle(outcome, ticket);
  }

  /**
   * @internal The resume path (docs/PROTOCOL.md §14): the ResumeAuth leaves right after
   * subscribing; the Challenge the vehicle sent meanwhile gives the keys for its answer. On
   * RETRY_FULL, a signed full Auth follows on that same Challenge.
   */
  async resume(sent: { state: ResumeSent; bytes: Uint8Array }, first: CommandRequest, ticket: StoredTicket, signal?: AbortSignal): Promise<void> {
    wipe(ticket.resumptionSecret);
    let challenge: Challenged;
    try {
      await this.sendFrame(sent.bytes, true);
      challenge = await this.phone.receiveChallenge(this.link, this.vehicle, signal);
    } catch (e) {
      abandonResume(sent.state);
      throw afterSend(e);
    }
    const awaiting = completeResume(this.phone.crypto, sent.state, challenge);
    const outcome = this.consume(awaiting, await this.receive(true, signal));
    this.path = 'resume';
    if (outcome.kind === 'clear' && outcome.status === STATUS.retryFull) return this.handshake(challenge, first, null, undefined, signal);
    this.settle(outcome, ticket);
  }

  /** The handshake's outcome: the session and its first result, then the next ticket filed after it. */
  private settle(outcome: HandshakeOutcome, ticket: StoredTicket | null): void {
    const { store, clock } = this.phone;
    if (outcome.kind === 'clear') throw clearStatusError(outcome.status, 'the vehicle refused this key');
    this.channel = outcome.channel;
    this.firstResult = toResult(outcome.result);
    // The result is the app's; the bookkeeping below runs after it (connect awaits it first).
    // As on the vehicle, a ticket made on a ticket path keeps its predecessor's expiry.
    const expiresAt = Math.min(ticket && this.path !== 'full' ? ticket.expiresAt : Infinity, clock.now() + TICKET_LIFETIME_MS);
    const next = { ...outcome.ticket, expiresAt, receivedAt: clock.now() };
    this.phone.afterResult(async () => {
      await store.putTicket(this.vehicle.vehicleId, next);
      if (this.vehicle.grants) {
        // The vehicle answered under a session key: it has enrolled this key, the grants are spent.
        const { grants: _spent, ...rest } = this.vehicle;
        await store.putVehicle(rest);
      }
    });
  }

  private consume(state: Parameters<typeof consumeResult>[1], bytes: Uint8Array): HandshakeOutcome {
    try {
      return consumeResult(this.phone.crypto, state, bytes);
    } catch (e) {
      throw afterSend(e);
    }
  }

  private requireChannel(): Channel {
    if (!this.channel || !this.channel.open) throw new ProtocolError('SESSION_CLOSED', 'the session is closed; connect again');
    return this.channel;
  }

  private async sendFrame(bytes: Uint8Array, carriesCommand: boolean): Promise<void> {
    try {
      await this.link.send(bytes, { timeoutMs: this.phone.responseTimeoutMs });
    } catch (e) {
      throw carriesCommand ? afterSend(e) : e;
    }
  }

  private async receive(afterCommand: boolean, signal?: AbortSignal): Promise<Uint8Array> {
    try {
      return await this.link.receive({ timeoutMs: this.phone.responseTimeoutMs, signal });
    } catch (e) {
      throw afterCommand ? afterSend(e) : e;
    }
  }
}

function uncertainKey(vehicleId: Uint8Array, command: number): string {
  return `${toHexString(vehicleId)}/${command}`;
}

/** A failure after the command left the phone: it may have run. */
function afterSend(e: unknown): DigitalKeyError {
  if (e instanceof AbortError) return new AbortError('operation aborted; the command may have run', { mayHaveSucceeded: true, cause: e });
  if (e instanceof TimeoutError) return new TimeoutError('NO_RESPONSE', 'no answer from the vehicle; the command may have run', { mayHaveSucceeded: true, cause: e });
  if (e instanceof TransportError) return new TransportError(e.code, `${e.message}; the command may have run`, { mayHaveSucceeded: true, cause: e });
  if (e instanceof DigitalKeyError) return new ProtocolError(e.code, `${e.message}; the command may have run`, { mayHaveSucceeded: true, retryable: true, cause: e });
  return new ProtocolError('INTERNAL', 'unexpected failure after the command was sent', { mayHaveSucceeded: true, cause: e });
}

/**
 * A clear status is unauthenticated: anyone on the air can forge one in place of the sealed
 * Result. After the command has left the phone it therefore cannot prove the command did not
 * run, so `mayHaveSucceeded` is true.
 */
function clearStatusError(status: number, refusal: string): DigitalKeyError {
  const options = { mayHaveSucceeded: true };
  if (status === STATUS.busy) return new TransportError('VEHICLE_BUSY', 'the vehicle is busy with other phones; retry shortly', options);
  // The vehicle says nothing more on purpose (no oracle).
  return new AuthenticationError('REJECTED', refusal, options);
}

function toResult(r: ResultMsg): CommandResult {
  const out: CommandResult = { ok: r.status === STATUS.ok, status: r.status, code: STATUS_NAME[r.status] ?? `STATUS_${r.status}` };
  if (r.data) out.data = r.data;
  return out;
}

/** Returns an ok result, or throws the typed error for its status. */
export function expectOk(r: CommandResult): CommandResult {
  if (r.ok) return r;
  // The handler ran (or started) for both: a handler that threw may already have actuated.
  const mayHaveSucceeded = r.status === STATUS.handlerTimeout || r.status === STATUS.handlerFailed;
  throw new PolicyError(r.code, `the vehicle refused the command: ${r.code}`, { mayHaveSucceeded, retryable: mayHaveSucceeded || r.status === STATUS.freshChallengeRequired });
}
