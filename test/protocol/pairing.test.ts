import { describe, expect, it } from 'vitest';
import { makeWorld, sleep } from '../helpers/world.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { makePairingRecord } from '../../src/vehicle/pairing.js';
import { DigitalKeyError } from '../../src/errors.js';

const FAST_KDF = { logN: 10, r: 8, p: 1 };

describe('owner pairing with a code', () => {
  it('pairs with the code the car shows, then unlocks on the same link', async () => {
    const w = await makeWorld();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: FAST_KDF });
    expect(code).toMatch(/^\d{8}$/);
    const phone = await w.newPhone();
    const a = w.link();
    const v = await w.run(phone.pair(a.pair.phone, code!, { keyName: 'alice' }));
    expect(v.vehicleId).toEqual(w.vehicle.identity.vehicleId);
    expect(w.vehicle.listKeys().map((k) => [k.name, k.role])).toContainEqual(['alice', 'owner']);
    expect(w.vehicle.pairing.isOpen).toBe(false);
    const s = await w.run(phone.connect(a.pair.phone, v.vehicleId, { id: COMMAND.unlock }));
    expect(s.firstResult.ok).toBe(true);
    await w.run(s.close());
    await w.run(a.served);
    expect(w.executed).toHaveLength(1);
  });

  it('refuses a wrong code, learns nothing, and locks out after the attempt limit', async () => {
    const w = await makeWorld();
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 1_800_000, kdf: FAST_KDF, maxAttempts: 3 });
    const wrong = code === '00000000' ? '11111111' : '00000000';
    const phone = await w.newPhone();
    for (let i = 0; i < 3; i++) {
      const a = w.link();
      const err = await w.run(phone.pair(a.pair.phone, wrong).catch((e) => e));
      expect(err).toBeInstanceOf(DigitalKeyError);
      expect(err.code).toBe('PAIRING_FAILED');
      await w.run(a.served);
      await sleep(w, 60_000);
    }
    expect(w.vehicle.pairing.isOpen).toBe(false);
    // Even the right code now fails: the window is locked.
    const a = w.link();
    const err = await w.run(phone.pair(a.pair.phone, code!).catch((e) => e));
    expect(err.code).toBe('PAIRING_NOT_OPEN');
    expect(w.vehicle.listKeys()).toHaveLength(0);
  });

  it('refuses when no window is open or the window expired', async () => {
    const w = await makeWorld();
    const phone = await w.newPhone();
    const a = w.link();
    expect((await w.run(phone.pair(a.pair.phone, '12345678').catch((e) => e))).code).toBe('PAIRING_NOT_OPEN');
    const { code } = w.vehicle.openPairingWindow({ ttlMs: 1_000, kdf: FAST_KDF });
    await sleep(w, 2_000);
    const b = w.link();
    expect((await w.run(phone.pair(b.pair.phone, code!).catch((e) => e))).code).toBe('PAIRING_NOT_OPEN');
  });

  it('pairs with a factory-made verifier record: the vehicle never sees the code', async () => {
    const w = await makeWorld();
    await w.vehicle.setPairingRecord(makePairingRecord(w.crypto, 'CARD-4711', FAST_KDF));
    const opened = w.vehicle.openPairingWindow({ ttlMs: 60_000 });
    expect(opened.code).toBeUndefined();
    const phone = await w.newPhone();
    const a = w.link();
    await w.run(phone.pair(a.pair.phone, 'CARD-4711'));
    expect(w.vehicle.listKeys()).toHaveLength(1);
  });
});
