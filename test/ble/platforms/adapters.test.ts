/**
 * What the platform adapters do when the platform says no: permissions, adapter state, the user
 * gesture rule, a missing Web Bluetooth, the 512-byte value limit, a car that is not there, a
 * cancelled set-up, hostile notifications. Each through its platform model; nothing may leak.
 */
import { describe, expect, it } from 'vitest';
import { checkBleReady, connectReactNativeLink, explainBleState, openVehicleLinkRN, scanForVehicleRN } from '../../../src/ble/react-native.js';
import { checkWebBluetooth, connectWebBluetoothLink, getWebBluetooth, requestVehicleDevice } from '../../../src/ble/web.js';
import { DK_INFO_UUID, DK_SERVICE_UUID, DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID, compactUuid, encodeAdvertisingData, encodeBleInfo } from '../../../src/ble/profile.js';
import { BlenoCharacteristic, BlenoPrimaryService } from '../fake-radio.js';
import { AbortError, TimeoutError, TransportError, UsageError } from '../../../src/errors.js';
import { capture, expectRejected, patternMessage } from '../../transport/link-conformance.js';
import { scanTarget, startPeripheral } from '../rig.js';
import { expectPhoneClean, makePlatformRig, platformConnect, plxManager, webBluetooth } from './harness.js';

describe('react-native-ble-plx adapter', () => {
  const granted = { check: async () => true };

  it.each([
    [31, 'android.permission.BLUETOOTH_SCAN'],
    [34, 'android.permission.BLUETOOTH_SCAN'],
    [30, 'android.permission.ACCESS_FINE_LOCATION'],
  ])('Android API %i without %s: BLE_ADAPTER_STATE naming the permission', async (api, permission) => {
    const rig = makePlatformRig('android');
    const asked: string[] = [];
    const permissions = { check: async (p: string) => (asked.push(p), p !== permission) };
    const error = expectRejected(await capture(checkBleReady({ manager: plxManager(rig), platform: { os: 'android', version: api }, permissions })), TransportError, 'BLE_ADAPTER_STATE');
    expect(error.message).toContain(permission);
    expect(asked).toContain(permission);
  });

  it.each([
    ['PoweredOff', 'ios', 'turn it on', 'BLE_ADAPTER_STATE'],
    ['Unauthorized', 'ios', 'NSBluetoothAlwaysUsageDescription', 'BLE_ADAPTER_STATE'],
    ['Unauthorized', 'android', 'BLUETOOTH_CONNECT', 'BLE_ADAPTER_STATE'],
    ['Unsupported', 'android', 'no Bluetooth LE', 'BLE_UNAVAILABLE'],
  ])('adapter %s on %s: one-sentence fix (%s)', async (state, os, fix, code) => {
    const rig = makePlatformRig(os === 'ios' ? 'ios' : 'android');
    rig.manager.setState(state);
    const error = expectRejected(await capture(checkBleReady({ manager: plxManager(rig), platform: { os, version: os === 'ios' ? '17.4' : 33 }, permissions: granted })), TransportError, code);
    expect(error.message).toContain(fix);
    expect(explainBleState(state, { os, version: 33 })).toContain(fix);
    expect(rig.manager.liveSubscriptions).toBe(0);
  });

  it('waits for an Unknown adapter to power on', async () => {
    const rig = makePlatformRig('android');
    rig.manager.setState('Unknown');
    rig.clock.setTimeout(() => rig.manager.setState('PoweredOn'), 300);
    await rig.run(checkBleReady({ manager: plxManager(rig), platform: { os: 'android', version: 33 }, permissions: granted, clock: rig.clock }));
    expect(rig.manager.liveSubscriptions).toBe(0);
  });

  it('scan: no paired car in range → BLE_SCAN_TIMEOUT, scan stopped; abort → AbortError', async () => {
    const rig = makePlatformRig('android');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    const manager = plxManager(rig);
    const stranger = scanTarget(new Uint8Array(32).fill(0x77));
    expectRejected(await rig.run(capture(scanForVehicleRN({ manager, crypto: rig.crypto, vehicles: [stranger], timeoutMs: 2_000, clock: rig.clock }))), TimeoutError, 'BLE_SCAN_TIMEOUT');
    const controller = new AbortController();
    rig.clock.setTimeout(() => controller.abort(), 100);
    expectRejected(await rig.run(capture(scanForVehicleRN({ manager, crypto: rig.crypto, vehicles: [stranger], timeoutMs: 2_000, clock: rig.clock, signal: controller.signal }))), AbortError);
    expect(rig.manager.calls.filter((c) => c === 'stopDeviceScan')).toHaveLength(2);
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('scan with Bluetooth off → BLE_ADAPTER_STATE', async () => {
    const rig = makePlatformRig('ios');
    rig.manager.setState('PoweredOff');
    const target = scanTarget(new Uint8Array(32).fill(1));
    expectRejected(await rig.run(capture(scanForVehicleRN({ manager: plxManager(rig), crypto: rig.crypto, vehicles: [target], timeoutMs: 1_000, clock: rig.clock }))), TransportError, 'BLE_ADAPTER_STATE');
    await expectPhoneClean(rig);
  });

  it('asks for MTU 517 on Android and nothing on iOS', async () => {
    for (const os of ['android', 'ios'] as const) {
      const rig = makePlatformRig(os);
      const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
      const { link } = await platformConnect(rig, [scanTarget(side.advertisingKey)]);
      expect(rig.manager.calls.includes('requestMTU 517')).toBe(os === 'android');
      await link.close();
      await rig.run(side.handle.stop());
      await expectPhoneClean(rig);
    }
  });

  it('a set-up aborted while connecting rejects with AbortError and cancels the connection', async () => {
    const rig = makePlatformRig('android');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    rig.radio.ignoreConnectRequests = true;
    const controller = new AbortController();
    rig.clock.setTimeout(() => controller.abort(), 500);
    const manager = plxManager(rig);
    const outcome = await rig.run(capture(connectReactNativeLink('c00000000001', { manager, os: 'android', clock: rig.clock, signal: controller.signal })));
    expectRejected(outcome, AbortError);
    expect(rig.manager.calls).toContain('cancelDeviceConnection');
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('a car that never answers the connection → BLE_GATT_TIMEOUT within connectMs', async () => {
    const rig = makePlatformRig('ios');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    rig.radio.ignoreConnectRequests = true;
    const t0 = rig.clock.now();
    const outcome = await rig.run(capture(connectReactNativeLink('c00000000001', { manager: plxManager(rig), os: 'ios', clock: rig.clock, timeouts: { connectMs: 3_000 } })));
    expectRejected(outcome, TimeoutError, 'BLE_GATT_TIMEOUT');
    expect(rig.clock.now() - t0).toBeLessThanOrEqual(3_100);
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('openVehicleLinkRN retries a connection that timed out, then connects', async () => {
    const rig = makePlatformRig('android');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    rig.radio.ignoreConnectRequests = true;
    const retried: number[] = [];
    const opening = rig.run(
      openVehicleLinkRN({
        manager: plxManager(rig),
        os: 'android',
        crypto: rig.crypto,
        vehicles: [scanTarget(side.advertisingKey)],
        timeoutMs: 5_000,
        clock: rig.clock,
        timeouts: { connectMs: 2_000 },
        retry: { random: () => 0, onRetry: (_e, n) => (retried.push(n), void (rig.radio.ignoreConnectRequests = false)) },
      }),
    );
    const { link } = await opening;
    expect(retried).toEqual([1]);
    expect(link.isClosed).toBe(false);
    await link.close();
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('garbage notifications are dropped as framing errors; the link stays up', async () => {
    const rig = makePlatformRig('android');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    const { link } = await platformConnect(rig, [scanTarget(side.advertisingKey)]);
    await rig.clock.advance(100);
    rig.radio.injectNotification(compactUuid(DK_TO_PHONE_UUID), Uint8Array.of(0xff, 0xff, 1, 2, 3));
    await rig.clock.advance(100);
    expect(link.stats.framingErrors).toBe(1);
    expect(link.isClosed).toBe(false);
    const got = capture(link.receive());
    await rig.run(side.links[0]!.send(patternMessage(700, 3)));
    expect(await rig.run(got)).toEqual({ ok: true, value: patternMessage(700, 3) });
    await link.close();
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });
});

describe('Web Bluetooth adapter', () => {
  it.each([
    ['Firefox / Safari (no navigator.bluetooth)', {}],
    ['no navigator at all', undefined],
    ['a broken polyfill', { bluetooth: {} }],
  ])('%s: TransportError BLE_UNAVAILABLE in one sentence', (_name, nav) => {
    let error: unknown;
    try {
      getWebBluetooth(nav === undefined ? null : nav);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TransportError);
    expect((error as TransportError).code).toBe('BLE_UNAVAILABLE');
    expect((error as Error).message).toMatch(/Chrome.*Firefox, Safari and every iOS browser/);
  });

  it('no adapter (getAvailability false) → BLE_UNAVAILABLE', async () => {
    expectRejected(await capture(checkWebBluetooth({ requestDevice: async () => ({}) as never, getAvailability: async () => false })), TransportError, 'BLE_UNAVAILABLE');
  });

  it('requestDevice outside a user gesture → UsageError BLE_USER_GESTURE that says so', async () => {
    const rig = makePlatformRig('web');
    const error = expectRejected(await rig.run(capture(requestVehicleDevice(webBluetooth(rig)))), UsageError, 'BLE_USER_GESTURE');
    expect(error.message).toContain('user gesture');
  });

  it('the user closes the chooser → AbortError', async () => {
    const rig = makePlatformRig('web');
    await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    rig.bluetooth.chooser = 'cancel';
    expectRejected(await rig.run(capture(rig.bluetooth.withUserGesture(() => requestVehicleDevice(webBluetooth(rig))))), AbortError);
  });

  it('a vehicle that announces ATT MTU 517 (514-byte chunks) is refused with BLE_MTU_MISMATCH: Web Bluetooth values stop at 512', async () => {
    const rig = makePlatformRig('web');
    // Not our bleno adapter, which announces at most 515: an older or foreign vehicle.
    const bleno = rig.radio.addVehicle('c0:00:00:00:0b:ad', { maxMtu: 517 });
    bleno.powerState('poweredOn');
    const info = encodeBleInfo({ versions: [2], maxMessageBytes: 4096, attMtu: 517 });
    const characteristics = [
      new BlenoCharacteristic({ uuid: DK_INFO_UUID, properties: ['read'], onReadRequest: (_o: number, cb: (r: number, d?: Buffer) => void) => cb(BlenoCharacteristic.RESULT_SUCCESS, Buffer.from(info)) }),
      new BlenoCharacteristic({ uuid: DK_TO_VEHICLE_UUID, properties: ['write', 'writeWithoutResponse'] }),
      new BlenoCharacteristic({ uuid: DK_TO_PHONE_UUID, properties: ['notify'] }),
    ];
    bleno.setServices([new BlenoPrimaryService({ uuid: DK_SERVICE_UUID, characteristics })] as never);
    bleno.startAdvertisingWithEIRData(Buffer.from(encodeAdvertisingData(new Uint8Array(6))), Buffer.alloc(0));
    const device = await rig.run(rig.bluetooth.withUserGesture(() => requestVehicleDevice(webBluetooth(rig))));
    const error = expectRejected(await rig.run(capture(connectWebBluetoothLink(device, { clock: rig.clock }))), TransportError, 'BLE_MTU_MISMATCH');
    expect(error.message).toContain('512');
    expect(device.gatt?.connected).toBe(false);
    await expectPhoneClean(rig);
  });

  it('a vehicle whose controller grants ATT MTU 517 announces 515: full 512-byte values, never more', async () => {
    const rig = makePlatformRig('web');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21, { maxMtu: 517 });
    const { link } = await platformConnect(rig, []);
    expect(link.info.attMtu).toBe(515);
    expect(link.mtu).toBe(515);
    const got = capture(link.receive());
    await rig.run(side.links[0]!.send(patternMessage(4096, 2)));
    expect(await rig.run(got)).toEqual({ ok: true, value: patternMessage(4096, 2) });
    await link.close();
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('a vehicle at ATT MTU 515 uses full 512-byte values, never more', async () => {
    const rig = makePlatformRig('web');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21, { maxMtu: 515 });
    const { link } = await platformConnect(rig, []);
    expect(link.mtu).toBe(515);
    const got = capture(side.links[0]!.receive());
    await rig.run(link.send(patternMessage(4096, 1)));
    expect(await rig.run(got)).toEqual({ ok: true, value: patternMessage(4096, 1) });
    const sizes = (link as unknown as { device: { gatt: { writtenSizes: number[] } } }).device.gatt.writtenSizes;
    expect(Math.max(...sizes)).toBe(512);
    await link.close();
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });

  it('the connection drops during set-up → BLE_CONNECT_FAILED, listeners removed', async () => {
    const rig = makePlatformRig('web');
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    const device = await rig.run(rig.bluetooth.withUserGesture(() => requestVehicleDevice(webBluetooth(rig))));
    // Lose the radio right after the connection is made, during discovery.
    const stop = rig.air.onDisconnected(device.id, () => undefined);
    rig.clock.setTimeout(() => rig.radio.loseConnection(), 40);
    const outcome = await rig.run(capture(connectWebBluetoothLink(device, { clock: rig.clock })));
    stop();
    expectRejected(outcome, TransportError);
    await rig.run(side.handle.stop());
    await expectPhoneClean(rig);
  });
});
