/**
 * Hardening, from the attacker's side: awaiting policy hooks cannot outrun revocation,
 * suspension or a cut link; a failing hook is a refused command, never a refused key; errors
 * tell the truth about whether a command may have run (hardening items 2 and 9).
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/world.js';
import { createMockLinkPair } from '../../src/transport/mock/index.js';
import { COMMAND, MAX_FRAME_BYTES } from '../../src/protocol/constants.js';
import type { LinkInfo } from '../../src/vehicle/connection.js';
import type { Phone } from '../../src/phone/phone.js';
import type { VehicleOptions } from '../../src/vehicle/vehicle.js';

const unlock = { id: COMMAND.unlock };

/** A world whose unlock needs a ranging check that takes `hookMs` of virtual time. */
async function slowHookWorld(hookMs = 300, extra: Partial<VehicleOptions> = {}) {
  let hookCalls = 0;
  const holder: { w?: World } = {};
  const w = await makeWorld({
    policies: { [COMMAND.unlock]: { requireProximity: true } },
    proximityCheck: () => {
      hookCalls++;
      return new Promise<boolean>((r) => holder.w!.clock.setTimeout(() => r(true), hookMs));
    },
    ...extra,
  });
  holder.w = w;
  return { w, calls: () => hookCalls };
}

/** Serves one link with LinkInfo (an RSSI hook) and returns the phone end. */
function linkWithInfo(w: World, info: LinkInfo) {
  const pair = createMockLinkPair({ clock: w.clock });
  const served = w.vehicle.serve(pair.vehicle, info);
  return { pair, served };
}

async function attempt(w: World, phone: Phone, during?: () => Promise<unknown> | void, atMs = 100) {
  const l = w.link();
  const result = phone.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).then((r) => r.code, (e: { code: string; mayHaveSucceeded: boolean }) => e.code);
  const side = during ? new Promise<void>((r) => w.clock.setTimeout(() => r(), atMs)).then(during) : Promise.resolve();
  const [code] = await w.run(Promise.all([result, side, l.served]));
  return code;
}

describe('awaiting hooks cannot outrun revocation', () => {
  it('a key revoked while its 300 ms ranging check runs does not get its command run', async () => {
    const { w, calls } = await slowHookWorld();
    await w.enrolledPhone();
    const victim = await w.enrolledPhone();
    const code = await attempt(w, victim, () => w.vehicle.revokeKey(victim.keyId));
    expect(calls()).toBe(1);
    // The revocation closes the key's open link at once; either way nothing runs.
    expect(['REJECTED', 'LINK_CLOSED']).toContain(code);
    expect(w.executed).toHaveLength(0);
    expect((await w.vehicle.readAudit()).some((e) => e.detail === 'KEY_REVOKED_IN_SESSION' || e.detail === 'LINK_CLOSED_BEFORE_DISPATCH')).toBe(true);
  });

  it('a key suspended while its ranging check runs is refused KEY_SUSPENDED (sealed)', async () => {
    const { w } = await slowHookWorld();
    await w.enrolledPhone();
    const victim = await w.enrolledPhone();
    const code = await attempt(w, victim, () => w.vehicle.exclusive(() => w.vehicle.config.store.putKey({ ...w.vehicle.config.store.getKey(victim.keyId)!, suspended: true })));
    expect(code).toBe('KEY_SUSPENDED');
    expect(w.executed).toHaveLength(0);
  });

  it('a link cut while the ranging check runs never dispatches the command', async () => {
    const { w } = await slowHookWorld();
    const phone = await w.enrolledPhone();
    const l = w.link();
    const result = phone.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { code: string }) => e);
    const cut = new Promise<void>((r) => w.clock.setTimeout(() => r(), 100)).then(() => l.pair.vehicle.close('relay cut'));
    await w.run(Promise.all([result, cut, l.served]));
    expect(w.executed).toHaveLength(0);
    expect((await w.vehicle.readAudit()).some((e) => e.outcome === 'LINK_CLOSED')).toBe(true);
  });
});

describe('a failing hook refuses the command, not the key', () => {
  it('an RSSI read that throws (a stack that cannot answer Read RSSI) is a sealed PROXIMITY_CHECK_FAILED', async () => {
    const w = await makeWorld({ policies: { [COMMAND.unlock]: { minRssiDbm: -70 } } });
    const phone = await w.enrolledPhone();
    const l = linkWithInfo(w, { rssi: () => Promise.reject(new Error('HCI Read RSSI timed out')) });
    const err = await w.run(phone.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { code: string; retryable: boolean }) => e));
    await w.run(l.served);
    expect(err).toMatchObject({ code: 'PROXIMITY_CHECK_FAILED' });
    expect(w.executed).toHaveLength(0);
    expect((await w.vehicle.readAudit()).at(-1)).toMatchObject({ outcome: 'PROXIMITY_CHECK_FAILED', detail: expect.stringMatching(/^HOOK_FAILED/) });
  });

  it('RSSI 127 (HCI "not available") is no reading: the RSSI policy refuses, it is not a strong signal', async () => {
    const w = await makeWorld({ policies: { [COMMAND.unlock]: { minRssiDbm: -70 } } });
    const phone = await w.enrolledPhone();
    const l = linkWithInfo(w, { rssi: () => 127 });
    const err = await w.run(phone.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { code: string }) => e));
    await w.run(l.served);
    expect(err).toMatchObject({ code: 'PROXIMITY_CHECK_FAILED' });
    const ok = linkWithInfo(w, { rssi: () => -50 });
    expect((await w.run(phone.command(ok.pair.phone, w.vehicle.identity.vehicleId, unlock))).ok).toBe(true);
  });

  it('a ranging hook that throws is a sealed PROXIMITY_CHECK_FAILED', async () => {
    const w = await makeWorld({ policies: { [COMMAND.unlock]: { requireProximity: true } }, proximityCheck: () => { throw new Error('UWB down'); } });
    const phone = await w.enrolledPhone();
    expect(await attempt(w, phone)).toBe('PROXIMITY_CHECK_FAILED');
  });
});

describe('truthful errors', () => {
  it('HANDLER_FAILED after the handler ran says mayHaveSucceeded', async () => {
    const w = await makeWorld({ handlers: { [COMMAND.unlock]: () => { throw new Error('actuator fault after moving'); } } });
    const phone = await w.enrolledPhone();
    const l = w.link();
    const err = await w.run(phone.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { code: string; mayHaveSucceeded: boolean }) => e));
    expect(err).toMatchObject({ code: 'HANDLER_FAILED', mayHaveSucceeded: true });
  });

  it('handler output over the frame limit is a sealed HANDLER_FAILED and the session stays open', async () => {
    let runs = 0;
    const w = await makeWorld({
      handlers: {
        [COMMAND.unlock]: () => (runs++, new Uint8Array(MAX_FRAME_BYTES)),
        [COMMAND.lock]: () => new Uint8Array([1, 2, 3]),
      },
    });
    const phone = await w.enrolledPhone();
    const l = w.link();
    const s = await w.run(phone.connect(l.pair.phone, w.vehicle.identity.vehicleId, unlock));
    expect(s.firstResult).toMatchObject({ ok: false, code: 'HANDLER_FAILED' });
    expect(runs).toBe(1);
    const next = await w.run(s.send({ id: COMMAND.lock }));
    expect(next.data).toEqual(new Uint8Array([1, 2, 3]));
    await w.run(s.close());
    expect((await w.vehicle.readAudit()).some((e) => e.detail?.startsWith('OUTPUT_TOO_LARGE'))).toBe(true);
  });
});
