/**
 * Resource and failure cases of session protocol v1 (issue 3): the handshake concurrency cap,
 * handshake and idle timeouts on virtual time, handlers that throw or hang, and links that die
 * at the worst moment. The vehicle's serve() must always resolve, every slot must come back,
 * and the phone must learn whether its command may have run.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/world.js';
import { auditTap, clearStatusOf, expectServeEnds, expectTypedError } from '../helpers/attacks.js';
import { COMMAND, STATUS } from '../../src/protocol/constants.js';
import { DigitalKeyError, PolicyError, TimeoutError, TransportError } from '../../src/errors.js';
import type { CommandContext } from '../../src/vehicle/run-handler.js';
import type { Phone } from '../../src/phone/phone.js';
import type { VehicleOptions } from '../../src/vehicle/vehicle.js';

const unlock = { id: COMMAND.unlock };
const lock = { id: COMMAND.lock };
const trunk = { id: COMMAND.trunk };

async function setup(options: Partial<VehicleOptions> = {}): Promise<{ w: World; phone: Phone; id: Uint8Array }> {
  const w = await makeWorld(options);
  const phone = await w.enrolledPhone();
  return { w, phone, id: w.vehicle.identity.vehicleId };
}

describe('handshake concurrency cap', () => {
  it('silent links that took a Challenge hold no work slot: the owner unlocks while more than the cap wait, and they time out', async () => {
    const { w, phone, id } = await setup();
    const cap = w.vehicle.config.maxConcurrentHandshakes;
    expect(cap).toBe(3);
    const audit = auditTap(w.vehicle);
    const silent = Array.from({ length: cap + 5 }, () => w.link());

    const owner = w.link();
    const result = await w.run(phone.command(owner.pair.phone, id, unlock));
    expect(result.ok).toBe(true);
    expect(w.executed).toHaveLength(1);

    // The silent phones time out; nothing of theirs stays behind.
    await w.run(Promise.all(silent.map((s) => s.served)));
    expect(w.vehicle.admission.pendingCount).toBe(0);
    expect(audit.filter((e) => e.detail === 'LINK_TIMEOUT')).toHaveLength(cap + 5);

    // A full set of genuine phones, concurrently.
    const phones = [phone, await w.enrolledPhone(), await w.enrolledPhone()];
    const links = phones.map(() => w.link());
    const results = await w.run(Promise.all(phones.map((p, i) => p.command(links[i]!.pair.phone, id, unlock))));
    expect(results.every((r) => r.ok)).toBe(true);
    await w.run(Promise.all(links.map((l) => l.served)));
    expect(w.executed).toHaveLength(4);
  });

  it('slots held by attackers who answer garbage are released as soon as they are refused', async () => {
    const { w, phone, id } = await setup({ maxConcurrentHandshakes: 1 });
    for (let i = 0; i < 5; i++) {
      const l = w.link();
      const run = async () => {
        await l.pair.phone.receive();
        await l.pair.phone.send(Uint8Array.of(0xff, i));
        return l.pair.phone.receive();
      };
      expect(clearStatusOf(await w.run(run()))).toBe(STATUS.rejected);
      await expectServeEnds(w, l.served);
    }
    const ok = w.link();
    expect((await w.run(phone.command(ok.pair.phone, id, unlock))).ok).toBe(true);
    await expectServeEnds(w, ok.served);
  });
});

describe('timeouts on virtual time', () => {
  it('handshake timeout: a phone that never answers the challenge is cut off after handshakeTimeoutMs, and audited', async () => {
    const w = await makeWorld({ handshakeTimeoutMs: 2_000 });
    const audit = auditTap(w.vehicle);
    const { pair, served } = w.link();
    // The deadline runs from the moment the challenge leaves the vehicle (time 0 of the link).
    const sentAt = w.clock.now();
    await w.run(pair.phone.receive()); // the challenge; the phone then stays silent
    await w.clock.advance(1_900);
    expect(pair.vehicle.isClosed).toBe(false);
    await expectServeEnds(w, served);
    const elapsed = w.clock.now() - sentAt;
    expect(elapsed).toBeGreaterThanOrEqual(2_000);
    expect(elapsed).toBeLessThan(2_100);
    expect(pair.vehicle.closeInfo?.by).toBe('local');
    expect(audit).toEqual([expect.objectContaining({ outcome: 'REJECTED', detail: 'LINK_TIMEOUT' })]);
    expect(w.vehicle.activeConnections).toBe(0);
  });

  it('idle timeout: a session with no command for idleTimeoutMs is closed, each command resets it, and it is audited', async () => {
    const { w, phone, id } = await setup({ idleTimeoutMs: 10_000 });
    const audit = auditTap(w.vehicle);
    const { pair, served } = w.link();
    const s = await w.run(phone.connect(pair.phone, id, unlock));
    await w.clock.advance(9_000);
    expect(pair.vehicle.isClosed).toBe(false);
    expect((await w.run(s.send(lock))).ok).toBe(true);
    const lastCommandAt = w.clock.now();
    await w.clock.advance(9_000);
    expect(pair.vehicle.isClosed).toBe(false);
    await expectServeEnds(w, served);
    expect(w.clock.now() - lastCommandAt).toBeGreaterThanOrEqual(10_000);
    expect(w.clock.now() - lastCommandAt).toBeLessThan(10_100);
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'SESSION_ENDED', detail: 'LINK_TIMEOUT', keyId: expect.any(String) }));
    const err = await expectTypedError(w, s.send(lock));
    expect(err).toBeInstanceOf(TransportError);
    expect(w.executed.map((e) => e.command)).toEqual([COMMAND.unlock, COMMAND.lock]);
  });
});

describe('command handlers that fail', () => {
  it('a handler that throws gives HANDLER_FAILED; the session stays usable; the audit keeps the reason', async () => {
    const { w, phone, id } = await setup();
    w.vehicle.config.handlers.set(COMMAND.trunk, () => {
      throw new Error('trunk actuator jammed');
    });
    w.vehicle.config.handlers.set(200, async () => Promise.reject(new Error('async failure')));
    const audit = auditTap(w.vehicle);
    const { pair, served } = w.link();
    const s = await w.run(phone.connect(pair.phone, id, trunk));
    expect(s.firstResult).toMatchObject({ ok: false, code: 'HANDLER_FAILED' });
    const err = await expectTypedError(w, s.send({ id: 200 }));
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.code).toBe('HANDLER_FAILED');
    // The handler ran: a handler that threw may already have actuated.
    expect(err.mayHaveSucceeded).toBe(true);
    expect((await w.run(s.send(lock))).ok).toBe(true);
    await w.run(s.close());
    await expectServeEnds(w, served);
    expect(w.executed.map((e) => e.command)).toEqual([COMMAND.lock]);
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'HANDLER_FAILED', detail: 'trunk actuator jammed' }));
  });

  it('a handler that never resolves gives HANDLER_TIMEOUT with mayHaveSucceeded, and its signal is aborted', async () => {
    const { w, phone, id } = await setup({ handlerTimeoutMs: 1_000 });
    let signal: AbortSignal | undefined;
    w.vehicle.config.handlers.set(COMMAND.trunk, (ctx: CommandContext) => {
      signal = ctx.signal;
      return new Promise<void>(() => {});
    });
    const { pair, served } = w.link();
    const err = await expectTypedError(w, phone.command(pair.phone, id, trunk));
    expect(err).toBeInstanceOf(PolicyError);
    expect(err.code).toBe('HANDLER_TIMEOUT');
    expect(err.mayHaveSucceeded).toBe(true);
    expect(err.retryable).toBe(true);
    expect(signal?.aborted).toBe(true);
    await expectServeEnds(w, served);
  });

  it('with default timeouts a hung handler still leaves the phone with mayHaveSucceeded true', async () => {
    const { w, phone, id } = await setup();
    w.vehicle.config.handlers.set(COMMAND.trunk, () => new Promise<void>(() => {}));
    const { pair, served } = w.link();
    const err = await expectTypedError(w, phone.command(pair.phone, id, trunk));
    expect(err.mayHaveSucceeded).toBe(true);
    await w.run(pair.phone.close());
    await expectServeEnds(w, served);
  });

  // BUG (defaults: src/vehicle/vehicle.ts handlerTimeoutMs 5_000 vs src/phone/phone.ts
  // responseTimeoutMs 5_000): the vehicle answers HANDLER_TIMEOUT only after the handler's 5 s
  // plus a connection event, but the phone stops waiting for msg 3 exactly 5 s after its Auth
  // landed, so with the defaults the phone always reports NO_RESPONSE and the HANDLER_TIMEOUT
  // status is lost. Fix: a default handlerTimeoutMs well below the phone's responseTimeoutMs
  // (e.g. 3_000), or a phone wait for msg 3 of responseTimeoutMs + the vehicle's handler budget.
  it('with default timeouts the phone learns HANDLER_TIMEOUT', async () => {
    const { w, phone, id } = await setup();
    w.vehicle.config.handlers.set(COMMAND.trunk, () => new Promise<void>(() => {}));
    const { pair, served } = w.link();
    const err = await expectTypedError(w, phone.command(pair.phone, id, trunk));
    await w.run(pair.phone.close());
    await expectServeEnds(w, served);
    expect(err.code).toBe('HANDLER_TIMEOUT');
  });
});

describe('links that die mid-exchange', () => {
  it('disconnect right after the Auth was delivered: the phone says the command may have run; serve ends cleanly', async () => {
    const { w, phone, id } = await setup();
    const audit = auditTap(w.vehicle);
    const { pair, served } = w.link({ disconnectAfterMessages: { direction: 'toVehicle', count: 1, when: 'after' } });
    const err = await expectTypedError(w, phone.command(pair.phone, id, unlock));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.mayHaveSucceeded).toBe(true);
    expect(err.retryable).toBe(true);
    await expectServeEnds(w, served);
    expect(w.executed.length).toBeLessThanOrEqual(1);
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'LINK_CLOSED' }));
    expect(w.vehicle.activeConnections).toBe(0);
  });

  it('disconnect just before the Auth landed: nothing runs, the phone gets a typed transport error', async () => {
    const { w, phone, id } = await setup();
    const { pair, served } = w.link({ disconnectAfterMessages: { direction: 'toVehicle', count: 1, when: 'before' } });
    const err = await expectTypedError(w, phone.command(pair.phone, id, unlock));
    expect(err).toBeInstanceOf(TransportError);
    await expectServeEnds(w, served);
    expect(w.executed).toHaveLength(0);
  });

  it('disconnect right after an in-session command was delivered: mayHaveSucceeded, at most one execution', async () => {
    const { w, phone, id } = await setup();
    const { pair, served } = w.link({ disconnectAfterMessages: { direction: 'toVehicle', count: 2, when: 'after' } });
    const s = await w.run(phone.connect(pair.phone, id, unlock));
    const err = await expectTypedError(w, s.send(lock));
    expect(err.mayHaveSucceeded).toBe(true);
    await expectServeEnds(w, served);
    expect(w.executed.filter((e) => e.command === COMMAND.lock).length).toBeLessThanOrEqual(1);
  });

  it('radio loss at any moment of a session never makes serve() reject, never runs a command twice', async () => {
    const { w, phone, id } = await setup();
    for (let atMs = 0; atMs <= 200; atMs += 5) {
      const before = w.executed.length;
      const { pair, served } = w.link({ disconnectAtMs: w.clock.now() + atMs });
      let stage: 'connect' | 'send' | 'done' = 'connect';
      // Fresh request ids: each iteration is a new tap, not a retry of the last uncertain one
      // (a retry would be answered from the vehicle's request memory, not run: PROTOCOL §6.4).
      const fresh = () => w.crypto.randomBytes(8);
      const attempt = (async () => {
        const s = await phone.connect(pair.phone, id, { ...unlock, requestId: fresh() }, { forceFull: true });
        stage = 'send';
        await s.send({ ...lock, requestId: fresh() });
        stage = 'done';
        await s.close();
      })();
      let error: unknown;
      await w.run(attempt).catch((e: unknown) => (error = e));
      await expectServeEnds(w, served);
      const ran = w.executed.slice(before).map((e) => e.command);
      if (error !== undefined) {
        expect(error).toBeInstanceOf(DigitalKeyError);
        // "Did not succeed" must be true: the command the phone was sending did not run.
        if (!(error as DigitalKeyError).mayHaveSucceeded) expect(ran).not.toContain(stage === 'connect' ? COMMAND.unlock : COMMAND.lock);
      } else {
        expect(stage).toBe('done');
        expect(ran).toEqual([COMMAND.unlock, COMMAND.lock]);
      }
      expect([[], [COMMAND.unlock], [COMMAND.unlock, COMMAND.lock]]).toContainEqual(ran);
    }
    expect(w.vehicle.activeConnections).toBe(0);
  });

  it('a phone that hangs up right after the challenge frees its slot at once', async () => {
    const { w, phone, id } = await setup({ maxConcurrentHandshakes: 1 });
    const audit = auditTap(w.vehicle);
    const l = w.link();
    await w.run(l.pair.phone.receive());
    const t = w.clock.now();
    await w.run(l.pair.phone.close());
    await expectServeEnds(w, l.served);
    expect(w.clock.now() - t).toBeLessThan(100);
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'LINK_CLOSED' }));
    const ok = w.link();
    expect((await w.run(phone.command(ok.pair.phone, id, unlock))).ok).toBe(true);
    await expectServeEnds(w, ok.served);
  });

  it('a phone response timeout is a TimeoutError the app may retry', async () => {
    const { w, phone, id } = await setup();
    const { pair, served } = w.link({ adversary: (e) => (e.direction === 'toPhone' && e.index === 1 ? { type: 'drop' } : undefined) });
    const err = await expectTypedError(w, phone.command(pair.phone, id, unlock));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.mayHaveSucceeded).toBe(true);
    expect(err.retryable).toBe(true);
    await w.run(pair.phone.close());
    await expectServeEnds(w, served);
    expect(w.executed).toHaveLength(1);
  });

  // BUG (minor, src/phone/phone.ts Phone.command / Phone.connect): when the handshake fails the
  // phone leaves the link open (only the success path closes it), so after e.g. a tampered msg 3
  // the vehicle keeps the connection — one of the ~3 a key module can hold — until its idle
  // timeout (30 s by default). Fix: close the link in connect() when handshake() throws.
  it('a phone whose handshake failed closes the link (the vehicle does not wait for its idle timeout)', async () => {
    const { w, phone, id } = await setup();
    const { pair, served } = w.link({ adversary: (e) => (e.direction === 'toPhone' && e.index === 1 ? { type: 'modify', bytes: Uint8Array.of(0xa0) } : undefined) });
    await expectTypedError(w, phone.command(pair.phone, id, unlock));
    expect(pair.phone.isClosed).toBe(true);
    await expectServeEnds(w, served);
  });
});
