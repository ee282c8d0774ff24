/**
 * The owner's API on the phone over the mock link against the real vehicle: typed management
 * calls with times in JS ms, phone.share, and AbortSignal on every wait. Hostile cases: a
 * friend calling management, unknown targets, aborts before and in the middle of a handshake.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, T0, type World } from '../helpers/world.js';
import { DAY, unlock } from '../helpers/sharing.js';
import { AbortError, PolicyError, UsageError } from '../../src/errors.js';
import { COMMAND } from '../../src/protocol/constants.js';
import type { Phone, PhoneSession } from '../../src/phone/phone.js';

const FAST_KDF = { logN: 10, r: 8, p: 1 };

async function withOwnerSession<T>(w: World, owner: Phone, body: (s: PhoneSession) => Promise<T>): Promise<T> {
  const l = w.link();
  const s = await w.run(owner.manage(l.pair.phone, w.vehicle.identity.vehicleId));
  try {
    return await w.run(body(s));
  } finally {
    await w.run(s.close());
    await w.run(l.served);
  }
}

async function ownerAndFriend(w: World) {
  const owner = await w.enrolledPhone();
  const friend = await w.newPhone();
  await friend.store.putVehicle({ ...(await friend.store.getVehicle(w.vehicle.identity.vehicleId))!, grants: undefined });
  const text = await w.run(owner.share(w.vehicle.identity.vehicleId, { friendKey: friend.publicKey, until: new Date(T0 + 2 * DAY), name: 'Bob', useLimit: 5 }));
  await friend.importShare(text);
  expect((await unlock(w, friend)).ok).toBe(true);
  return { owner, friend };
}

const caught = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as Error & { code: string; mayHaveSucceeded: boolean });

describe("the owner's API on the phone", () => {
  it('share() returns text a friend imports and unlocks with; listKeys shows the friend with times in ms', async () => {
    const w = await makeWorld();
    const { owner, friend } = await ownerAndFriend(w);
    const keys = await withOwnerSession(w, owner, (s) => s.listKeys());
    expect(keys.map((k) => [k.name, k.owner, k.suspended])).toEqual([
      ['owner', true, false],
      ['Bob', false, false],
    ]);
    const bob = keys.find((k) => k.keyIdHex === Buffer.from(friend.keyId).toString('hex'))!;
    // Granted from the phone's clock (T0) to T0 + 2 days; the wire has seconds, the API ms.
    expect(bob.notBeforeMs).toBe(T0);
    expect(bob.notAfterMs).toBe(T0 + 2 * DAY);
    expect(new Date(bob.notAfterMs!).toISOString()).toBe('2026-01-03T00:00:00.000Z');
    expect(bob.commands).toEqual([COMMAND.unlock, COMMAND.lock]);
    expect(bob.usesLeft).toBe(4);
    expect(bob.grantId).toHaveLength(16);
  });

  it('lists every page of a registry larger than one Result', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    for (let i = 0; i < 23; i++) await w.vehicle.enrollOwner((await w.newPhone()).publicKey, `co-owner ${i}`);
    const keys = await withOwnerSession(w, owner, (s) => s.listKeys());
    expect(keys).toHaveLength(24);
    expect(new Set(keys.map((k) => k.keyIdHex)).size).toBe(24);
  });

  it('suspend, resume, rename and revoke a friend, each taking effect at the car', async () => {
    const w = await makeWorld();
    const { owner, friend } = await ownerAndFriend(w);
    await withOwnerSession(w, owner, (s) => s.suspendKey(friend.keyId));
    expect((await unlock(w, friend)).code).toBe('KEY_SUSPENDED');
    await withOwnerSession(w, owner, async (s) => {
      await s.resumeKey(friend.keyId);
      await s.renameKey(friend.keyId, 'Bob (weekend)');
    });
    expect((await unlock(w, friend)).ok).toBe(true);
    expect(w.vehicle.listKeys().map((k) => k.name)).toContain('Bob (weekend)');
    await withOwnerSession(w, owner, (s) => s.revokeKey(friend.keyId));
    expect((await unlock(w, friend)).code).toBe('REJECTED');
    expect(w.vehicle.listKeys()).toHaveLength(1);
  });

  it('revokeGrant voids a share before it is used', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.newPhone();
    const { text, grantId } = await w.run(
      owner.shareKey(w.vehicle.identity.vehicleId, { subjectKey: friend.publicKey, commands: [COMMAND.unlock], notBeforeMs: T0 - DAY, notAfterMs: T0 + DAY }),
    );
    await withOwnerSession(w, owner, (s) => s.revokeGrant(grantId, { notAfterMs: new Date(T0 + DAY) }));
    await friend.importShare(text);
    expect((await unlock(w, friend)).code).toBe('REJECTED');
  });

  it('readAudit returns records with JS ms times, paged by offset and limit', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    for (let i = 0; i < 25; i++) expect((await unlock(w, owner)).ok).toBe(true);
    const { total, records } = await withOwnerSession(w, owner, (s) => s.readAudit({ limit: 30 }));
    expect(total).toBeGreaterThanOrEqual(25);
    expect(records.length).toBe(Math.min(30, total));
    for (const r of records) {
      expect(r.timeMs).toBeGreaterThanOrEqual(T0);
      expect(r.timeMs).toBeLessThan(T0 + DAY);
    }
    expect(records.filter((r) => r.command === COMMAND.unlock && r.outcome === 'OK').length).toBeGreaterThanOrEqual(20);
    const tail = await withOwnerSession(w, owner, (s) => s.readAudit({ offset: total - 2 }));
    // The sessions themselves added records meanwhile: the tail runs to the car's new total.
    expect(tail.total).toBeGreaterThan(total);
    expect(tail.records).toHaveLength(tail.total - (total - 2));
    if (total <= 30) expect(tail.records[0]).toEqual(records[total - 2]);
  });

  it('a friend calling management gets a typed PolicyError (not entitled), and nothing changes', async () => {
    const w = await makeWorld();
    const { owner, friend } = await ownerAndFriend(w);
    const l = w.link();
    const e = await caught(w.run(friend.manage(l.pair.phone, w.vehicle.identity.vehicleId)));
    await w.run(l.served);
    expect(e).toBeInstanceOf(PolicyError);
    // The friend's grant names unlock and lock only: management is outside its entitlement.
    expect(e!.code).toBe('NOT_ENTITLED');
    // On a session opened with an allowed command, every owner call is refused the same way.
    const l2 = w.link();
    const s = await w.run(friend.connect(l2.pair.phone, w.vehicle.identity.vehicleId, { id: COMMAND.unlock }));
    const revoke = await caught(w.run(s.revokeKey(owner.keyId)));
    const list = await caught(w.run(s.listKeys()));
    await w.run(s.close());
    await w.run(l2.served);
    expect(revoke).toBeInstanceOf(PolicyError);
    expect(list).toBeInstanceOf(PolicyError);
    expect([revoke!.code, list!.code]).toEqual(['NOT_ENTITLED', 'NOT_ENTITLED']);
    expect(w.vehicle.listKeys()).toHaveLength(2);
  });

  it('unknown targets and bad arguments are typed errors', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const errors = await withOwnerSession(w, owner, async (s) => [
      await caught(s.revokeKey(new Uint8Array(8).fill(7))),
      await caught(s.suspendKey(new Uint8Array(8).fill(7))),
      await caught(s.renameKey(new Uint8Array(8).fill(7), 'ghost')),
      await caught(s.revokeKey(owner.keyId)), // the last active owner
      await caught(s.revokeKey(new Uint8Array(3))),
      await caught(s.renameKey(owner.keyId, '')),
      await caught(s.readAudit({ limit: 0 })),
    ]);
    expect(errors.map((e) => [e?.constructor.name, e?.code])).toEqual([
      ['PolicyError', 'INVALID_ARGUMENT'],
      ['PolicyError', 'INVALID_ARGUMENT'],
      ['PolicyError', 'INVALID_ARGUMENT'],
      ['PolicyError', 'NOT_PERMITTED'],
      ['UsageError', 'INVALID_ARGUMENT'],
      ['UsageError', 'INVALID_ARGUMENT'],
      ['UsageError', 'INVALID_ARGUMENT'],
    ]);
    const unknownCar = await caught(owner.manage(w.link().pair.phone, new Uint8Array(16)));
    expect(unknownCar).toBeInstanceOf(UsageError);
    expect(unknownCar!.code).toBe('UNKNOWN_VEHICLE');
  });
});

describe('AbortSignal on every wait', () => {
  it('an already-aborted signal: pair, unlock, manage and share reject with AbortError and send nothing', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const signal = AbortSignal.abort();
    const id = w.vehicle.identity.vehicleId;
    const l = w.link();
    const errors = [
      await caught(w.run(owner.unlock(l.pair.phone, id, { signal }))),
      await caught(w.run(owner.manage(l.pair.phone, id, { signal }))),
      await caught(w.run(owner.pair(l.pair.phone, '12345678', { signal }))),
      await caught(owner.share(id, { friendKey: owner.publicKey, until: T0 + DAY, signal })),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(AbortError);
      expect(e!.mayHaveSucceeded).toBe(false);
    }
    await w.run(l.pair.phone.close());
    await w.run(l.served);
    expect(w.executed).toEqual([]);
  });

  it('abort while waiting for the challenge (msg 1): AbortError, the car runs nothing', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const l = w.link({ extraLatencyMs: 200 });
    const ac = new AbortController();
    w.clock.setTimeout(() => ac.abort(), 50);
    const e = await caught(w.run(owner.unlock(l.pair.phone, w.vehicle.identity.vehicleId, { signal: ac.signal })));
    await w.run(l.served);
    expect(e).toBeInstanceOf(AbortError);
    expect(e!.mayHaveSucceeded).toBe(false);
    expect(w.executed).toEqual([]);
  });

  it('abort mid-handshake, after the Auth left and before the Result: AbortError that says the command may have run', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const ac = new AbortController();
    // The relay swallows the vehicle's Result (its second message to the phone); the app gives up.
    const l = w.link({
      adversary: (ev) => {
        if (ev.direction !== 'toPhone' || ev.index !== 1) return;
        w.clock.setTimeout(() => ac.abort(new Error('user left')), 100);
        return { type: 'drop' };
      },
    });
    const e = await caught(w.run(owner.unlock(l.pair.phone, w.vehicle.identity.vehicleId, { signal: ac.signal })));
    await w.run(l.served);
    expect(e).toBeInstanceOf(AbortError);
    expect(e!.code).toBe('ABORTED');
    expect(e!.mayHaveSucceeded).toBe(true);
    expect(w.executed).toHaveLength(1); // it did run
  });

  it('abort during pairing (in the PAKE exchange): AbortError, the link is closed, the phone learns no car', async () => {
    const w = await makeWorld();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    const phone = await w.newPhone();
    await phone.store.deleteVehicle(w.vehicle.identity.vehicleId);
    const ac = new AbortController();
    const l = w.link({
      adversary: (ev) => {
        // The phone's PairStart: abort while its reply is on the way.
        if (ev.direction === 'toVehicle' && ev.index === 0) w.clock.setTimeout(() => ac.abort(), 1);
      },
    });
    const e = await caught(w.run(phone.pair(l.pair.phone, code!, { signal: ac.signal })));
    await w.run(l.served);
    expect(e).toBeInstanceOf(AbortError);
    expect(l.pair.phone.isClosed).toBe(true);
    expect(w.vehicle.listKeys()).toHaveLength(0);
    expect(await phone.store.listVehicles()).toEqual([]);
  });

  it('abort on an owner call in an open session', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const ac = new AbortController();
    const l = w.link({
      adversary: (ev) => {
        if (ev.direction === 'toPhone' && ev.index === 2) {
          w.clock.setTimeout(() => ac.abort(), 10);
          return { type: 'drop' };
        }
      },
    });
    const s = await w.run(owner.manage(l.pair.phone, w.vehicle.identity.vehicleId));
    const e = await caught(w.run(s.listKeys({ signal: ac.signal })));
    expect(e).toBeInstanceOf(AbortError);
    await w.run(s.close());
    await w.run(l.served);
  });
});
