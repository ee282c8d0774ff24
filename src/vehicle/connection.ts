/**
 * One served link on the vehicle: the async driver that runs the pure handshake
 * (src/protocol/vehicle-handshake.ts) and the secure channel over a Link, with timeouts on the
 * injected clock. Every failure ends here: the phone gets one generic clear status, nothing runs,
 * the audit log gets the reason.
 */
import { fromHex, toHex } from '../crypto/bytes.js';
import { wipe } from '../crypto/provider.js';
import type { Link } from '../transport/link.js';
import { COMMAND_FLAG, RECHALLENGE_COMMAND, STATUS, STATUS_NAME, TICKET_LIFETIME_MS } from '../protocol/constants.js';
import { closeChannel, createChannel, openFrame, sealFrame, type Channel } from '../protocol/channel.js';
import { encodeMessage, decodeMessage } from '../wire/schema.js';
import { CommandSchema, FrameSchema, ResultSchema, type CommandMsg, type ResultMsg } from '../protocol/messages.js';
import {
  abandonHandshake,
  consumeAuth,
  finishHandshake,
  openFastAuth,
  openFullAuth,
  verifyFullAuth,
  type OpenedFastAuth,
  type OpenedFullAuth,
  type VehicleHandshake,
} from '../protocol/vehicle-handshake.js';
import { evaluatePolicy } from './policy.js';
import { runHandler } from './run-handler.js';
import type { AuditEvent, KeyRecord, TicketRecord } from './store.js';
import type { Vehicle } from './vehicle.js';
import { resolveKey } from './resolve-key.js';
import { Refusal, errorCode } from './refusal.js';
import { handleManagement, isManagement } from './management.js';
import { PairingWindows } from './pairing.js';

/** Facts about the radio link that policies may use. */
export interface LinkInfo {
  /** Current RSSI of this link in dBm (integrator's BLE stack). */
  rssi?: () => Promise<number> | number;
}

/** An authenticated session on a link. */
interface Established {
  channel: Channel;
  key: KeyRecord;
  path: 'full' | 'fast';
}

/** @internal Drives one link. */
export class Connection {
  /** Hex key id once the phone is authenticated (for revocation). */
  keyIdHex: string | undefined;

  constructor(
    private readonly vehicle: Vehicle,
    private readonly link: Link,
    private readonly info: LinkInfo,
  ) {}

  private get cfg() {
    return this.vehicle.config;
  }

  /** Runs handshakes and sessions until the link closes. Never rejects. */
  async run(): Promise<void> {
    try {
      for (;;) {
        const session = await this.handshake();
        if (session === 'again') continue;
        if (!session || !(await this.sessionLoop(session))) break;
      }
    } catch {
      // Unreachable by design (every step catches); kept so serve() can never reject.
    } finally {
      await this.close('session ended');
    }
  }

  /** Closes the link. */
  async close(reason: string): Promise<void> {
    await this.link.close(reason).catch(() => undefined);
  }

  /** One handshake with its first command. Returns the session, null if it failed, 'again' after a pairing. */
  private async handshake(): Promise<Established | null | 'again'> {
    const now = () => this.cfg.clock.now();
    if (!this.vehicle.tryBeginHandshake()) {
      await this.vehicle.audit({ timeMs: now(), outcome: 'BUSY', detail: 'handshake concurrency cap reached' });
      await this.sendClear(STATUS.busy);
      return null;
    }
    const { state, bytes } = this.vehicle.nextChallenge();
    try {
      // The relay bound runs from the moment the challenge leaves: its own flight counts.
      const sentAt = now();
      await this.link.send(bytes, { timeoutMs: this.cfg.handshakeTimeoutMs });
      const auth = await this.authenticate(state, sentAt);
      if ('pairStart' in auth) {
        await this.pair(bytes, auth.pairStart);
        return 'again';
      }
      const { opened, key, receivedAt, ticketExpiresAt } = auth;
      const { established, ticket } = this.establish(opened, key, ticketExpiresAt);
      const { result, audit } = await this.execute(established, opened.path === 'full' ? opened.body.command : opened.command, true, receivedAt - sentAt);
      await this.link.send(sealFrame(this.cfg.crypto, established.channel, encodeMessage(ResultSchema, result)));
      // Off the critical path, after the answer: filing the next ticket late is safe (a crash
      // in between only makes the phone fall back to the full path once), and the audit record
      // is a log, not a precondition. The used ticket was deleted durably before anything ran.
      await this.afterAnswer(ticket, audit);
      return established;
    } catch (e) {
      await this.refuse(e);
      return null;
    } finally {
      abandonHandshake(state);
      this.vehicle.endHandshake();
      this.vehicle.refillChallengePool();
    }
  }

  /** Receives Auth (and, after a fast-path miss, the full retry) and authenticates the phone. */
  private async authenticate(
    state: VehicleHandshake,
    sentAt: number,
  ): Promise<{ opened: OpenedFullAuth | OpenedFastAuth; key: KeyRecord; receivedAt: number; ticketExpiresAt: number } | { pairStart: Uint8Array }> {
    const deadline = sentAt + this.cfg.handshakeTimeoutMs;
    for (;;) {
      const bytes = await this.link.receive({ timeoutMs: Math.max(1, deadline - this.cfg.clock.now()) });
      const receivedAt = this.cfg.clock.now();
      if (this.vehicle.pairing.isOpen && PairingWindows.isPairStart(bytes)) return { pairStart: bytes };
      const auth = consumeAuth(state, bytes);
      if (auth.ticketId !== undefined) {
        const ticket = await this.cfg.store.takeTicket(auth.ticketId);
        // Every fast-path failure, a revoked key's ticket included, is the same RETRY_FULL.
        const key = ticket && ticket.expiresAt > receivedAt ? this.cfg.store.getKey(ticket.keyId) : undefined;
        const opened = openFastAuth(this.cfg.crypto, state, auth, key && ticket ? ticket.resumptionSecret : null);
        if (ticket) wipe(ticket.resumptionSecret);
        if (opened && key && ticket) return { opened, key, receivedAt, ticketExpiresAt: ticket.expiresAt };
        await this.vehicle.audit({ timeMs: receivedAt, path: 'fast', outcome: 'RETRY_FULL', detail: ticket ? 'TICKET_INVALID' : 'TICKET_UNKNOWN' });
        await this.sendClear(STATUS.retryFull);
        continue;
      }
      const opened = openFullAuth(this.cfg.crypto, this.vehicle.identity, state, auth);
      try {
        const key = await resolveKey(this.vehicle, opened);
        if (!verifyFullAuth(this.cfg.crypto, opened, key.publicKey)) throw new Refusal(STATUS.rejected, 'BAD_SIGNATURE', toHex(opened.body.keyId));
        const record = key.pendingEnrollment ? await this.enrollFromGrant(key.record) : key.record;
        return { opened, key: record, receivedAt, ticketExpiresAt: Number.POSITIVE_INFINITY };
      } catch (e) {
        wipe(opened.keys.chain);
        throw e;
      }
    }
  }

  /**
   * Files a key enrolled by a grant chain, under the registry lock: a link of its chain revoked
   * meanwhile refuses it, and a second link enrolling the same key concurrently gets the record
   * the first one filed (its uses are not counted twice).
   */
  private enrollFromGrant(record: KeyRecord): Promise<KeyRecord> {
    const { store } = this.cfg;
    return this.vehicle.exclusive(async () => {
      const existing = store.getKey(record.keyId);
      if (existing) return existing;
      if ((record.chainGrantIds ?? []).some((id) => store.isGrantRevoked(fromHex(id)))) throw new Refusal(STATUS.rejected, 'GRANT_REVOKED', toHex(record.keyId));
      await store.putKey(record);
      return record;
    });
  }

  /**
   * Bookkeeping after msg 3 left: a failure here must not turn into a clear REJECTED inside a
   * session that is already open. A lost ticket only costs the phone one fallback; it is audited.
   */
  private async afterAnswer(ticket: TicketRecord, audit: AuditEvent): Promise<void> {
    try {
      await this.cfg.store.putTicket(ticket);
    } catch (e) {
      await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: this.keyIdHex, outcome: 'TICKET_NOT_FILED', detail: errorCode(e) });
    }
    await this.vehicle.audit(audit);
  }

  /** Owner pairing on this link; on success the phone is enrolled as an owner and told who we are. */
  private async pair(challengeBytes: Uint8Array, startBytes: Uint8Array): Promise<void> {
    const now = () => this.cfg.clock.now();
    try {
      const paired = await this.vehicle.pairing.run(this.link, challengeBytes, startBytes, this.cfg.handshakeTimeoutMs);
      const record = await this.vehicle.enrollOwner(paired.publicKey, paired.name, 'pairing');
      await paired.welcome(this.vehicle.peer);
      await this.vehicle.audit({ timeMs: now(), keyId: toHex(record.keyId), path: 'pairing', outcome: 'PAIRED' });
    } catch (e) {
      throw new Refusal(STATUS.rejected, `PAIRING_FAILED:${errorCode(e)}`);
    }
  }

  /**
   * Derives the session and the key's next single-use ticket (filed by the caller). A ticket
   * made on the fast path keeps its predecessor's expiry: a copied ticket cannot renew itself
   * forever, and a signed full handshake is needed at least once per TICKET_LIFETIME_MS.
   */
  private establish(
    opened: OpenedFullAuth | OpenedFastAuth,
    key: KeyRecord,
    previousExpiry: number,
  ): { established: Established; ticket: TicketRecord } {
    const keys = finishHandshake(this.cfg.crypto, opened);
    const expiresAt = Math.min(previousExpiry, this.cfg.clock.now() + TICKET_LIFETIME_MS);
    const ticket = { ticketId: keys.ticketId, keyId: key.keyId, resumptionSecret: keys.resumptionSecret, expiresAt };
    this.keyIdHex = toHex(key.keyId);
    return { established: { channel: createChannel('vehicle', keys), key, path: opened.path }, ticket };
  }

  /** Serves commands on an established session. Returns true if the phone asked for a new challenge. */
  private async sessionLoop(s: Established): Promise<boolean> {
    try {
      for (;;) {
        const bytes = await this.link.receive({ timeoutMs: this.cfg.idleTimeoutMs });
        const frame = openFrame(this.cfg.crypto, s.channel, bytes);
        if (!('plaintext' in frame)) return false;
        const command = decodeMessage(CommandSchema, frame.plaintext);
        if (command.id === RECHALLENGE_COMMAND) return true;
        const current = this.cfg.store.getKey(s.key.keyId);
        if (!current) throw new Refusal(STATUS.rejected, 'KEY_REVOKED_IN_SESSION', this.keyIdHex);
        s.key = current;
        const { result, audit } = await this.execute(s, command, false, 0);
        await this.link.send(sealFrame(this.cfg.crypto, s.channel, encodeMessage(ResultSchema, result)));
        await this.vehicle.audit(audit);
      }
    } catch (e) {
      if (e instanceof Refusal) await this.refuse(e);
      else if (!this.link.isClosed) await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: this.keyIdHex, path: s.path, outcome: 'SESSION_ENDED', detail: errorCode(e) });
      return false;
    } finally {
      closeChannel(s.channel);
    }
  }

  /** Policy, then the handler (or a management command). Always audited. */
  private async execute(
    s: Established,
    command: CommandMsg,
    inHandshake: boolean,
    challengeToAuthMs: number,
  ): Promise<{ result: ResultMsg; audit: AuditEvent }> {
    const nowMs = this.cfg.clock.now();
    const policy = this.cfg.policies.get(command.id);
    const keyId = toHex(s.key.keyId);
    const flags = command.flags ?? 0;
    const rssiDbm = policy?.minRssiDbm !== undefined && this.info.rssi ? await this.info.rssi() : undefined;
    const proximityOk = policy?.requireProximity && this.cfg.proximityCheck ? await this.cfg.proximityCheck({ keyId, command: command.id }) : undefined;
    let outcome: { status: number; data?: Uint8Array; detail?: string } = {
      status: evaluatePolicy({ key: s.key, command: command.id, flags, path: s.path, inHandshake, challengeToAuthMs, nowMs, rssiDbm, proximityOk }, policy),
    };
    if (outcome.status === STATUS.ok) outcome = await this.dispatch(s, command);
    const audit: AuditEvent = { timeMs: this.cfg.clock.now(), keyId, command: command.id, path: s.path, outcome: STATUS_NAME[outcome.status] ?? String(outcome.status), detail: outcome.detail };
    return { result: outcome.data ? { status: outcome.status, data: outcome.data } : { status: outcome.status }, audit };
  }

  private async dispatch(s: Established, command: CommandMsg): Promise<{ status: number; data?: Uint8Array; detail?: string }> {
    if (isManagement(command.id)) return handleManagement(this.vehicle, s.key, command);
    const handler = this.cfg.handlers.get(command.id);
    if (!handler) return { status: STATUS.unknownCommand };
    if (s.key.usesLeft !== undefined) {
      // Spend the use durably before running (a crash must not give a use back), under the
      // registry lock with a fresh read (two links must not both spend the last use).
      const spent = await this.vehicle.exclusive(async () => {
        const current = this.cfg.store.getKey(s.key.keyId);
        if (!current || current.usesLeft === undefined || current.usesLeft <= 0) return null;
        const next = { ...current, usesLeft: current.usesLeft - 1 };
        await this.cfg.store.putKey(next);
        return next;
      });
      if (!spent) return { status: STATUS.useLimitReached };
      s.key = spent;
    }
    return runHandler(
      handler,
      { command: command.id, data: command.data, keyId: toHex(s.key.keyId), keyName: s.key.name, role: s.key.role, path: s.path, userPresent: ((command.flags ?? 0) & COMMAND_FLAG.userPresent) !== 0 },
      this.cfg.clock,
      this.cfg.handlerTimeoutMs,
    );
  }

  /** Generic refusal: one clear status for the phone, the reason for the audit log. */
  private async refuse(e: unknown): Promise<void> {
    if (this.link.isClosed) {
      await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: e instanceof Refusal ? e.keyIdHex : this.keyIdHex, outcome: 'LINK_CLOSED', detail: errorCode(e) });
      return;
    }
    const status = e instanceof Refusal ? e.status : STATUS.rejected;
    await this.vehicle.audit({
      timeMs: this.cfg.clock.now(),
      keyId: e instanceof Refusal ? e.keyIdHex : undefined,
      outcome: STATUS_NAME[status] ?? 'REJECTED',
      detail: errorCode(e),
    });
    await this.sendClear(status);
  }

  private async sendClear(status: number): Promise<void> {
    await this.link.send(encodeMessage(FrameSchema, { status }), { timeoutMs: this.cfg.handshakeTimeoutMs }).catch(() => undefined);
  }
}
