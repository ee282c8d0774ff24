/**
 * Pairing and unlocking over the emulated radio: owner pairing over the air, full then fast
 * unlock at ATT MTU 23, 185 and 256 with the chunk counts of docs/BLE.md §2, and the MTU both
 * stacks actually negotiate.
 */
import { describe, expect, it } from 'vitest';
import { connectNobleLink, scanForPairing } from '../../../src/ble/noble.js';
import { COMMAND } from '../../../src/protocol/constants.js';
import { addCar, newPhone, ownerPhone, phoneConnects, sleep, toVehicleCharacteristic, until, type Executed } from './cars.js';

/** Counts the GATT writes (chunks) the phone makes on a link, per message boundary-less. */
function countWrites(peripheral: Parameters<typeof toVehicleCharacteristic>[0]): number[] {
  const c = toVehicleCharacteristic(peripheral);
  const sizes: number[] = [];
  const write = c.write.bind(c);
  c.write = (data, withoutResponse) => {
    sizes.push(data.length);
    write(data, withoutResponse);
  };
  return sizes;
}

export function unlockScenarios(): void {
  describe('pairing and unlock', () => {
    it('owner pairing over the air: the phone hears the car, pairs with the code, unlocks on that link, then finds it by pseudonym', async () => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed);
      const { code } = car.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: { logN: 10, r: 8, p: 1 } });
      const { phone, noble } = newPhone();
      const candidates = await scanForPairing({ noble, listenMs: 400 });
      expect(candidates).toHaveLength(1);
      const link = await connectNobleLink(candidates[0]!.peripheral);
      const paired = await phone.pair(link, code!, { vehicleName: 'car' });
      expect(paired.advertisingKey).toEqual(car.vehicle.advertisingKey);
      const session = await phone.connect(link, paired.vehicleId, { id: COMMAND.unlock });
      expect(session.firstResult.ok).toBe(true);
      await session.close();
      await until(() => car.handle.central === null, 3_000, 'the car to see the phone go');

      const again = await phoneConnects(noble, phone);
      expect(again.vehicleId).toEqual(car.vehicle.identity.vehicleId);
      // The challenged fast path (its chunk counts are what this scenario checks); resume has its own tests.
      const second = await phone.connect(again.link, again.vehicleId, { id: COMMAND.lock }, { resume: 'off' });
      expect(second.path).toBe('fast');
      await second.close();
      expect(executed.map((e) => [e.command, e.path])).toEqual([
        [COMMAND.unlock, 'full'],
        [COMMAND.lock, 'fast'],
      ]);
      await car.handle.stop();
      expect(car.errors).toEqual([]);
    });

    // docs/BLE.md §2: Auth full 140 B, fast 80 B; Challenge 40 B, Result 22 B (+2 length bytes).
    it.each([
      [23, { full: 8, fast: 5, challenge: 3, result: 2 }],
      [185, { full: 1, fast: 1, challenge: 1, result: 1 }],
      [256, { full: 1, fast: 1, challenge: 1, result: 1 }],
    ])('full then fast unlock at ATT MTU %i, with the chunk counts of docs/BLE.md', async (mtu, chunks) => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { maxMtu: mtu });
      const { phone, noble } = await ownerPhone([car]);
      const paths: string[] = [];
      for (const expected of [chunks.full, chunks.fast]) {
        const { link, vehicleId } = await phoneConnects(noble, phone);
        // The MTU both stacks negotiated: noble asks 256, bleno grants min(256, its max).
        expect(link.mtu).toBe(mtu);
        expect(link.info.attMtu).toBe(mtu);
        expect(car.handle.link?.mtu).toBe(mtu);
        expect((link.peripheral as unknown as { mtu: number }).mtu).toBe(mtu);
        const writes = countWrites(link.peripheral);
        // resume off: docs/BLE.md's chunk counts are those of the challenged fast path.
        const session = await phone.connect(link, vehicleId, { id: COMMAND.unlock }, { resume: 'off' });
        expect(session.firstResult.ok).toBe(true);
        paths.push(session.path);
        expect(writes).toHaveLength(expected);
        expect(Math.max(...writes)).toBeLessThanOrEqual(mtu - 3);
        // Challenge + Result notified by the car.
        expect(link.stats.chunksReceived).toBe(chunks.challenge + chunks.result);
        await session.close();
        expect(link.closeInfo).toEqual({ by: 'local', reason: 'phone closed the session' });
        await until(() => car.handle.central === null, 3_000, 'the car to see the phone go');
      }
      expect(paths).toEqual(['full', 'fast']);
      expect(executed.map((e) => e.path)).toEqual(['full', 'fast']);
      await sleep(50);
      await car.handle.stop();
      expect(car.errors).toEqual([]);
    });
  });
}
