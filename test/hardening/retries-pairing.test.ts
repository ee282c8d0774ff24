/**
 * Hardening, from the attacker's side: exactly-once retries with request ids, pairing recovery
 * after a lost PairDone, clear refusals read before PairDone, and a fake car demanding
 * expensive scrypt (hardening items 10, 11 and 12).
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, type World } from '../helpers/world.js';
import { recordingAdversary, tamperOne } from '../helpers/attacks.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { ChallengeSchema } from '../../src/protocol/messages.js';
import { decodeMessage, encodeMessage } from '../../src/wire/schema.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { Phone } from '../../src/phone/phone.js';
import { MGMT_COMMAND } from '../../src/protocol/constants.js';
import { KeyArgSchema } from '../../src/protocol/management.js';
import { share } from '../helpers/sharing.js';

const FAST_KDF = { logN: 10, r: 8, p: 1 };
const unlock = { id: COMMAND.unlock };

async function command(w: World, phone: Phone, req: Parameters<Phone['command']>[2], options: Parameters<World['link']>[0] = {}) {
  const l = w.link(options);
  const r = await w.run(phone.command(l.pair.phone, w.vehicle.identity.vehicleId, req).catch((e: { code: string; mayHaveSucceeded: boolean }) => e));
  await w.run(l.pair.phone.close('done'));
  await w.run(l.served);
  return r as { ok?: boolean; code: string; mayHaveSucceeded?: boolean };
}

describe('exactly-once retries', () => {
  it('a retry after a lost Result is answered from memory: the unlock ran once', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, () => ({ type: 'drop' })));
    const first = await command(w, owner, unlock, { adversary });
    expect(first).toMatchObject({ mayHaveSucceeded: true });
    expect(w.executed).toHaveLength(1);
    const retry = await command(w, owner, unlock);
    expect(retry.ok).toBe(true);
    expect(w.executed).toHaveLength(1);
    expect((await w.vehicle.readAudit()).at(-1)).toMatchObject({ command: COMMAND.unlock, outcome: 'OK', detail: 'RETRY_ANSWERED' });
    // A definite answer settles it: the next unlock is a new request and runs.
    expect((await command(w, owner, unlock)).ok).toBe(true);
    expect(w.executed).toHaveLength(2);
  });

  it('a retry while the first attempt still runs waits for it instead of running again', async () => {
    let runs = 0;
    const holder: { w?: World } = {};
    const w = await makeWorld({ handlers: { [COMMAND.unlock]: () => new Promise<void>((r) => (runs++, holder.w!.clock.setTimeout(() => r(), 2_000))) } });
    holder.w = w;
    const owner = await w.enrolledPhone();
    const l = w.link();
    const first = owner.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { mayHaveSucceeded: boolean }) => e);
    const cut = new Promise<void>((r) => w.clock.setTimeout(() => r(), 500)).then(() => l.pair.phone.close('link lost'));
    const [err] = await w.run(Promise.all([first, cut]));
    expect(err).toMatchObject({ mayHaveSucceeded: true });
    const retry = await command(w, owner, unlock);
    expect(retry.ok).toBe(true);
    await w.run(l.served);
    expect(runs).toBe(1);
  });

  it('after a vehicle restart that interrupted the handler, the retry hears HANDLER_FAILED (may have run), not a second run', async () => {
    const vault = createMemoryVault();
    const identityKey = createSoftwareKeyAgreement(createNobleProvider());
    let runs = 0;
    const w = await makeWorld({ store: await openVehicleStore(vault), identityKey, handlers: { [COMMAND.unlock]: () => (runs++, new Promise<void>(() => undefined)) } });
    const owner = await w.enrolledPhone();
    const l = w.link();
    const first = owner.command(l.pair.phone, w.vehicle.identity.vehicleId, unlock).catch((e: { mayHaveSucceeded: boolean }) => e);
    const cut = new Promise<void>((r) => w.clock.setTimeout(() => r(), 500)).then(() => l.pair.phone.close('power loss'));
    await w.run(Promise.all([first, cut]));
    // Reboot over the same store (the pending request id is durable).
    (w as { vehicle: Vehicle }).vehicle = await Vehicle.create({ crypto: w.crypto, clock: w.clock, store: await openVehicleStore(vault), identityKey, handlers: { [COMMAND.unlock]: () => void runs++ } });
    const retry = await command(w, owner, unlock);
    expect(retry).toMatchObject({ code: 'HANDLER_FAILED', mayHaveSucceeded: true });
    expect(runs).toBe(1);
  });

  it('a request is (id, command, argument): the same id with another command or argument is a new request; ids are per key', async () => {
    const w = await makeWorld({ handlers: { [130]: (ctx) => ctx.data, [COMMAND.unlock]: () => undefined, [COMMAND.lock]: () => undefined } });
    const a = await w.enrolledPhone();
    const b = await w.enrolledPhone();
    const requestId = new Uint8Array([7, 7, 7, 7]);
    const first = await command(w, a, { id: 130, requestId, data: new Uint8Array([1]) });
    const again = await command(w, a, { id: 130, requestId, data: new Uint8Array([1]) });
    const other = await command(w, a, { id: 130, requestId, data: new Uint8Array([2]) });
    expect((first as { data?: Uint8Array }).data).toEqual(new Uint8Array([1]));
    expect((again as { data?: Uint8Array }).data).toEqual(new Uint8Array([1]));
    expect((other as { data?: Uint8Array }).data).toEqual(new Uint8Array([2]));
    const audit = await w.vehicle.readAudit();
    expect(audit.filter((e) => e.command === 130).map((e) => e.detail)).toEqual([undefined, 'RETRY_ANSWERED', undefined]);
    // Another key's identical id is its own request.
    expect((await command(w, b, { id: 130, requestId, data: new Uint8Array([1]) })).ok).toBe(true);
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toBeUndefined();
  });

  it('16 other commands between a lost unlock and its retry do not push it out: the retry is still answered', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, () => ({ type: 'drop' })));
    expect(await command(w, owner, unlock, { adversary })).toMatchObject({ mayHaveSucceeded: true });
    for (let i = 0; i < 16; i++) expect((await command(w, owner, { id: i % 2 ? COMMAND.lock : COMMAND.trunk })).ok).toBe(true);
    expect((await command(w, owner, unlock)).ok).toBe(true);
    expect(w.executed.filter((e) => e.command === COMMAND.unlock)).toHaveLength(1);
  });

  it('a single-use grant whose Result was lost hears its stored OK on retry, not USE_LIMIT_REACHED', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    await share(w, owner, friend, { useLimit: 1 });
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, () => ({ type: 'drop' })));
    expect(await command(w, friend, unlock, { adversary })).toMatchObject({ mayHaveSucceeded: true });
    expect((await command(w, friend, unlock)).ok).toBe(true);
    expect(w.executed).toHaveLength(1);
  });

  it('a retried revokeKey whose Result was lost hears OK, not an unknown-key error', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.enrolledPhone();
    const revoke = { id: MGMT_COMMAND.revokeKey, data: encodeMessage(KeyArgSchema, { keyId: friend.keyId }) };
    const { adversary } = recordingAdversary(tamperOne('toPhone', 1, () => ({ type: 'drop' })));
    expect(await command(w, owner, revoke, { adversary })).toMatchObject({ mayHaveSucceeded: true });
    expect((await command(w, owner, revoke)).ok).toBe(true);
    expect(w.vehicle.config.store.getKey(friend.keyId)).toBeUndefined();
  });

  it('a slow actuation answered HANDLER_TIMEOUT is later answered with its real outcome, and never runs twice', async () => {
    let runs = 0;
    const holder: { w?: World } = {};
    const w = await makeWorld({ handlers: { [COMMAND.unlock]: () => new Promise<void>((r) => (runs++, holder.w!.clock.setTimeout(() => r(), 4_000))) } });
    holder.w = w;
    const owner = await w.enrolledPhone();
    expect(await command(w, owner, unlock)).toMatchObject({ code: 'HANDLER_TIMEOUT', mayHaveSucceeded: true });
    // Retried at once: joins the running handler, which finishes a second later.
    const joined = await command(w, owner, unlock);
    expect(joined, JSON.stringify(joined)).toMatchObject({ ok: true });
    expect(runs).toBe(1);
    // The audit shows the timeout, then the retry that joined the running handler.
    const id = (await w.vehicle.readAudit()).filter((e) => e.command === COMMAND.unlock).map((e) => e.detail);
    expect(id).toEqual(['handler exceeded 3000 ms', 'RETRY_JOINED']);
  });
});

describe('pairing recovery and bounded work', () => {
  it('a lost PairDone leaves the phone enrolled; pairing again in a new window succeeds (welcome re-sent)', async () => {
    const w = await makeWorld();
    const phone = await w.newPhone();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    const { adversary } = recordingAdversary(tamperOne('toPhone', 2, () => ({ type: 'drop' })));
    const a = w.link({ adversary });
    const lost = await w.run(phone.pair(a.pair.phone, code!).catch((e: { code: string }) => e));
    expect(lost).toHaveProperty('code');
    await w.run(a.pair.phone.close('gave up'));
    await w.run(a.served);
    expect(w.vehicle.listKeys().filter((k) => k.role === 'owner')).toHaveLength(1);
    const again = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    const b = w.link();
    const v = await w.run(phone.pair(b.pair.phone, again.code!));
    expect(v.vehicleId).toEqual(w.vehicle.identity.vehicleId);
    const s = await w.run(phone.connect(b.pair.phone, v.vehicleId, unlock));
    expect(s.firstResult.ok).toBe(true);
    await w.run(s.close());
    await w.run(b.served);
    expect(w.vehicle.listKeys()).toHaveLength(1);
    expect((await w.vehicle.readAudit()).some((e) => e.outcome === 'REPAIRED')).toBe(true);
  });

  it('a refusal after the code was accepted is read as PAIRING_REFUSED, not a decoding error', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const stolen = await w.enrolledPhone();
    await w.run(w.vehicle.exclusive(() => w.vehicle.config.store.putKey({ ...w.vehicle.config.store.getKey(stolen.keyId)!, suspended: true })));
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    const a = w.link();
    const err = await w.run(stolen.pair(a.pair.phone, code!).catch((e: { code: string }) => e));
    await w.run(a.served);
    expect(err).toMatchObject({ code: 'PAIRING_REFUSED' });
    expect(w.vehicle.config.store.getKey(stolen.keyId)!.suspended).toBe(true);
    expect(owner).toBeDefined();
  });

  it('a fake car demanding scrypt far above the default is refused before any work', async () => {
    const w = await makeWorld();
    const phone = await w.newPhone();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    const inflate = (bytes: Uint8Array) => {
      const ch = decodeMessage(ChallengeSchema, bytes);
      return { type: 'modify' as const, bytes: encodeMessage(ChallengeSchema, { ...ch, pairing: { ...ch.pairing!, logN: 20 } }) };
    };
    let scrypts = 0;
    const real = w.crypto.scrypt.bind(w.crypto);
    (phone as { crypto: typeof w.crypto }).crypto = { ...w.crypto, scrypt: (...args) => (scrypts++, real(...args)) };
    const { adversary } = recordingAdversary(tamperOne('toPhone', 0, inflate));
    const a = w.link({ adversary });
    const err = await w.run(phone.pair(a.pair.phone, code!).catch((e: { code: string }) => e));
    await w.run(a.served);
    expect(err).toMatchObject({ code: 'PAIRING_COST_TOO_HIGH' });
    expect(scrypts).toBe(0);
  });
});
