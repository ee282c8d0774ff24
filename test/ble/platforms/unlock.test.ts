/**
 * End to end through the platform adapters: a real Phone pairs with a real Vehicle (served by
 * startBlenoVehicle on bleno's GATT classes over the fake radio), unlocks on the full path, then
 * again on the fast path after reconnecting — once through the ble-plx model (Android, iOS) and
 * once through the navigator.bluetooth model.
 */
import { describe, expect, it } from 'vitest';
import { connectReactNativeLink, scanForPairingRN } from '../../../src/ble/react-native.js';
import { connectWebBluetoothLink, requestVehicleDevice } from '../../../src/ble/web.js';
import { Phone } from '../../../src/phone/phone.js';
import { COMMAND } from '../../../src/protocol/constants.js';
import { softwarePhone } from '../parties.js';
import { addCar, type Executed } from '../cars.js';
import { expectPhoneClean, makePlatformRig, platformConnect, plxManager, webBluetooth, type PlatformName, type PlatformRig } from './harness.js';

/** The link a phone with no advertising key yet opens to the car in front of it. */
async function pairingLink(rig: PlatformRig) {
  if (rig.platform === 'web') {
    const device = await rig.run(rig.bluetooth.withUserGesture(() => requestVehicleDevice(webBluetooth(rig))));
    return rig.run(connectWebBluetoothLink(device, { clock: rig.clock }));
  }
  const manager = plxManager(rig);
  const [nearest] = await rig.run(scanForPairingRN({ manager, listenMs: 1_000, clock: rig.clock }));
  return rig.run(connectReactNativeLink(nearest!.device, { manager, os: rig.platform, clock: rig.clock }));
}

describe.each<PlatformName>(['android', 'ios', 'web'])('pairing and unlock through the %s adapter', (platform) => {
  it('pairs with the code, unlocks on the full path, reconnects and unlocks on the fast path', async () => {
    const rig = makePlatformRig(platform);
    const executed: Executed[] = [];
    const car = await addCar(rig.asRig, 'car', 'c0:00:00:00:00:01', executed);
    const { code } = car.vehicle.openPairingWindow({ ttlMs: 120_000, kdf: { logN: 10, r: 8, p: 1 } });
    const phone = softwarePhone(rig.crypto, rig.clock);

    const first = await pairingLink(rig);
    const expectedMtu = platform === 'ios' ? 185 : 256;
    expect(first.mtu).toBe(expectedMtu);
    expect(first.info).toEqual({ versions: [2], maxMessageBytes: 4096, attMtu: expectedMtu });
    const paired = await rig.run(phone.pair(first, code!, { vehicleName: 'car' }));
    expect(paired.advertisingKey).toEqual(car.vehicle.advertisingKey);
    const full = await rig.run(phone.connect(first, paired.vehicleId, { id: COMMAND.unlock }));
    expect(full.path).toBe('full');
    expect(full.firstResult.ok).toBe(true);
    await rig.run(full.close());
    await rig.clock.advance(200);
    expect(first.isClosed).toBe(true);
    expect(first.closeInfo?.by).toBe('local');

    // Paired: ble-plx finds the car by its pseudonym; the page picks it in the chooser.
    const again = await platformConnect(rig, await phone.store.listVehicles());
    if (platform !== 'web') expect(again.vehicle?.vehicleId).toEqual(paired.vehicleId);
    const fast = await rig.run(phone.connect(again.link, paired.vehicleId, { id: COMMAND.lock }));
    expect(fast.path).toBe('resume'); // the ticket rides a ResumeAuth (docs/PROTOCOL.md §14)
    expect(fast.firstResult.ok).toBe(true);
    await rig.run(fast.close());
    expect(executed).toEqual([
      { car: 'car', command: COMMAND.unlock, path: 'full' },
      { car: 'car', command: COMMAND.lock, path: 'fast' },
    ]);
    await rig.run(car.handle.stop());
    await expectPhoneClean(rig);
    // Every value the phone wrote fit the vehicle's chunks (and Web Bluetooth's 512 bytes).
    if (platform === 'web') {
      const server = (again.link as unknown as { device: { gatt: { writtenSizes: number[] } } }).device.gatt;
      expect(Math.max(...server.writtenSizes)).toBeLessThanOrEqual(expectedMtu - 3);
    }
  });

  it('Phone.unlock on a link the vehicle drops mid-session reports a closed link, and nothing leaks', async () => {
    const rig = makePlatformRig(platform);
    const executed: Executed[] = [];
    const car = await addCar(rig.asRig, 'car', 'c0:00:00:00:00:01', executed);
    const phone = softwarePhone(rig.crypto, rig.clock);
    await phone.addVehicle({ ...car.vehicle.peer, name: 'car' });
    await car.vehicle.enrollOwner(phone.publicKey, 'owner');
    const { link } = await platformConnect(rig, await phone.store.listVehicles());
    const closed = new Promise((resolve) => link.onClose(resolve));
    rig.radio.loseConnection();
    expect(await rig.run(closed)).toMatchObject({ by: platform === 'web' ? 'remote' : 'error' });
    const error = await rig.run(phone.unlock(link, car.vehicle.identity.vehicleId).then(() => null, (e: unknown) => e));
    expect((error as { code?: string }).code).toBe('LINK_CLOSED');
    expect(executed).toEqual([]);
    await rig.run(car.handle.stop());
    await expectPhoneClean(rig);
  });
});
