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
import { AuthenticationError, DigitalKeyError, PolicyError, ProtocolError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { Clock } from '../transport/clock.js';
import { systemClock } from '../transport/clock.js';
import type { Link } from '../transport/link.js';
import { clearStatusOf, closeChannel, openFrame, sealFrame, type Channel } from '../protocol/channel.js';
import { COMMAND, COMMAND_FLAG, RECHALLENGE_COMMAND, REQUEST_ID_BYTES, STATUS, STATUS_NAME, TICKET_LIFETIME_MS } from '../protocol/constants.js';
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
}

/** Options of {@link Phone.connect}. */
export interface ConnectOptions {
  /** Skip the ticket even if one is held. */
  forceFull?: boolean;
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
   * the open session with that command's result. Three messages from subscription to result.
   */
  async connect(link: Link, vehicleId: Uint8Array, request: CommandRequest, options: ConnectOptions = {}): Promise<PhoneSession> {
    await this.flush();
    const first = this.withRequestId(vehicleId, request);
    const vehicle = await this.store.getVehicle(vehicleId);
    if (!vehicle) throw new UsageError('UNKNOWN_VEHICLE', 'this phone is not paired with that vehicle');
    const forceFull = options.forceFull === true || this.fullPathCommands.has(first.id);
    const ticket = forceFull ? null : await this.store.takeTicket(vehicleId);
    const live = ticket && ticket.expiresAt > this.clock.now() ? ticket : null;
    // Full path ahead: do its challenge-independent work while the radio brings msg 1.
    const pre = live ? undefined : precomputeFullAuth(this.crypto, vehicle);
    const challenge = await this.receiveChallenge(link, vehicle, options.signal);
    const session = new PhoneSession(this, link, vehicle);
    try {
      await session.handshake(challenge, first, live, pre, options.signal);
    } catch (e) {
      this.settleRequest(vehicleId, first, e instanceof DigitalKeyError && e.mayHaveSucceeded);
      // Free the vehicle's link slot at once rather than leaving it to its idle timeout.
      await link.close('handshake failed').catch(() => undefined);
      throw e;
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
  pair(link: Link, code: string, options: PairOptions = {}): Promise<PairedVehicle> {
    return pairWithCode(this, link, code, options);
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
  unlock(link: Link, vehicleId: Uint8Array): Promise<CommandResult> {
    return this.command(link, vehicleId, { id: COMMAND.unlock });
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
  path: 'full' | 'fast' = 'full';
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
    const { crypto, store, clock } = this.phone;
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
    if (outcome.kind === 'clear') throw clearStatusError(outcome.status, 'the vehicle refused this key');
    this.channel = outcome.channel;
    this.firstResult = toResult(outcome.result);
    // The result is the app's; the bookkeeping below runs after it (connect awaits it first).
    // As on the vehicle, a ticket made on the fast path keeps its predecessor's expiry.
    const next = { ...outcome.ticket, expiresAt: Math.min(ticket && this.path === 'fast' ? ticket.expiresAt : Infinity, clock.now() + TICKET_LIFETIME_MS) };
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
