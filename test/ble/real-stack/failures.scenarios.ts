/**
 * Failures over the emulated radio: links cut by either side at the worst moments, RSSI policy
 * and a controller that cannot read RSSI, pseudonym rotation (with a session held across it),
 * the vehicle's controller vanishing, and several cars in range.
 */
import { describe, expect, it } from 'vitest';
import { scanForPairing, type NobleLike } from '../../../src/ble/noble.js';
import { pseudonymFromManufacturerData } from '../../../src/ble/profile.js';
import { toHex } from '../../../src/crypto/bytes.js';
import { AuthenticationError, DigitalKeyError, TransportError } from '../../../src/errors.js';
import { COMMAND } from '../../../src/protocol/constants.js';
import type { Clock } from '../../../src/transport/clock.js';
import { addCar, ownerPhone, phoneConnects, sleep, toVehicleCharacteristic, until, type Car, type Executed } from './cars.js';

/** Outcome of a promise as a value (the error, or null). */
function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => null,
    (e: unknown) => e,
  );
}

/**
 * Real timers, with Unix time shifted so the next pseudonym slot boundary (of `rotationMs`)
 * comes `inMs` from now: rotation happens in real time without waiting minutes.
 */
function clockRotatingIn(rotationMs: number, inMs: number): Clock {
  const now = Date.now();
  const offset = rotationMs - inMs - (now % rotationMs);
  return { now: () => Date.now() + offset, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
}

/** Pseudonyms of the digital-key advertisements noble hears in `ms` (allowDuplicates on). */
async function heardPseudonyms(noble: NobleLike, ms: number): Promise<string[]> {
  const heard: string[] = [];
  const onDiscover = (p: { advertisement: { manufacturerData?: Uint8Array } }): void => {
    const ps = pseudonymFromManufacturerData(p.advertisement.manufacturerData);
    if (ps !== null) heard.push(toHex(ps));
  };
  noble.on('discover', onDiscover);
  noble.startScanning([], true);
  await sleep(ms);
  noble.stopScanning();
  noble.removeListener('discover', onDiscover);
  return heard;
}

export function failureScenarios(): void {
  describe('links cut', () => {
    it('the car drops the link in the middle of the Auth: nothing runs, the error is retryable, a reconnect unlocks', async () => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { maxMtu: 23 });
      const { phone, noble } = await ownerPhone([car]);
      const { link, vehicleId } = await phoneConnects(noble, phone);
      const c = toVehicleCharacteristic(link.peripheral);
      const write = c.write.bind(c);
      let n = 0;
      c.write = (data, withoutResponse) => {
        // The Auth takes 8 chunks at MTU 23: after the third, the car's stack drops the link.
        if (++n === 3) car.bleno.disconnect();
        else if (n < 3) write(data, withoutResponse);
      };
      const error = await failure(phone.unlock(link, vehicleId));
      expect(error).toBeInstanceOf(TransportError);
      expect((error as TransportError).retryable).toBe(true);
      expect(link.closeInfo?.by).toBe('remote');
      await sleep(100);
      expect(executed).toEqual([]);

      const again = await phoneConnects(noble, phone);
      await phone.unlock(again.link, again.vehicleId);
      expect(executed.map((e) => e.path)).toEqual(['full']);
      await car.handle.stop();
      expect(car.errors).toEqual([]);
    });

    it('the car drops the link inside the handler: it ran once, and the phone is told it may have', async () => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { onCommand: (c: Car) => c.bleno.disconnect() });
      const { phone, noble } = await ownerPhone([car]);
      const { link, vehicleId } = await phoneConnects(noble, phone);
      const error = await failure(phone.unlock(link, vehicleId));
      expect(error).toBeInstanceOf(TransportError);
      expect((error as DigitalKeyError).mayHaveSucceeded).toBe(true);
      expect(executed).toHaveLength(1);
      await sleep(100);
      expect(executed).toHaveLength(1);
      await car.handle.stop();
    });

    it("the phone's own stack drops the link: the close is not blamed on the vehicle", async () => {
      const car = await addCar('car', []);
      const { phone, noble } = await ownerPhone([car]);
      const { link } = await phoneConnects(noble, phone);
      await link.receive(); // the challenge
      const closed = new Promise((r) => link.onClose(r));
      link.peripheral.disconnect(); // behind the adapter's back: the app, noble, or the OS
      await closed;
      expect(link.closeInfo?.by).toBe('error');
      expect(link.closeInfo?.reason).not.toMatch(/vehicle/);
      await car.handle.stop();
    });
  });

  describe('RSSI', () => {
    it.each([
      [-127, 'OK'],
      [0, 'PROXIMITY_CHECK_FAILED'],
    ])('the connection RSSI the car reads (bleno updateRssi) drives minRssiDbm %i → %s', async (minRssiDbm, code) => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { policies: { [COMMAND.unlock]: { minRssiDbm } } });
      const { phone, noble } = await ownerPhone([car]);
      const { link, vehicleId } = await phoneConnects(noble, phone);
      const session = await phone.connect(link, vehicleId, { id: COMMAND.unlock });
      expect(session.firstResult.code).toBe(code);
      expect(executed).toHaveLength(code === 'OK' ? 1 : 0);
      await session.close();
      await car.handle.stop();
    });

    it('a controller that cannot read RSSI (btvirt LE-only): a sealed PROXIMITY_CHECK_FAILED, not a refused key', async () => {
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { server: '/tmp/bt-server-le', rssiTimeoutMs: 300, policies: { [COMMAND.unlock]: { minRssiDbm: -90 } } });
      const { phone, noble } = await ownerPhone([car]);
      const { link, vehicleId } = await phoneConnects(noble, phone);
      const session = await phone.connect(link, vehicleId, { id: COMMAND.unlock });
      // The Result is sealed (the handshake completed): the key was accepted, the proximity check failed.
      expect(session.firstResult.code).toBe('PROXIMITY_CHECK_FAILED');
      expect(executed).toEqual([]);
      // The controller really refused the command (Read RSSI, opcode 0x1405).
      expect(car.socket.commandErrors.map((e) => e.opcode)).toContain(0x1405);
      await session.close();
      await car.handle.stop();
    });

    it('the advertisement RSSI 127 ("not available") is not a dBm value: never sorted as the nearest car', async () => {
      const cars = [await addCar('a', []), await addCar('b', [])];
      const { noble } = await ownerPhone([]);
      const candidates = await scanForPairing({ noble, listenMs: 400 });
      expect(candidates).toHaveLength(2);
      // btvirt reports every advertisement at 127: "not available", so no candidate has a dBm value.
      expect(candidates.map((c) => c.rssi)).toEqual([null, null]);
      for (const c of cars) await c.handle.stop();
    });
  });

  describe('pseudonym rotation', () => {
    it('rotates while advertising with no false onError, and the new pseudonym reaches the air', async () => {
      const rotationMs = 10_000;
      const clock = clockRotatingIn(rotationMs, 300);
      const car = await addCar('car', [], { clock, rotationMs });
      const { noble } = await ownerPhone([]);
      const before = toHex(car.handle.pseudonym);
      const heard = await heardPseudonyms(noble, 800);
      const after = toHex(car.handle.pseudonym);
      expect(after).not.toBe(before);
      expect(heard).toContain(before);
      expect(heard).toContain(after);
      expect(heard.lastIndexOf(before)).toBeLessThan(heard.indexOf(after));
      expect(car.errors).toEqual([]);
      expect(car.socket.commandErrors).toEqual([]);
      await car.handle.stop();
    });

    it('a session held across a rotation keeps working, and the car comes back with the new pseudonym', async () => {
      const rotationMs = 10_000;
      const clock = clockRotatingIn(rotationMs, 400);
      const executed: Executed[] = [];
      const car = await addCar('car', executed, { clock, rotationMs });
      const { phone, noble } = await ownerPhone([car], clock);
      const before = toHex(car.handle.pseudonym);
      const { link, vehicleId } = await phoneConnects(noble, phone, { clock, rotationMs });
      const session = await phone.connect(link, vehicleId, { id: COMMAND.unlock });
      await until(() => toHex(car.handle.pseudonym) !== before, 2_000, 'the rotation');
      const second = await session.send({ id: COMMAND.lock });
      expect(second.ok).toBe(true);
      await session.close();
      await until(() => car.handle.central === null, 3_000, 'the car to see the phone go');
      const heard = await heardPseudonyms(noble, 300);
      expect(heard.length).toBeGreaterThan(0);
      expect(new Set(heard)).toEqual(new Set([toHex(car.handle.pseudonym)]));
      expect(executed.map((e) => e.command)).toEqual([COMMAND.unlock, COMMAND.lock]);
      expect(car.errors).toEqual([]);
      expect(car.socket.commandErrors).toEqual([]);
      await car.handle.stop();
    });

    it('a disconnect restarts advertising once, with no false onError', async () => {
      const car = await addCar('car', []);
      const { phone, noble } = await ownerPhone([car]);
      for (let i = 0; i < 3; i++) {
        const { link, vehicleId } = await phoneConnects(noble, phone);
        await phone.unlock(link, vehicleId);
        await until(() => car.handle.central === null, 3_000, 'the car to see the phone go');
      }
      await sleep(100);
      expect(car.errors).toEqual([]);
      // bleno's own restart and no second LE Set Advertise Enable (0x200a) answered 0x0C.
      expect(car.socket.commandErrors).toEqual([]);
      expect((await heardPseudonyms(noble, 300)).length).toBeGreaterThan(0);
      await car.handle.stop();
    });
  });

  describe('the radio', () => {
    it("the vehicle's controller vanishes mid-session: both ends close, the car reports it, the phone's error is retryable", async () => {
      const car = await addCar('car', []);
      const { phone, noble } = await ownerPhone([car], undefined, 1_000);
      const { link, vehicleId } = await phoneConnects(noble, phone, { timeouts: { connectMs: 3_000, gattMs: 1_000 } });
      const vehicleLink = car.handle.link!;
      car.socket.vanish();
      // bleno polls its adapter once a second; the phone's controller sees the link time out.
      await until(() => vehicleLink.isClosed, 3_000, 'the car to notice');
      expect(car.errors.map((e) => e.message)).toContain('the Bluetooth adapter left the poweredOn state (now "poweredOff")');
      const error = await failure(phone.unlock(link, vehicleId));
      expect(error).toBeInstanceOf(DigitalKeyError);
      expect((error as DigitalKeyError).retryable).toBe(true);
      await car.handle.stop();
    });

    it('several cars in range: the pseudonym picks the paired one, the others are never connected to', async () => {
      const executed: Executed[] = [];
      const cars = [await addCar('neighbour', executed), await addCar('mine', executed), await addCar('stranger', executed)];
      const { phone, noble } = await ownerPhone([cars[1]!]);
      const { link, vehicleId } = await phoneConnects(noble, phone);
      expect(toHex(vehicleId)).toBe(toHex(cars[1]!.vehicle.identity.vehicleId));
      await phone.unlock(link, vehicleId);
      expect(executed).toEqual([{ car: 'mine', command: COMMAND.unlock, path: 'full' }]);
      expect(cars.map((c) => c.handle.served)).toEqual([0, 1, 0]);
      // A stranger's phone gets a clear refusal from its car, not a dropped link.
      const { phone: other, noble: otherNoble } = await ownerPhone([]);
      await other.addVehicle({ ...cars[2]!.vehicle.peer, name: 'stranger' });
      const found = await phoneConnects(otherNoble, other);
      const refused = await failure(other.unlock(found.link, found.vehicleId));
      expect(refused).toBeInstanceOf(AuthenticationError);
      for (const c of cars) await c.handle.stop();
    });
  });
}
