/**
 * One served link on the vehicle: the async driver that runs the pure handshake
 * (src/protocol/vehicle-handshake.ts) and the secure channel over a Link, with timeouts on the
 * injected clock. Every failure ends here: the phone gets one generic clear status, nothing runs,
 * the audit log gets the reason.
 */
import { toHex } from '../crypto/bytes.js';
import { wipe } from '../crypto/provider.js';
import type { Link } from '../transport/link.js';
import { RECHALLENGE_COMMAND, STATUS, STATUS_NAME, TICKET_LIFETIME_MS } from '../protocol/constants.js';
import { closeChannel, createChannel, openFrame, sealFrame, type Channel } from '../protocol/channel.js';
import { encodeMessage, decodeMessage } from '../wire/schema.js';
import { CommandSchema, FrameSchema, ResultSchema, type AuthMsg, type CommandMsg, type ResultMsg } from '../protocol/messages.js';
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
import type { KeyRecord, TicketRecord } from './store.js';
import type { Vehicle } from './vehicle.js';
import { authenticateFull } from './resolve-key.js';
import { Refusal, errorCode } from './refusal.js';
import { PairingWindows } from './pairing.js';
import { sealTicketSecret, unsealTicketSecret } from './identity.js';
import { admitCommand, fitResult, runPolicyHooks } from './dispatch.js';
import { decodeResumeAuth, type OpenedResumeAuth, type ResumeAuthMsg } from '../protocol/resume.js';
import { openResume } from './resume.js';

/** Facts about the radio link that policies may use. */
export interface LinkInfo {
  /** Current RSSI of this link in dBm (integrator's BLE stack). */
  rssi?: () => Promise<number> | number;
}

/** An authenticated Auth: the opened message, the key, and the ticket it used (fast path). */
interface Authenticated {
  opened: OpenedFullAuth | OpenedFastAuth | OpenedResumeAuth;
  key: KeyRecord;
  receivedAt: number;
  previous: TicketRecord | null;
}

/** How authenticate() moves a link between the pending FIFO and the Auth work slots. */
interface AuthGate {
  /** A message arrived: leave the FIFO, claim a work slot; false when none is free. */
  arrived(): boolean;
  /** Waiting for another message: free the slot, back into the FIFO. */
  waiting(): void;
}

/** An authenticated session on a link. */
interface Established {
  channel: Channel;
  key: KeyRecord;
  /** Policies and handlers see a resumed session as `fast` (a ticket path); the audit says `resume`. */
  path: 'full' | 'fast';
  resumed?: boolean;
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
    const { state, bytes } = this.vehicle.nextChallenge();
    const admission = this.vehicle.admission;
    const pending = { evict: () => void this.close('evicted: pending handshakes full') };
    admission.admit(pending);
    let working = false;
    // A work slot is held only while a message is being checked: a link that goes back to
    // waiting (after RETRY_FULL) returns to the evictable pending FIFO and frees its slot, so
    // keyless peers sending bogus tickets cannot hold the slots.
    const gate: AuthGate = {
      arrived() {
        admission.leave(pending);
        if (!working) working = admission.tryWork();
        return working;
      },
      waiting() {
        if (working) admission.endWork();
        working = false;
        admission.admit(pending);
      },
    };
    try {
      // The relay bound runs from the moment the challenge leaves: its own flight counts.
      const sentAt = now();
      await this.link.send(bytes, { timeoutMs: this.cfg.handshakeTimeoutMs });
      const auth = await this.authenticate(state, sentAt, gate);
      if (auth === 'busy') {
        await this.vehicle.audit({ timeMs: now(), outcome: 'BUSY', detail: 'Auth work slots full' });
        await this.sendClear(STATUS.busy);
        return null;
      }
      if ('pairStart' in auth) {
        await this.pair(bytes, auth.pairStart);
        return 'again';
      }
      const { opened, key, receivedAt, previous } = auth;
      const { established, ticket } = this.establish(opened, key, previous);
      const command = opened.path === 'full' ? opened.body.command : opened.command;
      const result = await this.execute(established, command, true, receivedAt - sentAt);
      await this.link.send(sealFrame(this.cfg.crypto, established.channel, encodeMessage(ResultSchema, result)));
      // Off the critical path, after the answer: filing the next ticket late is safe (a crash
      // in between only makes the phone fall back to the full path once). The used ticket was
      // deleted durably, and the command audited, before the answer.
      await this.afterAnswer(ticket);
      return established;
    } catch (e) {
      await this.refuse(e);
      return null;
    } finally {
      admission.leave(pending);
      if (working) admission.endWork();
      abandonHandshake(state);
      this.vehicle.refillChallengePool();
    }
  }

  /**
   * Receives Auth (and, after a fast-path miss, the full retry) and authenticates the phone.
   * `gate.arrived` is called when a message arrives (out of the pending FIFO, claim an Auth work
   * slot; 'busy' when none is free), `gate.waiting` when the link waits again.
   */
  private async authenticate(state: VehicleHandshake, sentAt: number, gate: AuthGate): Promise<Authenticated | { pairStart: Uint8Array } | 'busy'> {
    const deadline = sentAt + this.cfg.handshakeTimeoutMs;
    for (;;) {
      const bytes = await this.link.receive({ timeoutMs: Math.max(1, deadline - this.cfg.clock.now()) });
      const receivedAt = this.cfg.clock.now();
      if (this.vehicle.pairing.isOpen && PairingWindows.isPairStart(bytes)) {
        gate.arrived();
        return { pairStart: bytes };
      }
      if (!gate.arrived()) return 'busy';
      const resume = decodeResumeAuth(bytes);
      if (resume) {
        const resumed = await this.openResume(state, resume, receivedAt);
        if (resumed) return resumed;
        await this.sendClear(STATUS.retryFull);
        gate.waiting();
        continue;
      }
      const auth = consumeAuth(state, bytes);
      if (auth.ticketId !== undefined) {
        const fast = await this.openFast(state, auth, receivedAt);
        if (fast) return fast;
        await this.sendClear(STATUS.retryFull);
        gate.waiting();
        continue;
      }
      const opened = openFullAuth(this.cfg.crypto, this.vehicle.identity, state, auth);
      try {
        const key = await authenticateFull(this.vehicle, opened);
        return { opened, key, receivedAt, previous: null };
      } catch (e) {
        wipe(opened.keys.chain);
        throw e;
      }
    }
  }

  /** The fast path: take the ticket (durably, single use), unseal its secret, open the Auth. */
  private async openFast(state: VehicleHandshake, auth: AuthMsg, receivedAt: number): Promise<Authenticated | null> {
    const { crypto, store } = this.cfg;
    const ticket = await store.takeTicket(auth.ticketId!);
    // Every fast-path failure, a revoked key's ticket included, is the same RETRY_FULL.
    const key = ticket && ticket.expiresAt > this.vehicle.now() ? store.getKey(ticket.keyId) : undefined;
    const secret = key && ticket ? unsealTicketSecret(crypto, this.vehicle.ticketSealKey, ticket.ticketId, ticket.keyId, ticket.sealedSecret) : null;
    const opened = openFastAuth(crypto, state, auth, secret);
    wipe(secret);
    if (opened && key && ticket) return { opened, key, receivedAt, previous: ticket };
    const detail = !ticket ? 'TICKET_UNKNOWN' : secret === null && key ? 'TICKET_UNSEALABLE' : 'TICKET_INVALID';
    await this.vehicle.audit({ timeMs: receivedAt, path: 'fast', outcome: 'RETRY_FULL', detail });
    return null;
  }

  /** The resume path (src/vehicle/resume.ts): authenticated, or audited as a miss (RETRY_FULL follows). */
  private async openResume(state: VehicleHandshake, msg: ResumeAuthMsg, receivedAt: number): Promise<Authenticated | null> {
    const out = await openResume(this.vehicle, state, msg);
    if (!('miss' in out)) return { ...out, receivedAt };
    await this.vehicle.audit({ timeMs: receivedAt, path: 'resume', outcome: 'RETRY_FULL', detail: out.miss });
    return null;
  }

  /**
   * Bookkeeping after msg 3 left: a failure here must not turn into a clear REJECTED inside a
   * session that is already open. A lost ticket only costs the phone one fallback; it is audited.
   */
  private async afterAnswer(ticket: TicketRecord | null): Promise<void> {
    try {
      if (ticket) await this.cfg.store.putTicket(ticket);
    } catch (e) {
      await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: this.keyIdHex, outcome: 'TICKET_NOT_FILED', detail: errorCode(e) });
    }
    await this.vehicle.noteTime();
  }

  /** Owner pairing on this link; on success the phone is enrolled as an owner and told who we are. */
  private async pair(challengeBytes: Uint8Array, startBytes: Uint8Array): Promise<void> {
    const now = () => this.cfg.clock.now();
    try {
      const paired = await this.vehicle.pairing.run(this.link, challengeBytes, startBytes, this.cfg.handshakeTimeoutMs);
      const { record, again } = await this.vehicle.enrollPairedOwner(paired.publicKey, paired.name);
      await paired.welcome(this.vehicle.peer);
      await this.vehicle.audit({ timeMs: now(), keyId: toHex(record.keyId), path: 'pairing', outcome: again ? 'REPAIRED' : 'PAIRED' });
    } catch (e) {
      throw new Refusal(STATUS.rejected, `PAIRING_FAILED:${errorCode(e)}`);
    }
  }

  /**
   * Derives the session and the key's next single-use ticket (filed by the caller). A ticket
   * made on the fast path keeps its predecessor's expiry and spends one renewal: a copied ticket
   * gives at most `maxTicketRenewals` + 1 fast sessions, within TICKET_LIFETIME_MS of the last
   * signed full handshake; then only a full handshake gets a new ticket.
   */
  private establish(opened: Authenticated['opened'], key: KeyRecord, previous: TicketRecord | null): { established: Established; ticket: TicketRecord | null } {
    const { crypto, clock } = this.cfg;
    const keys = finishHandshake(crypto, opened);
    const renewalsLeft = previous ? previous.renewalsLeft - 1 : this.cfg.maxTicketRenewals;
    const expiresAt = Math.min(previous?.expiresAt ?? Number.POSITIVE_INFINITY, clock.now() + TICKET_LIFETIME_MS);
    const ticket =
      renewalsLeft >= 0
        ? { ticketId: keys.ticketId, keyId: key.keyId, sealedSecret: sealTicketSecret(crypto, this.vehicle.ticketSealKey, keys.ticketId, key.keyId, keys.resumptionSecret, Math.floor(this.vehicle.now())), expiresAt, renewalsLeft }
        : null;
    wipe(keys.resumptionSecret);
    this.keyIdHex = toHex(key.keyId);
    const path = opened.path === 'full' ? 'full' : 'fast';
    return { established: { channel: createChannel('vehicle', keys), key, path, resumed: opened.path === 'resume' }, ticket };
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
        const result = await this.execute(s, command, false, 0);
        await this.link.send(sealFrame(this.cfg.crypto, s.channel, encodeMessage(ResultSchema, result)));
      }
    } catch (e) {
      if (e instanceof Refusal) await this.refuse(e);
      else if (!this.link.isClosed) await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: this.keyIdHex, path: s.path, outcome: 'SESSION_ENDED', detail: errorCode(e) });
      return false;
    } finally {
      closeChannel(s.channel);
    }
  }

  /**
   * One command: hooks, then (under the registry lock, against current records) the checks and
   * the start of the handler, then the result recorded — request memory and audit — BEFORE the
   * answer is sent, so cutting the link can neither hide an executed command nor run it twice.
   */
  private async execute(s: Established, command: CommandMsg, inHandshake: boolean, challengeToAuthMs: number): Promise<ResultMsg> {
    const policy = this.cfg.policies.get(command.id);
    const hooks = await runPolicyHooks(this.cfg, this.info, policy, toHex(s.key.keyId), command.id);
    const step = await this.vehicle.exclusive(() => admitCommand(this.vehicle, this.link, s, command, { policy, hooks, inHandshake, challengeToAuthMs }));
    // A started handler's outcome is already in the request memory (requests.ts) when it arrives.
    const outcome = fitResult('run' in step ? await step.run : step);
    await this.vehicle.audit({ timeMs: this.cfg.clock.now(), keyId: toHex(s.key.keyId), command: command.id, path: s.resumed ? 'resume' : s.path, outcome: STATUS_NAME[outcome.status] ?? String(outcome.status), detail: outcome.detail });
    return outcome.data ? { status: outcome.status, data: outcome.data } : { status: outcome.status };
  }

  /** Generic refusal: one clear status for the phone, the reason for the audit log. */
  private async refuse(e: unknown): Promise<void> {
    if (this.link.isClosed) {
      await this.vehicle.audit({ timeMs: this.cfg.clock.now(), ...this.auditIds(e), outcome: 'LINK_CLOSED', detail: errorCode(e) });
      return;
    }
    const status = e instanceof Refusal ? e.status : STATUS.rejected;
    await this.vehicle.audit({
      timeMs: this.cfg.clock.now(),
      ...this.auditIds(e),
      outcome: STATUS_NAME[status] ?? 'REJECTED',
      detail: errorCode(e),
    });
    await this.sendClear(status);
  }

  /**
   * Key ids for a refusal's audit record: the id authenticated on this link as `keyId`; an id
   * the peer merely claimed (an unknown key, a bad signature) as `claimedKeyId`, since anyone can
   * claim any id: it must not file records under a real key nor escape the junk budget.
   */
  private auditIds(e: unknown): { keyId?: string; claimedKeyId?: string } {
    const id = e instanceof Refusal ? e.keyIdHex : this.keyIdHex;
    if (id === undefined) return {};
    return id === this.keyIdHex ? { keyId: id } : { claimedKeyId: id };
  }

  private async sendClear(status: number): Promise<void> {
    await this.link.send(encodeMessage(FrameSchema, { status }), { timeoutMs: this.cfg.handshakeTimeoutMs }).catch(() => undefined);
  }
}
