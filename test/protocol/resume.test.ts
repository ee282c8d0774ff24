/**
 * Resumption in two connection events (docs/PROTOCOL.md §14): timing on the mock link in
 * virtual time, the fallback on the same connection, and the hostile cases — replay (same
 * session, new link, after the window), a copied ticket used twice at once, forbidden
 * commands, a revoked key, an expired ticket, and tampered bytes.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, sleep, type World } from '../helpers/world.js';
import { auditTap, clearStatusOf, expectServeEnds, expectTypedError, flipBit, makePhone, peekTicket, recordingAdversary, tamperOne } from '../helpers/attacks.js';
import { COMMAND, MGMT_COMMAND, RECHALLENGE_COMMAND, STATUS } from '../../src/protocol/constants.js';
import type { CommandRequest, Phone } from '../../src/phone/phone.js';
import { checkResumeWindow, createResumeAuth, RESUME_WINDOW_MS, RESUME_MAX_TICKET_AGE_MS, completeResume, decodeResumeAuth } from '../../src/protocol/resume.js';
import { consumeChallenge } from '../../src/protocol/phone-handshake.js';
import { createChallenge } from '../../src/protocol/vehicle-handshake.js';
import { mayResume } from '../../src/vehicle/resume.js';
import type { VehicleOptions } from '../../src/vehicle/vehicle.js';
import { AuthenticationError } from '../../src/errors.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';

const unlock: CommandRequest = { id: COMMAND.unlock };
const INTERVAL_MS = 15;

/** A world with an enrolled owner that has unlocked once (full path), so it holds a ticket. */
async function withTicket(options: Partial<VehicleOptions> = {}, seed = 1): Promise<{ w: World; phone: Phone; id: Uint8Array }> {
  const w = await makeWorld(options, seed);
  const phone = await w.enrolledPhone();
  const id = w.vehicle.identity.vehicleId;
  const { pair, served } = w.link({ connectionIntervalMs: INTERVAL_MS });
  expect((await w.run(phone.command(pair.phone, id, unlock))).ok).toBe(true);
  await expectServeEnds(w, served);
  return { w, phone, id };
}

/** One connect on a fresh 15 ms link: path, virtual ms from subscription to result, message counts. */
async function timedConnect(w: World, phone: Phone, id: Uint8Array, request = unlock, options = {}) {
  const { pair, served } = w.link({ connectionIntervalMs: INTERVAL_MS, mtu: 185 });
  const t0 = w.clock.now();
  const s = await w.run(phone.connect(pair.phone, id, request, options));
  const ms = w.clock.now() - t0;
  const { toVehicle, toPhone } = pair.stats.snapshot();
  await w.run(s.close());
  await expectServeEnds(w, served);
  return { path: s.path, result: s.firstResult, ms, events: ms / INTERVAL_MS, toVehicle: toVehicle.messages, toPhone: toPhone.messages };
}

describe('resumption: subscription → result in two connection events', () => {
  it('a resumed unlock takes 2 connection events (30 ms at a 15 ms interval), the full path 3', async () => {
    const { w, phone, id } = await withTicket();
    const resumed = await timedConnect(w, phone, id);
    expect(resumed).toMatchObject({ path: 'resume', ms: 30, events: 2, toVehicle: 1, toPhone: 2 });
    expect(resumed.result.ok).toBe(true);
    const full = await timedConnect(w, phone, id, unlock, { forceFull: true });
    expect(full).toMatchObject({ path: 'full', ms: 45, events: 3 });
    const challengedFast = await timedConnect(w, phone, id, unlock, { resume: 'off' });
    expect(challengedFast).toMatchObject({ path: 'fast', ms: 45, events: 3 });
    expect(w.executed.map((e) => e.path)).toEqual(['full', 'fast', 'full', 'fast']);
  });

  it('a resume renews the ticket: resumed unlocks chain, each audited as `resume`', async () => {
    const { w, phone, id } = await withTicket();
    const audit = auditTap(w.vehicle);
    for (let i = 0; i < 3; i++) expect((await timedConnect(w, phone, id, { id: COMMAND.lock })).path).toBe('resume');
    expect(audit.filter((e) => e.outcome === 'OK').map((e) => e.path)).toEqual(['resume', 'resume', 'resume']);
    expect(w.vehicle.config.store.ticketCount).toBe(1);
  });

  it('the used ticket is deleted durably before the handler runs', async () => {
    const seen: number[] = [];
    let world: World | undefined;
    const { w, phone, id } = await withTicket({ handlers: { [COMMAND.unlock]: () => void seen.push(world?.vehicle.config.store.ticketCount ?? -1) } });
    world = w;
    const store = () => w.vehicle.config.store;
    expect(store().ticketCount).toBe(1);
    seen.length = 0;
    expect((await timedConnect(w, phone, id)).path).toBe('resume');
    // The handler ran with the used ticket already gone; the next one is filed after the answer.
    expect(seen).toEqual([0]);
    expect(store().ticketCount).toBe(1);
  });

  it('a miss falls back to the full path on the same connection: 4 events, one extra round trip less than a fast miss', async () => {
    const { w, phone, id } = await withTicket();
    const audit = auditTap(w.vehicle);
    // The vehicle lost the ticket (e.g. its write after the last answer did not land).
    const ticket = (await peekTicket(phone, id))!;
    await w.run(w.vehicle.config.store.takeTicket(ticket.ticketId));
    const miss = await timedConnect(w, phone, id);
    expect(miss).toMatchObject({ path: 'full', ms: 60, events: 4, toVehicle: 2, toPhone: 3 });
    expect(miss.result.ok).toBe(true);
    expect(audit.find((e) => e.outcome === 'RETRY_FULL')).toMatchObject({ path: 'resume', detail: 'TICKET_UNKNOWN' });
    // Today's challenged fast path pays 5 events for the same miss.
    await w.run(w.vehicle.config.store.takeTicket((await peekTicket(phone, id))!.ticketId));
    expect(await timedConnect(w, phone, id, unlock, { resume: 'off' })).toMatchObject({ path: 'full', events: 5 });
  });

  it('the keys after the first message depend on the vehicle ephemeral of its Challenge', () => {
    const crypto = makeCryptoFixture();
    const ticket = { ticketId: new Uint8Array(16).fill(7), resumptionSecret: new Uint8Array(32).fill(9) };
    const keysFor = (seed: number) => {
      const sent = createResumeAuth(crypto.c, crypto.peer, ticket, unlock, 1_000, { ephemeral: crypto.pair(0x44) });
      const ch = createChallenge(crypto.c, crypto.identity, { ephemeral: crypto.pair(seed) });
      return completeResume(crypto.c, sent.state, consumeChallenge(crypto.c, crypto.peer, ch.bytes)).keys;
    };
    const a = keysFor(0x22);
    const b = keysFor(0x23);
    expect(a.kV2P).not.toEqual(b.kV2P);
    expect(a.kP2V).not.toEqual(b.kP2V);
    expect(a.resumptionSecret).not.toEqual(b.resumptionSecret);
  });
});

describe('resumption: the freshness window (vehicle clock, sealed issue time)', () => {
  const issuedAtMs = 1_000_000;
  const at = (nowMs: number, ageMs: number, windowMs?: number) => checkResumeWindow({ ageMs }, { nowMs, issuedAtMs, ...(windowMs ? { windowMs } : {}) });
  it.each([
    ['same age on both clocks', 60_000, 60_000, null],
    ['delivered exactly the window late', 60_000 + RESUME_WINDOW_MS, 60_000, null],
    ['one ms past the window', 60_000 + RESUME_WINDOW_MS + 1, 60_000, 'RESUME_OUT_OF_WINDOW'],
    ['phone clock ahead by the window', 60_000, 60_000 + RESUME_WINDOW_MS, null],
    ['phone clock ahead by the window + 1 ms', 60_000, 60_000 + RESUME_WINDOW_MS + 1, 'RESUME_OUT_OF_WINDOW'],
    ['ticket exactly a day old', RESUME_MAX_TICKET_AGE_MS, RESUME_MAX_TICKET_AGE_MS, null],
    ['ticket a day and 1 ms old', RESUME_MAX_TICKET_AGE_MS + 1, RESUME_MAX_TICKET_AGE_MS - 1, 'RESUME_TOO_OLD'],
  ] as const)('%s', (_name, carAge, phoneAge, expected) => {
    expect(at(issuedAtMs + carAge, phoneAge)).toBe(expected);
  });
  it('a ticket sealed without an issue time (filed before resumption) cannot resume', () => {
    expect(checkResumeWindow({ ageMs: 0 }, { nowMs: 5, issuedAtMs: undefined })).toBe('RESUME_NO_ISSUE_TIME');
  });
  it('the window is configurable per call (tests, integrators with a tighter clock)', () => {
    expect(at(issuedAtMs + 1_001, 0, 1_000)).toBe('RESUME_OUT_OF_WINDOW');
  });
});

describe('resumption: per-command policy', () => {
  it('never start, re-challenge or management; unlock, lock, trunk by default; app commands opt in', () => {
    expect(mayResume(undefined, COMMAND.unlock)).toBe(true);
    expect(mayResume(undefined, COMMAND.lock)).toBe(true);
    expect(mayResume(undefined, COMMAND.trunk)).toBe(true);
    expect(mayResume({ allowResume: true }, COMMAND.start)).toBe(false);
    expect(mayResume({ allowResume: true }, RECHALLENGE_COMMAND)).toBe(false);
    for (const m of Object.values(MGMT_COMMAND)) expect(mayResume({ allowResume: true }, m)).toBe(false);
    expect(mayResume(undefined, 200)).toBe(false);
    expect(mayResume({ allowResume: true }, 200)).toBe(true);
    expect(mayResume({ allowResume: true, requireFullPath: true }, 200)).toBe(false);
    expect(mayResume({ allowResume: true, maxChallengeToAuthMs: 1_000 }, 200)).toBe(false);
    expect(mayResume({ allowResume: false }, COMMAND.unlock)).toBe(false);
  });

  it('a phone that tries to resume start or a management command is sent to the full path on the same link', async () => {
    const { w, phone: owner, id } = await withTicket();
    // A phone configured (wrongly) to resume everything: the vehicle's gate decides.
    const greedy = await makePhone(w, { signer: owner.signer, fullPathCommands: [], resumeCommands: [COMMAND.start, MGMT_COMMAND.listKeys] });
    const audit = auditTap(w.vehicle);
    await w.run(greedy.store.putTicket(id, (await peekTicket(owner, id))!));
    const start = await timedConnect(w, greedy, id, { id: COMMAND.start, userPresent: true });
    expect(start.path).toBe('full');
    expect(start.result.ok).toBe(true);
    const list = await timedConnect(w, greedy, id, { id: MGMT_COMMAND.listKeys });
    expect(list.path).toBe('full');
    expect(list.result.ok).toBe(true);
    expect(audit.filter((e) => e.outcome === 'RETRY_FULL').map((e) => e.detail)).toEqual(['RESUME_NOT_ALLOWED', 'RESUME_NOT_ALLOWED']);
    expect(w.executed.map((e) => e.path)).toEqual(['full', 'full']);
  });

  it('an integrator can forbid unlock on the resume path, and allow an app command', async () => {
    const record: number[] = [];
    const { w, phone, id } = await withTicket({ policies: { [COMMAND.unlock]: { allowResume: false }, 200: { allowResume: true } }, handlers: { [COMMAND.unlock]: () => void record.push(1), 200: () => void record.push(200) } });
    expect((await timedConnect(w, phone, id)).path).toBe('full');
    const app = await makePhone(w, { signer: phone.signer, resumeCommands: [200] });
    await w.run(app.store.putTicket(id, (await peekTicket(phone, id))!));
    expect((await timedConnect(w, app, id, { id: 200 })).path).toBe('resume');
    expect(record).toEqual([1, 1, 200]);
  });
});

describe('resumption: hostile cases', () => {
  it('a resume message replayed on the same link after the session opened runs nothing more', async () => {
    const { w, phone, id } = await withTicket();
    const { capture, adversary } = recordingAdversary();
    const { pair, served } = w.link({ adversary });
    const s = await w.run(phone.connect(pair.phone, id, unlock));
    expect(s.path).toBe('resume');
    await w.run(pair.inject('toVehicle', capture.toVehicle[0]!));
    // The vehicle reads it as a session frame: it fails to open and the session is closed.
    await expectTypedError(w, s.send({ id: COMMAND.lock }));
    await expectServeEnds(w, served);
    expect(w.executed).toHaveLength(2);
  });

  it('a delivered resume message replayed on a new link hits a spent ticket: RETRY_FULL, nothing runs', async () => {
    const { w, phone, id } = await withTicket();
    const { capture, adversary } = recordingAdversary();
    const a = w.link({ adversary });
    await w.run(phone.command(a.pair.phone, id, unlock));
    await expectServeEnds(w, a.served);
    const audit = auditTap(w.vehicle);
    const b = w.link();
    const answer = await w.run(attackerResumes(b.pair, capture.toVehicle[0]!));
    expect(clearStatusOf(answer)).toBe(STATUS.retryFull);
    await w.run(b.pair.phone.close('attacker leaves'));
    await expectServeEnds(w, b.served);
    expect(w.executed).toHaveLength(2);
    expect(audit.find((e) => e.outcome === 'RETRY_FULL')?.detail).toBe('TICKET_UNKNOWN');
  });

  it('RollJam: a jammed, never-delivered resume message is useless once the window has passed', async () => {
    const { w, phone, id } = await withTicket();
    const audit = auditTap(w.vehicle);
    // Jam: the vehicle never hears the phone's ResumeAuth; the attacker keeps it.
    const { capture, adversary } = recordingAdversary(tamperOne('toVehicle', 0, () => ({ type: 'drop' })));
    const a = w.link({ adversary });
    const err = await expectTypedError(w, phone.command(a.pair.phone, id, unlock));
    expect(err.mayHaveSucceeded).toBe(true);
    await expectServeEnds(w, a.served);
    expect(w.executed).toHaveLength(1);
    // Later: past the window on the vehicle's clock (the 5 s handshake timeout already ran).
    await sleep(w, RESUME_WINDOW_MS + 1_000);
    const b = w.link();
    const answer = await w.run(attackerResumes(b.pair, capture.toVehicle[0]!));
    expect(clearStatusOf(answer)).toBe(STATUS.retryFull);
    await w.run(b.pair.phone.close('attacker leaves'));
    await expectServeEnds(w, b.served);
    expect(w.executed).toHaveLength(1);
    expect(audit.filter((e) => e.path === 'resume').map((e) => e.detail)).toEqual(['RESUME_OUT_OF_WINDOW']);
    // The attempt spent the ticket anyway: the stale message cannot be tried again.
    expect(w.vehicle.config.store.ticketCount).toBe(0);
  });

  it('RollJam inside the window is the documented residual: the late delivery runs the command once', async () => {
    const { w, phone, id } = await withTicket();
    const { capture, adversary } = recordingAdversary(tamperOne('toVehicle', 0, () => ({ type: 'drop' })));
    // The phone gives up after 1 s here, so the attacker can deliver inside the window.
    const a = w.link({ adversary });
    const hurried = await makePhone(w, { signer: phone.signer, responseTimeoutMs: 1_000 });
    await w.run(hurried.store.putTicket(id, (await peekTicket(phone, id))!));
    await expectTypedError(w, hurried.command(a.pair.phone, id, unlock));
    await w.run(a.pair.vehicle.close('phone gone'));
    await expectServeEnds(w, a.served);
    const b = w.link();
    const answer = await w.run(attackerResumes(b.pair, capture.toVehicle[0]!));
    // A sealed Result (the attacker cannot read it), and the unlock ran: once, within RESUME_WINDOW_MS.
    expect(clearStatusOf(answer)).toBeUndefined();
    await w.run(b.pair.phone.close('attacker leaves'));
    await expectServeEnds(w, b.served);
    expect(w.executed.map((e) => e.path)).toEqual(['full', 'fast']);
  });

  it('after a resume miss only a full Auth may follow: a second ResumeAuth on the link is REJECTED', async () => {
    const { w, phone, id } = await withTicket();
    const { capture, adversary } = recordingAdversary();
    const a = w.link({ adversary });
    await w.run(phone.command(a.pair.phone, id, unlock));
    await expectServeEnds(w, a.served);
    const b = w.link();
    const first = await w.run(attackerResumes(b.pair, capture.toVehicle[0]!));
    expect(clearStatusOf(first)).toBe(STATUS.retryFull);
    await w.run(b.pair.phone.send(capture.toVehicle[0]!));
    expect(clearStatusOf(await w.run(b.pair.phone.receive({ timeoutMs: 10_000 })))).toBe(STATUS.rejected);
    await expectServeEnds(w, b.served);
    expect(w.executed).toHaveLength(2);
  });

  it('a copied ticket used twice at once: one resumes, the other falls back to the full path (single use)', async () => {
    const { w, phone, id } = await withTicket();
    const twin = await makePhone(w, { signer: phone.signer });
    await w.run(twin.store.putTicket(id, (await peekTicket(phone, id))!));
    const audit = auditTap(w.vehicle);
    const a = w.link();
    const b = w.link();
    const [sa, sb] = await w.run(Promise.all([phone.connect(a.pair.phone, id, unlock), twin.connect(b.pair.phone, id, unlock)]));
    expect([sa.path, sb.path].sort()).toEqual(['full', 'resume']);
    await w.run(Promise.all([sa.close(), sb.close()]));
    await expectServeEnds(w, a.served);
    await expectServeEnds(w, b.served);
    expect(audit.filter((e) => e.outcome === 'RETRY_FULL').map((e) => e.detail)).toEqual(['TICKET_UNKNOWN']);
    expect(w.executed.map((e) => e.path).sort()).toEqual(['fast', 'full', 'full']);
  });

  it('a revoked key: its ticket went with it, the resume misses and the full Auth is rejected', async () => {
    const { w, phone, id } = await withTicket();
    await w.run(w.vehicle.revokeKey(phone.keyId));
    const audit = auditTap(w.vehicle);
    const { pair, served } = w.link();
    const err = await expectTypedError(w, phone.connect(pair.phone, id, unlock));
    expect(err).toBeInstanceOf(AuthenticationError);
    await expectServeEnds(w, served);
    expect(w.executed).toHaveLength(1);
    expect(audit.filter((e) => e.outcome === 'RETRY_FULL' || e.outcome === 'REJECTED').map((e) => e.detail)).toEqual(['TICKET_UNKNOWN', 'UNKNOWN_KEY']);
  });

  it('an expired ticket on the vehicle misses (TICKET_INVALID); a ticket past a day old is not resumed by the phone', async () => {
    const { w, phone, id } = await withTicket();
    const store = w.vehicle.config.store;
    const held = (await peekTicket(phone, id))!;
    const rec = (await w.run(store.takeTicket(held.ticketId)))!;
    await w.run(store.putTicket({ ...rec, expiresAt: w.clock.now() - 1 }));
    const audit = auditTap(w.vehicle);
    expect((await timedConnect(w, phone, id)).path).toBe('full');
    expect(audit.find((e) => e.outcome === 'RETRY_FULL')?.detail).toBe('TICKET_INVALID');
    // A day and a bit later the ticket is too old to resume (clock drift would outgrow the window): fast path.
    await sleep(w, RESUME_MAX_TICKET_AGE_MS + 60_000);
    expect((await timedConnect(w, phone, id)).path).toBe('fast');
  });

  it('every flipped byte of the resume message is refused or falls back; nothing runs on a tampered ResumeAuth', async () => {
    const { w, phone, id } = await withTicket({}, 7);
    const { capture, adversary } = recordingAdversary();
    const probe = w.link({ adversary });
    await w.run(phone.command(probe.pair.phone, id, unlock));
    await expectServeEnds(w, probe.served);
    const size = capture.toVehicle[0]!.length;
    const outcomes = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      if (!(await peekTicket(phone, id))) await w.run(phone.command(w.link().pair.phone, id, unlock, { forceFull: true }));
      const before = w.executed.length;
      const { pair, served } = w.link({ adversary: recordingAdversary(tamperOne('toVehicle', 0, (b) => ({ type: 'modify', bytes: flipBit(b, i, i % 8) }))).adversary });
      let outcome: string;
      try {
        const r = await w.run(phone.connect(pair.phone, id, unlock));
        outcome = r.path;
        await w.run(r.close());
      } catch (e) {
        outcome = (e as { code: string }).code;
      }
      await expectServeEnds(w, served);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      // Either the fallback ran the command on the signed full path, or nothing ran.
      expect(['full', 'REJECTED'], `byte ${i}`).toContain(outcome);
      expect(w.executed.slice(before).map((e) => e.path), `byte ${i}`).toEqual(outcome === 'full' ? ['full'] : []);
    }
    expect(outcomes.get('full')).toBeGreaterThan(0);
  });

  it('a tampered Result after a resume is an error that says the command may have run', async () => {
    const { w, phone, id } = await withTicket();
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, (b) => ({ type: 'modify', bytes: flipBit(b, b.length - 1) })));
    const { pair, served } = w.link({ adversary });
    const err = await expectTypedError(w, phone.connect(pair.phone, id, unlock));
    expect(err.mayHaveSucceeded).toBe(true);
    await expectServeEnds(w, served);
    expect(w.executed).toHaveLength(2);
  });

  it('a ResumeAuth is told apart from an Auth by field 4 and bounded', () => {
    const f = makeCryptoFixture();
    const ticket = { ticketId: new Uint8Array(16).fill(1), resumptionSecret: new Uint8Array(32).fill(2) };
    const { bytes } = createResumeAuth(f.c, f.peer, ticket, unlock, 0);
    expect(decodeResumeAuth(bytes)?.ageMs).toBe(0);
    expect(decodeResumeAuth(bytes.subarray(0, bytes.length - 1))).toBeUndefined();
    expect(() => createResumeAuth(f.c, f.peer, ticket, unlock, RESUME_MAX_TICKET_AGE_MS + 1)).toThrow();
  });
});

/** Plays an attacker who holds a captured ResumeAuth: sends it on subscription, returns the vehicle's answer to it. */
async function attackerResumes(pair: { phone: { send(b: Uint8Array): Promise<void>; receive(o?: { timeoutMs: number }): Promise<Uint8Array> } }, resume: Uint8Array): Promise<Uint8Array> {
  await pair.phone.send(resume);
  await pair.phone.receive({ timeoutMs: 10_000 }); // the Challenge, sent on subscription
  return pair.phone.receive({ timeoutMs: 10_000 });
}

/** Fixed keys for the pure-function cases. */
function makeCryptoFixture() {
  const c = createNobleProvider();
  const pair = (byte: number) => {
    const privateKey = new Uint8Array(32).fill(byte);
    return { privateKey, publicKey: c.publicKeyFromPrivate(privateKey) };
  };
  const keyAgreement = createSoftwareKeyAgreement(c, pair(0x11).privateKey);
  const vehicleId = Uint8Array.from({ length: 16 }, (_, i) => i);
  return { c, pair, identity: { vehicleId, publicKey: keyAgreement.publicKey, keyAgreement }, peer: { vehicleId, publicKey: keyAgreement.publicKey } };
}
