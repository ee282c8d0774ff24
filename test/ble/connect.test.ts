/**
 * Scanning and connection set-up through real noble: timeouts, adapter states, wrong or hostile
 * peripherals, drops during set-up, retries, and pairing (a phone that has no advertising key
 * yet) followed by unlocks.
 */
import type { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BleErrorCode } from '../../src/ble/codes.js';
import {
  connectNobleLink,
  openVehicleLink,
  scanForPairing,
  scanForVehicle,
  type NoblePeripheralLike,
} from '../../src/ble/noble.js';
import {
  DK_INFO_UUID,
  DK_SERVICE_UUID,
  DK_TO_PHONE_UUID,
  DK_TO_VEHICLE_UUID,
  encodeAdvertisingData,
  encodeBleInfo,
} from '../../src/ble/profile.js';
import { currentPseudonym } from '../../src/ble/pseudonym.js';
import { AbortError, ProtocolError, TimeoutError, TransportError, UsageError } from '../../src/errors.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { softwarePhone } from './parties.js';
import { addCar, ownerPhone, phoneConnects, type Executed } from './cars.js';
import { BlenoCharacteristic, BlenoPrimaryService, type FakeBleno } from './fake-radio.js';
import { connectTo, expectNoListeners, listenerCounts, makeRig, scanTarget, startPeripheral, type Rig } from './rig.js';

/** Outcome of a promise, for asserting on rejections. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

/** A characteristic spec for a rogue peripheral. */
interface RogueCharacteristic {
  uuid: string;
  properties: string[];
  onReadRequest?: (offset: number, cb: (result: number, data?: Buffer) => void) => void;
}

const KEY = new Uint8Array(32).fill(0x42);

/** The three characteristics of the real profile, with `info` answering `infoValue`. */
function profileCharacteristics(infoValue: Uint8Array | null): RogueCharacteristic[] {
  return [
    {
      uuid: DK_INFO_UUID,
      properties: ['read'],
      onReadRequest: (_o, cb) => (infoValue === null ? cb(BlenoCharacteristic.RESULT_UNLIKELY_ERROR) : cb(BlenoCharacteristic.RESULT_SUCCESS, Buffer.from(infoValue))),
    },
    { uuid: DK_TO_VEHICLE_UUID, properties: ['write', 'writeWithoutResponse'] },
    { uuid: DK_TO_PHONE_UUID, properties: ['notify'] },
  ];
}

/** A peripheral that advertises like a digital-key car (pseudonym of KEY) but serves `characteristics`. */
function rogue(rig: Rig, characteristics: RogueCharacteristic[], serviceUuid = DK_SERVICE_UUID): FakeBleno {
  const bleno = rig.radio.addVehicle('c0:00:00:00:0b:ad');
  bleno.powerState('poweredOn');
  const chars = characteristics.map((c) => new BlenoCharacteristic({ ...c, uuid: c.uuid }));
  bleno.setServices([new BlenoPrimaryService({ uuid: serviceUuid, characteristics: chars })] as never);
  const pseudonym = currentPseudonym(rig.crypto, KEY, rig.clock.now());
  bleno.startAdvertisingWithEIRData(Buffer.from(encodeAdvertisingData(pseudonym)), Buffer.alloc(0));
  return bleno;
}

/** Scans for the KEY car and returns its noble peripheral. */
async function findRogue(rig: Rig): Promise<NoblePeripheralLike> {
  const found = await rig.run(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [scanTarget(KEY)], timeoutMs: 2_000, clock: rig.clock }));
  return found.peripheral;
}

/** Connecting to `peripheral` fails with `cls`/`code`, drops the connection and leaves no listener. */
async function expectSetupFailure(rig: Rig, peripheral: NoblePeripheralLike, cls: abstract new (...a: never[]) => Error, code: string, options = {}): Promise<Error> {
  const error = (await rig.run(failure(connectNobleLink(peripheral, { clock: rig.clock, ...options })))) as Error;
  expect(error).toBeInstanceOf(cls);
  expect((error as { code?: string }).code).toBe(code);
  await rig.clock.advance(200);
  expectNoListeners(peripheral);
  expect(rig.radio.connection).toBeNull();
  return error;
}

describe('scanForVehicle', () => {
  it('times out with BLE_SCAN_TIMEOUT when no paired car is in range, stops scanning and leaves no listener', async () => {
    const rig = makeRig();
    const stranger = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x11);
    const before = listenerCounts(rig.noble as unknown as EventEmitter);
    const startMs = rig.clock.now();
    const error = await rig.run(failure(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [scanTarget(KEY)], timeoutMs: 3_000, clock: rig.clock })));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe(BleErrorCode.scanTimeout);
    expect(rig.clock.now() - startMs).toBe(3_000);
    expect(rig.bindings.calls.at(-1)).toBe('stopScanning');
    // noble's own listeners only (its 'warning' and lazy-init 'newListener'); ours are gone.
    expect(listenerCounts(rig.noble as unknown as EventEmitter)).toEqual(before);
    await rig.run(stranger.handle.stop());
  });

  it('fails at once with BLE_ADAPTER_STATE and a one-sentence fix when Bluetooth is unauthorized', async () => {
    const rig = makeRig();
    const bindings = rig.radio.phoneBindings({ state: 'unauthorized' });
    const { loadNoble } = await import('../../src/ble/noble.js');
    const noble = loadNoble({ bindings });
    const error = await rig.run(failure(scanForVehicle({ noble, crypto: rig.crypto, vehicles: [scanTarget(KEY)], timeoutMs: 3_000, clock: rig.clock })));
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe(BleErrorCode.adapterState);
    const message = (error as Error).message;
    expect(message).toMatch(/setcap/);
    expect(message).toMatch(/macOS/);
    expect(message.split('. ').length).toBe(1);
    expect(rig.clock.pendingTimers).toBe(0);
  });

  it('rejects with AbortError when aborted mid-scan', async () => {
    const rig = makeRig();
    const controller = new AbortController();
    const scanning = failure(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [scanTarget(KEY)], timeoutMs: 10_000, clock: rig.clock, signal: controller.signal }));
    await rig.clock.advance(500);
    controller.abort();
    expect(await rig.run(scanning)).toBeInstanceOf(AbortError);
  });

  it('refuses vehicles without an advertising key (UsageError) and bad timeouts', async () => {
    const rig = makeRig();
    const noKey = { ...scanTarget(KEY), advertisingKey: undefined };
    await expect(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [noKey], timeoutMs: 1_000, clock: rig.clock })).rejects.toBeInstanceOf(UsageError);
    for (const timeoutMs of [0, -1, Number.NaN]) {
      await expect(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles: [scanTarget(KEY)], timeoutMs, clock: rig.clock })).rejects.toBeInstanceOf(UsageError);
    }
  });
});

describe('connectNobleLink set-up failures', () => {
  it('a peripheral without the digital-key service: BLE_PROFILE_MISMATCH', async () => {
    const rig = makeRig();
    rogue(rig, profileCharacteristics(null), '0000180f-0000-1000-8000-00805f9b34fb');
    await expectSetupFailure(rig, await findRogue(rig), ProtocolError, BleErrorCode.profileMismatch);
  });

  it('a write characteristic without write-without-response: BLE_PROFILE_MISMATCH', async () => {
    const rig = makeRig();
    const chars = profileCharacteristics(encodeBleInfo({ versions: [2], maxMessageBytes: 4096, attMtu: 256 }));
    chars[1] = { uuid: DK_TO_VEHICLE_UUID, properties: ['write'] };
    rogue(rig, chars);
    await expectSetupFailure(rig, await findRogue(rig), ProtocolError, BleErrorCode.profileMismatch);
  });

  it('a malformed info value: BLE_BAD_INFO', async () => {
    const rig = makeRig();
    rogue(rig, profileCharacteristics(Uint8Array.of(0xa1, 0x00, 0x01, 0xff)));
    await expectSetupFailure(rig, await findRogue(rig), ProtocolError, BleErrorCode.badInfo);
  });

  it('an info value announcing only unknown versions: BLE_VERSION_MISMATCH', async () => {
    const rig = makeRig();
    rogue(rig, profileCharacteristics(encodeBleInfo({ versions: [9], maxMessageBytes: 4096, attMtu: 256 })));
    await expectSetupFailure(rig, await findRogue(rig), ProtocolError, BleErrorCode.versionMismatch);
  });

  it('an info read answered with an ATT error (noble never reports it): BLE_GATT_TIMEOUT after gattMs', async () => {
    const rig = makeRig();
    rogue(rig, profileCharacteristics(null));
    const peripheral = await findRogue(rig);
    const startMs = rig.clock.now();
    await expectSetupFailure(rig, peripheral, TimeoutError, BleErrorCode.gattTimeout, { timeouts: { gattMs: 1_500 } });
    expect(rig.clock.now() - startMs).toBeGreaterThanOrEqual(1_500);
  });

  it('a connection request nobody answers: connect times out and the request is cancelled', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const peripheral = await findRogue(rig);
    rig.radio.ignoreConnectRequests = true;
    await expectSetupFailure(rig, peripheral, TimeoutError, BleErrorCode.gattTimeout, { timeouts: { connectMs: 3_000 } });
    expect(rig.bindings.calls).toContain('cancelConnect');
    await rig.run(side.handle.stop());
  });

  it('the radio drops during discovery: BLE_CONNECT_FAILED, retryable', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const peripheral = await findRogue(rig);
    const bindings = rig.bindings as unknown as { discoverCharacteristics: (...a: unknown[]) => void };
    const original = bindings.discoverCharacteristics.bind(bindings);
    bindings.discoverCharacteristics = (...a: unknown[]) => {
      original(...a);
      rig.radio.loseConnection();
    };
    const error = await expectSetupFailure(rig, peripheral, TransportError, BleErrorCode.connectFailed);
    expect((error as TransportError).retryable).toBe(true);
    await rig.run(side.handle.stop());
  });

  it('an abort during set-up: AbortError, connection dropped', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const peripheral = await findRogue(rig);
    const controller = new AbortController();
    const bindings = rig.bindings as unknown as { read: (...a: unknown[]) => void };
    const original = bindings.read.bind(bindings);
    bindings.read = (...a: unknown[]) => {
      original(...a);
      controller.abort();
    };
    await expectSetupFailure(rig, peripheral, AbortError, 'ABORTED', { signal: controller.signal });
    await rig.run(side.handle.stop());
  });

  it('an abort as discovery completes: AbortError before the info read, nothing left on the peripheral', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const peripheral = await findRogue(rig);
    const controller = new AbortController();
    // Runs right after noble handed the characteristics to the set-up: the abort lands between
    // discovery and the shared client's first step.
    (rig.bindings as unknown as EventEmitter).on('characteristicsDiscover', () => controller.abort());
    await expectSetupFailure(rig, peripheral, AbortError, 'ABORTED', { signal: controller.signal });
    expect(rig.bindings.calls).not.toContain('read');
    await rig.run(side.handle.stop());
  });

  it('openVehicleLink retries a failed connection with backoff, then connects', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = await ownerPhone(rig, [car]);
    rig.radio.ignoreConnectRequests = true;
    const retries: number[] = [];
    const opening = openVehicleLink({
      noble: rig.noble,
      crypto: rig.crypto,
      vehicles: await phone.store.listVehicles(),
      timeoutMs: 5_000,
      clock: rig.clock,
      timeouts: { connectMs: 1_000 },
      retry: {
        jitter: 0,
        onRetry: (_e, attempt, delayMs) => {
          retries.push(delayMs);
          if (attempt === 1) rig.radio.ignoreConnectRequests = false;
        },
      },
    });
    const { link, vehicle } = await rig.run(opening);
    expect(retries).toEqual([250]);
    await rig.run(phone.unlock(link, vehicle.vehicleId));
    expect(executed).toHaveLength(1);
    await rig.run(car.handle.stop());
  });
});

describe('pairing over BLE', () => {
  it('a new phone finds the car by proximity, pairs with the code, unlocks on the same link, then finds it by pseudonym', async () => {
    const rig = makeRig();
    const executed: Executed[] = [];
    const far = await addCar(rig, 'far', 'c0:00:00:00:00:01', executed);
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:02', executed);
    // The car in front of the phone is heard loudest.
    (car.bleno as { rssi: number }).rssi = -40;
    const { code } = car.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: { logN: 10, r: 8, p: 1 } });
    const phone = softwarePhone(rig.crypto, rig.clock);

    const candidates = await rig.run(scanForPairing({ noble: rig.noble, listenMs: 1_000, clock: rig.clock }));
    expect(candidates.map((c) => c.rssi)).toEqual([-40, -60]);
    const link = await rig.run(connectNobleLink(candidates[0]!.peripheral, { clock: rig.clock }));
    const paired = await rig.run(phone.pair(link, code!, { vehicleName: 'car' }));
    expect(paired.advertisingKey).toEqual(car.vehicle.advertisingKey);
    const session = await rig.run(phone.connect(link, paired.vehicleId, { id: COMMAND.unlock }));
    expect(session.firstResult.ok).toBe(true);
    await rig.run(session.close());
    await rig.clock.advance(200);

    // Paired now: the pseudonym finds this car among the two, and the ticket gives the fast path.
    const again = await phoneConnects(rig, phone);
    expect(again.vehicleId).toEqual(car.vehicle.identity.vehicleId);
    const second = await rig.run(phone.connect(again.link, again.vehicleId, { id: COMMAND.lock }));
    expect(second.path).toBe('resume'); // a ticket path: the lock rides a ResumeAuth (docs/PROTOCOL.md §14)
    await rig.run(second.close());
    expect(executed.map((e) => [e.car, e.command])).toEqual([
      ['car', COMMAND.unlock],
      ['car', COMMAND.lock],
    ]);
    // Known cars are not pairing candidates any more.
    const left = await rig.run(scanForPairing({ noble: rig.noble, listenMs: 1_000, clock: rig.clock, known: { crypto: rig.crypto, vehicles: await phone.store.listVehicles() } }));
    expect(left.map((c) => c.peripheral.id)).toEqual(['c00000000001']);
    for (const c of [far, car]) await rig.run(c.handle.stop());
  });

  it('the wrong car (no window open) refuses, and the phone learns nothing', async () => {
    const rig = makeRig();
    const car = await addCar(rig, 'car', 'c0:00:00:00:00:01', []);
    const phone = softwarePhone(rig.crypto, rig.clock);
    const [candidate] = await rig.run(scanForPairing({ noble: rig.noble, listenMs: 500, clock: rig.clock }));
    const link = await rig.run(connectNobleLink(candidate!.peripheral, { clock: rig.clock }));
    const error = await rig.run(failure(phone.pair(link, '12345678')));
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('PAIRING_NOT_OPEN');
    expect(await phone.store.listVehicles()).toEqual([]);
    await rig.run(link.close());
    await rig.run(car.handle.stop());
  });
});

describe('vehicle GATT server', () => {
  /** The bleno Characteristic objects the peripheral registered, by uuid. */
  function characteristics(bleno: FakeBleno): Map<string, EventEmitter> {
    const out = new Map<string, EventEmitter>();
    for (const s of bleno.services) for (const c of s.characteristics) out.set(c.uuid, c);
    return out;
  }
  const result = (emit: (cb: (r: number, d?: Buffer) => void) => void): Promise<[number, Buffer | undefined]> =>
    new Promise((resolve) => emit((r, d) => resolve([r, d])));

  it('refuses writes with no subscribed phone, long writes and bad read offsets with ATT errors, never by throwing', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const chars = characteristics(side.bleno);
    const toVehicle = chars.get(DK_TO_VEHICLE_UUID.replace(/-/g, ''))!;
    const info = chars.get(DK_INFO_UUID.replace(/-/g, ''))!;
    expect(await result((cb) => toVehicle.emit('writeRequest', Buffer.from([0, 1, 9]), 0, false, cb))).toEqual([BlenoCharacteristic.RESULT_UNLIKELY_ERROR, undefined]);
    expect((await result((cb) => info.emit('readRequest', 99, cb)))[0]).toBe(BlenoCharacteristic.RESULT_INVALID_OFFSET);
    const [ok, value] = await result((cb) => info.emit('readRequest', 2, cb));
    expect(ok).toBe(BlenoCharacteristic.RESULT_SUCCESS);
    expect(Buffer.concat([Buffer.from(encodeBleInfo({ versions: [2], maxMessageBytes: 4096, attMtu: 23 }).subarray(0, 2)), value!])).toEqual(
      Buffer.from(encodeBleInfo({ versions: [2], maxMessageBytes: 4096, attMtu: 23 })),
    );

    const link = await connectTo(rig, scanTarget(side.advertisingKey));
    expect(await result((cb) => toVehicle.emit('writeRequest', Buffer.from([0, 1, 9]), 5, false, cb))).toEqual([BlenoCharacteristic.RESULT_ATTR_NOT_LONG, undefined]);
    expect(side.links[0]!.stats.ignoredChunks).toBe(1);
    await rig.run(link.close());
    await rig.run(side.handle.stop());
  });

  it('a central that subscribes at MTU 517 without reading info gets values of at most 512 bytes', async () => {
    const rig = makeRig();
    const side = await startPeripheral(rig, 'c0:00:00:00:00:01', 0x42);
    const toPhone = characteristics(side.bleno).get(DK_TO_PHONE_UUID.replace(/-/g, ''))!;
    const notified: number[] = [];
    // bleno's maxValueSize at MTU 517 is 514: more than a GATT value may carry.
    toPhone.emit('subscribe', 514, (data: Buffer) => notified.push(data.length));
    const link = side.links[0]!;
    expect(link.mtu).toBe(515);
    await rig.run(link.send(new Uint8Array(1022).fill(7)));
    expect(notified).toEqual([512, 512]);
    await rig.run(link.close());
    await rig.run(side.handle.stop());
  });

  it('an onLink that throws fails that link and reports it; the peripheral keeps running', async () => {
    const rig = makeRig();
    const bleno = rig.radio.addVehicle('c0:00:00:00:00:01');
    const errors: Error[] = [];
    const { startBlenoPeripheral } = await import('../../src/ble/bleno.js');
    const handle = await rig.run(
      startBlenoPeripheral({
        bleno,
        crypto: rig.crypto,
        clock: rig.clock,
        advertisingKey: KEY,
        onLink: () => {
          throw new Error('application bug');
        },
        onError: (e) => errors.push(e),
      }),
    );
    // The vehicle drops the connection while the phone subscribes: the phone's set-up fails.
    expect(await failure(connectTo(rig, scanTarget(KEY)))).toBeInstanceOf(TransportError);
    expect(errors.map((e) => (e as TransportError).code)).toEqual([BleErrorCode.gattFailed]);
    await rig.clock.advance(200);
    expect(bleno.advertising).toBe(true);
    await rig.run(handle.stop());
  });

  it('refuses a bad advertising key, rotation or message size before touching the radio', async () => {
    const rig = makeRig();
    const bleno = rig.radio.addVehicle('c0:00:00:00:00:01');
    const { startBlenoPeripheral } = await import('../../src/ble/bleno.js');
    const base = { bleno, crypto: rig.crypto, clock: rig.clock, advertisingKey: KEY, onLink: () => {} };
    for (const bad of [{ advertisingKey: new Uint8Array(8) }, { rotationMs: 5 }, { maxMessageBytes: 5000 }, { companyId: 0x10000 }]) {
      await expect(startBlenoPeripheral({ ...base, ...bad })).rejects.toBeInstanceOf(UsageError);
    }
    expect(bleno.listenerCount('stateChange')).toBe(0);
  });
});
