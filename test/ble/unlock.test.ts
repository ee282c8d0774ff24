/**
 * End to end through both libraries' object models: a real Phone on real noble (fake bindings)
 * unlocks a real Vehicle served by startBlenoVehicle on bleno's real GATT classes, over the
 * fake radio on virtual time.
 */
import { describe, expect, it } from 'vitest';
import { BleErrorCode } from '../../src/ble/codes.js';
import { loadNoble } from '../../src/ble/noble.js';
import { DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID, compactUuid, pseudonymFromManufacturerData } from '../../src/ble/profile.js';
import { AuthenticationError, TimeoutError, TransportError } from '../../src/errors.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { toHex } from '../../src/crypto/bytes.js';
import { addCar, ownerPhone, phoneConnects, type Executed } from './cars.js';
import { parseEir } from './fake-radio.js';
import { patternMessage } from '../transport/link-conformance.js';
import { connectTo, expectNoListeners, makeRig, scanTarget, startPeripheral } from './rig.js';

const TO_VEHICLE = compactUuid(DK_TO_VEHICLE_UUID);
const TO_PHONE = compactUuid(DK_TO_PHONE_UUID);

describe('unlock over noble ↔ bleno', () => {
  it.each([23, 247])('unlocks on the full path, then again on the fast path, at MTU %i', async (mtu) => {
    const rig = makeRig({ phoneMtu: mtu });
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    const written: number[] = [];
    rig.radio.writeAdversary = (e) => {
      written.push(e.data.length);
      return 'deliver';
    };
    const notified: number[] = [];
    rig.radio.onNotification = (data) => notified.push(data.length);

    const paths: string[] = [];
    for (let round = 0; round < 2; round++) {
      const { link, vehicleId } = await phoneConnects(rig, phone);
      expect(link.mtu).toBe(mtu);
      expect(link.info).toEqual({ versions: [2], maxMessageBytes: 4096, attMtu: mtu });
      expect(car.handle.link?.mtu).toBe(mtu);
      const session = await rig.run(phone.connect(link, vehicleId, { id: COMMAND.unlock }));
      expect(session.firstResult.ok).toBe(true);
      paths.push(session.path);
      await rig.run(session.close());
      await rig.clock.advance(200);
      expect(link.isClosed).toBe(true);
      expect(link.closeInfo).toEqual({ by: 'local', reason: 'phone closed the session' });
      expectNoListeners(link.peripheral);
      expect(car.bleno.connected).toBe(false);
      expect(car.bleno.advertising).toBe(true);
    }
    expect(paths).toEqual(['full', 'resume']); // handlers see a resumed session as `fast` (a ticket path)
    expect(executed).toEqual([
      { car: 'car', command: COMMAND.unlock, path: 'full' },
      { car: 'car', command: COMMAND.unlock, path: 'fast' },
    ]);
    expect(car.handle.served).toBe(2);
    // Every GATT value stayed within the negotiated payload; small MTUs really fragment.
    expect(Math.max(...written, ...notified)).toBeLessThanOrEqual(mtu - 3);
    if (mtu === 23) expect(written.length).toBeGreaterThan(10);
    await rig.run(car.handle.stop());
  });

  it('at ATT MTU 517 both ends run the link at MTU 515: no GATT value exceeds 512 bytes either way', async () => {
    const rig = makeRig({ phoneMtu: 517 });
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x21, { maxMtu: 517 });
    const written: number[] = [];
    rig.radio.writeAdversary = (e) => {
      written.push(e.data.length);
      return 'deliver';
    };
    const notified: number[] = [];
    rig.radio.onNotification = (data) => notified.push(data.length);
    const link = await connectTo(rig, scanTarget(side.advertisingKey));
    expect(link.peripheral.mtu).toBe(517);
    expect(link.info.attMtu).toBe(515);
    expect(link.mtu).toBe(515);
    const vehicleSide = side.links[0]!;
    expect(vehicleSide.mtu).toBe(515);
    const message = patternMessage(4096, 3);
    const atVehicle = vehicleSide.receive();
    await rig.run(link.send(message));
    expect(await rig.run(atVehicle)).toEqual(message);
    const atPhone = link.receive();
    await rig.run(vehicleSide.send(message));
    expect(await rig.run(atPhone)).toEqual(message);
    // 4098 framed bytes in 512-byte values: 8 full ones and a 2-byte rest, each way.
    expect(Math.max(...written)).toBe(512);
    expect(Math.max(...notified)).toBe(512);
    expect(written.filter((n) => n === 512)).toHaveLength(8);
    await rig.run(link.close());
    await rig.run(side.handle.stop());
  });

  it('Phone.unlock (connect, one command, close) works on a noble link', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    const { link, vehicleId } = await phoneConnects(rig, phone);
    const result = await rig.run(phone.unlock(link, vehicleId));
    expect(result).toMatchObject({ ok: true, code: 'OK' });
    expect(executed).toEqual([{ car: 'car', command: COMMAND.unlock, path: 'full' }]);
    await rig.run(car.handle.stop());
  });

  it('an unknown phone gets the REJECTED answer, not a dropped link', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const stranger = await ownerPhone(rig, []);
    await stranger.addVehicle({ ...car.vehicle.peer, name: 'car' });
    const { link, vehicleId } = await phoneConnects(rig, stranger);
    const error = await rig.run(stranger.unlock(link, vehicleId).then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).code).toBe('REJECTED');
    expect(executed).toEqual([]);
    await rig.run(car.handle.stop());
  });

  it('after answering and closing its end, the vehicle waits closeLingerMs for the phone to disconnect, then drops it', async () => {
    const rig = makeRig();
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = await ownerPhone(rig, [car]);
    const { link } = await phoneConnects(rig, phone);
    await rig.run(link.receive()); // the challenge
    await rig.run(link.send(Uint8Array.of(0xa0))); // not an Auth
    const answer = await rig.run(link.receive());
    expect(answer.length).toBeGreaterThan(0); // the clear REJECTED status made it out before the close
    expect(car.handle.link).toBeNull();
    const closedAt = rig.clock.now();
    await rig.run(new Promise((resolve) => link.onClose(resolve)));
    expect(link.closeInfo?.by).toBe('remote');
    expect(rig.clock.now() - closedAt).toBeGreaterThanOrEqual(900);
    expect(rig.clock.now() - closedAt).toBeLessThanOrEqual(1_100);
    await rig.run(car.handle.stop());
  });

  it.each([
    [-60, 'OK'],
    [-80, 'PROXIMITY_CHECK_FAILED'],
  ])('passes the connection RSSI (bleno updateRssi) to the vehicle policy: %i dBm → %s', async (rssi, code) => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed, { rssi, policies: { [COMMAND.unlock]: { minRssiDbm: -70 } } });
    const phone = await ownerPhone(rig, [car]);
    const { link, vehicleId } = await phoneConnects(rig, phone);
    const session = await rig.run(phone.connect(link, vehicleId, { id: COMMAND.unlock }));
    expect(session.firstResult.code).toBe(code);
    expect(executed).toHaveLength(code === 'OK' ? 1 : 0);
    await rig.run(session.close());
    await rig.run(car.handle.stop());
  });

  it('tracks the MTU per central: a phone at 23, then one at 185, on the same car', async () => {
    const rig = makeRig({ phoneMtu: 23 });
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    const first = await phoneConnects(rig, phone);
    expect([first.link.mtu, car.handle.link?.mtu]).toEqual([23, 23]);
    await rig.run(phone.unlock(first.link, first.vehicleId));
    await rig.clock.advance(200);

    // Another phone (another noble on the same radio) asks for 185.
    const bindings = rig.radio.phoneBindings({ mtu: 185 });
    const second = await phoneConnects({ ...rig, bindings, noble: loadNoble({ bindings }) }, phone);
    expect([second.link.mtu, car.handle.link?.mtu]).toEqual([185, 185]);
    await rig.run(phone.unlock(second.link, second.vehicleId));
    expect(executed.map((e) => e.path)).toEqual(['full', 'fast']);
    await rig.run(car.handle.stop());
  });
});

describe('several cars in range', () => {
  it('the pseudonym picks the paired car; the others are never connected to', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const cars = [
      await addCar(rig, 'neighbour', 'c0:00:00:00:00:01', executed),
      await addCar(rig, 'mine', 'c0:00:00:00:00:02', executed),
      await addCar(rig, 'stranger', 'c0:00:00:00:00:03', executed),
    ];
    const phone = await ownerPhone(rig, [cars[1]!]);
    const { link, vehicleId } = await phoneConnects(rig, phone);
    expect(toHex(vehicleId)).toBe(toHex(cars[1]!.vehicle.identity.vehicleId));
    await rig.run(phone.unlock(link, vehicleId));
    expect(executed).toEqual([{ car: 'mine', command: COMMAND.unlock, path: 'full' }]);
    expect(cars.map((c) => c.handle.served)).toEqual([0, 1, 0]);
    for (const c of cars) await rig.run(c.handle.stop());
  });

  it('advertisements carry the service and a pseudonym, never the vehicle id, and differ between cars', async () => {
    const rig = makeRig();
    const cars = [await addCar(rig, 'a', 'c0:00:00:00:00:01', []), await addCar(rig, 'b', 'c0:00:00:00:00:02', [])];
    const ads = cars.map((c) => c.bleno.advertisement!);
    for (const [i, ad] of ads.entries()) {
      expect(ad.length).toBe(31);
      const parsed = parseEir(ad);
      expect(parsed.localName).toBeUndefined();
      const pseudonym = pseudonymFromManufacturerData(parsed.manufacturerData);
      expect(pseudonym).toEqual(cars[i]!.handle.pseudonym);
      const id = cars[i]!.vehicle.identity.vehicleId;
      for (let k = 0; k + 4 <= id.length; k++) expect(ad.includes(Buffer.from(id.subarray(k, k + 4)))).toBe(false);
    }
    expect(ads[0]!.equals(ads[1]!)).toBe(false);
    for (const c of cars) await rig.run(c.handle.stop());
  });

  it('re-advertises a fresh pseudonym at every rotation, and the phone still finds its car', async () => {
    const rig = makeRig();
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = await ownerPhone(rig, [car]);
    const seen = [toHex(car.handle.pseudonym)];
    for (let i = 0; i < 3; i++) {
      await rig.clock.advance(300_000);
      seen.push(toHex(car.handle.pseudonym));
    }
    expect(new Set(seen).size).toBe(4);
    expect(car.bleno.advertisements.length).toBeGreaterThanOrEqual(4);
    const { link, vehicleId } = await phoneConnects(rig, phone);
    await rig.run(phone.unlock(link, vehicleId));
    await rig.run(car.handle.stop());
  });
});

describe('failures on the radio', () => {
  it('disconnect in the middle of the Auth: the vehicle runs nothing, the phone gets a retryable TransportError, and a reconnect unlocks', async () => {
    const rig = makeRig({ phoneMtu: 23 });
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    rig.radio.writeAdversary = (e) => {
      // The third chunk of the phone's first message (the Auth) never arrives: the radio dies.
      if (e.index === 2) rig.radio.loseConnection();
      return 'deliver';
    };
    const { link, vehicleId } = await phoneConnects(rig, phone);
    const error = await rig.run(phone.unlock(link, vehicleId).then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).retryable).toBe(true);
    expect(link.closeInfo?.by).toBe('error');
    await rig.clock.advance(200);
    expect(executed).toEqual([]);
    expectNoListeners(link.peripheral);
    expect(car.bleno.advertising).toBe(true);

    rig.radio.writeAdversary = undefined;
    const again = await phoneConnects(rig, phone);
    await rig.run(phone.unlock(again.link, again.vehicleId));
    expect(executed).toEqual([{ car: 'car', command: COMMAND.unlock, path: 'full' }]);
    await rig.run(car.handle.stop());
  });

  it('disconnect in the middle of the Result: the command ran, and the phone is told it may have', async () => {
    const rig = makeRig({ phoneMtu: 23 });
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    let executedAtCut = -1;
    rig.radio.onNotification = () => {
      // The first notification after the handler ran is the start of the Result.
      if (executed.length === 1 && executedAtCut < 0) {
        executedAtCut = executed.length;
        rig.radio.loseConnection();
      }
    };
    const { link, vehicleId } = await phoneConnects(rig, phone);
    const error = await rig.run(phone.unlock(link, vehicleId).then(() => null, (e: unknown) => e));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).mayHaveSucceeded).toBe(true);
    expect(executed).toEqual([{ car: 'car', command: COMMAND.unlock, path: 'full' }]);
    await rig.clock.advance(200);
    expectNoListeners(link.peripheral);
    await rig.run(car.handle.stop());
  });

  it.each(['att-error', 'no-response'] as const)(
    'a write whose answer never comes (%s): the GATT timeout fires, the link fails, nothing is left behind',
    async (verdict) => {
      const rig = makeRig();
      const executed: Executed[] = [];
      const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
      const phone = await ownerPhone(rig, [car]);
      rig.radio.writeAdversary = (e) => (e.characteristic === TO_VEHICLE ? verdict : 'deliver');
      const { link, vehicleId } = await phoneConnects(rig, phone, { writeWithoutResponse: false, timeouts: { gattMs: 2_000 } });
      const startMs = rig.clock.now();
      const sent = rig.run(link.send(new Uint8Array([1, 2, 3])).then(() => null, (e: unknown) => e));
      const error = await sent;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).code).toBe(BleErrorCode.gattTimeout);
      expect((error as TimeoutError).mayHaveSucceeded).toBe(true);
      expect(rig.clock.now() - startMs).toBeGreaterThanOrEqual(2_000);
      expect(link.closeInfo?.by).toBe('error');
      expect(rig.bindings.calls).toContain('disconnect');
      await rig.clock.advance(200);
      expectNoListeners(link.peripheral);
      expect(car.handle.link?.isClosed ?? true).toBe(true);
      expect(executed).toEqual([]);
      void vehicleId;
      await rig.run(car.handle.stop());
    },
  );

  it('a notification before subscribing is ignored and counted; the session then works', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    // When the phone reads the info characteristic (after discovery, before subscribing), a
    // notification with a plausible frame header arrives.
    const bindings = rig.bindings as unknown as { read: (...args: unknown[]) => void };
    const read = bindings.read.bind(bindings);
    bindings.read = (...args: unknown[]) => {
      rig.radio.injectNotification(TO_PHONE, new Uint8Array([0x00, 0x03, 0xaa, 0xbb, 0xcc]));
      read(...args);
    };
    const { link, vehicleId } = await phoneConnects(rig, phone);
    expect(link.stats.ignoredChunks).toBe(1);
    const result = await rig.run(phone.unlock(link, vehicleId));
    expect(result.ok).toBe(true);
    expect(link.stats.framingErrors).toBe(0);
    expect(executed).toHaveLength(1);
    await rig.run(car.handle.stop());
  });

  it('a notification on a subscribed link that breaks framing is dropped, and the next message still arrives', async () => {
    const rig = makeRig({ phoneMtu: 23 });
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = await ownerPhone(rig, [car]);
    const { link } = await phoneConnects(rig, phone);
    const challenge = await rig.run(link.receive());
    expect(challenge.length).toBeGreaterThan(0);
    rig.radio.injectNotification(TO_PHONE, new Uint8Array([0x00])); // shorter than a length prefix
    await rig.clock.advance(100);
    expect(link.stats.framingErrors).toBe(1);
    expect(link.isClosed).toBe(false);
    await rig.run(link.close());
    await rig.run(car.handle.stop());
  });

  it('stop() on the vehicle closes the live link (the phone sees the car go), stops advertising and removes its listeners', async () => {
    const rig = makeRig();
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = await ownerPhone(rig, [car]);
    const { link } = await phoneConnects(rig, phone);
    await rig.run(car.handle.stop());
    await rig.clock.advance(200);
    expect(link.closeInfo?.by).toBe('remote');
    expect(car.bleno.advertising).toBe(false);
    expect(car.bleno.eventNames().filter((n) => n !== 'newListener')).toEqual([]);
    expectNoListeners(link.peripheral);
    // The adapter leaves nothing behind; the vehicle's own time-floor timer goes with vehicle.close().
    await rig.run(car.vehicle.close());
    expect(rig.clock.pendingTimers).toBe(0);
  });

  it('the adapter powering off mid-session closes the link with an error and tells onError', async () => {
    const rig = makeRig();
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = await ownerPhone(rig, [car]);
    await phoneConnects(rig, phone);
    const vehicleLink = car.handle.link!;
    car.bleno.powerState('poweredOff');
    expect(vehicleLink.isClosed).toBe(true);
    expect(car.handle.link).toBeNull();
    car.bleno.powerState('poweredOn');
    expect(car.bleno.advertising).toBe(true);
    rig.radio.loseConnection();
    await rig.run(car.handle.stop());
  });
});
