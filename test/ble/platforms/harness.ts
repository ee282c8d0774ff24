/**
 * Rigs for the platform adapters: the fake radio with real bleno-side vehicles
 * (startBlenoPeripheral / startBlenoVehicle on bleno's GATT classes), and a phone that reaches
 * them through a model of its platform API (ble-plx's BleManager, or navigator.bluetooth).
 */

import { expect } from 'vitest';
import type { BleLink } from '../../../src/ble/chunk-link.js';
import { connectReactNativeLink, scanForVehicleRN, type RnLink, type RnLinkOptions } from '../../../src/ble/react-native.js';
import { connectWebBluetoothLink, requestVehicleDevice, type WebBluetooth, type WebLink, type WebLinkOptions } from '../../../src/ble/web.js';
import { createNobleProvider } from '../../../src/crypto/noble.js';
import type { CryptoProvider } from '../../../src/crypto/provider.js';
import type { PairedVehicle } from '../../../src/phone/store.js';
import { VirtualClock } from '../../../src/transport/mock/virtual-clock.js';
import { seededRandom, T0 } from '../../helpers/world.js';
import type { LinkPairHarness } from '../../transport/link-conformance.js';
import { FakeRadio, type FakeNobleBindings } from '../fake-radio.js';
import { listenerCounts, scanTarget, startPeripheral, type Rig } from '../rig.js';
import { AirCentral } from './central.js';
import { FakeBleManager } from './fake-plx.js';
import { FakeBluetooth } from './fake-web-bluetooth.js';
import type { BleManager } from 'react-native-ble-plx';

/** The platform a phone model stands for. */
export type PlatformName = 'android' | 'ios' | 'web';

/** A radio, its phone-side air, a platform model on it, on a fresh virtual clock. */
export interface PlatformRig {
  clock: VirtualClock;
  radio: FakeRadio;
  bindings: FakeNobleBindings;
  air: AirCentral;
  crypto: CryptoProvider;
  platform: PlatformName;
  /** ble-plx model (android / ios). */
  manager: FakeBleManager;
  /** navigator.bluetooth model (web). */
  bluetooth: FakeBluetooth;
  run<T>(p: Promise<T>): Promise<T>;
  /** The same rig as test/ble/rig.ts's helpers (startPeripheral, addCar) take. */
  asRig: Rig;
}

/** What the OS asks in its MTU exchange: Android apps request 517, iOS asks 185 itself, Chrome 517. */
export const PHONE_MTU: Record<PlatformName, number> = { android: 517, ios: 185, web: 517 };

/** Builds a rig for `platform`. */
export function makePlatformRig(platform: PlatformName, options: { phoneMtu?: number } = {}): PlatformRig {
  const clock = new VirtualClock(T0);
  const radio = new FakeRadio(clock);
  const bindings = radio.phoneBindings({ mtu: options.phoneMtu ?? PHONE_MTU[platform] });
  const air = new AirCentral(radio, bindings);
  const crypto = createNobleProvider({ randomBytes: seededRandom(7) });
  const run = <T>(p: Promise<T>): Promise<T> => clock.runUntilSettled(p);
  const manager = new FakeBleManager(air, { os: platform === 'ios' ? 'ios' : 'android' });
  const bluetooth = new FakeBluetooth(air);
  const asRig = { clock, radio, bindings, noble: null, crypto, run } as unknown as Rig;
  return { clock, radio, bindings, air, crypto, platform, manager, bluetooth, run, asRig };
}

/** The app's ble-plx manager, typed as the adapter takes it. */
export function plxManager(rig: PlatformRig): BleManager {
  return rig.manager as unknown as BleManager;
}

/** The page's navigator.bluetooth, typed as the adapter takes it. */
export function webBluetooth(rig: PlatformRig): WebBluetooth {
  return rig.bluetooth as unknown as WebBluetooth;
}

/** The phone's link to one of `vehicles` (web: the chooser's pick, from a click), through the platform model. */
export async function platformConnect(
  rig: PlatformRig,
  vehicles: readonly PairedVehicle[],
  options: Partial<RnLinkOptions> & WebLinkOptions = {},
): Promise<{ link: RnLink | WebLink; vehicle: PairedVehicle | null }> {
  if (rig.platform === 'web') {
    const bt = webBluetooth(rig);
    const device = await rig.run(rig.bluetooth.withUserGesture(() => requestVehicleDevice(bt)));
    const link = await rig.run(connectWebBluetoothLink(device, { clock: rig.clock, ...options }));
    return { link, vehicle: null };
  }
  const manager = plxManager(rig);
  const found = await rig.run(scanForVehicleRN({ manager, crypto: rig.crypto, vehicles, timeoutMs: 5_000, clock: rig.clock }));
  const link = await rig.run(connectReactNativeLink(found.device, { manager, os: rig.platform, clock: rig.clock, ...options }));
  return { link, vehicle: found.vehicle };
}

/** Checks that the phone side left nothing behind: timers, platform subscriptions, air listeners. */
export async function expectPhoneClean(rig: PlatformRig): Promise<void> {
  await rig.clock.advance(1_000);
  expect(rig.clock.pendingTimers, 'timers left behind').toBe(0);
  expect(rig.manager.liveSubscriptions, 'ble-plx subscriptions left behind').toBe(0);
  expect(rig.air.listenerCount, 'radio listeners left behind').toBe(0);
}

/** A Link conformance harness: the platform adapter's link ↔ the bleno peripheral's link. */
export function platformHarness(platform: PlatformName, options: { phoneMtu?: number } = {}): () => Promise<LinkPairHarness> {
  return async () => {
    const rig = makePlatformRig(platform, options);
    const side = await startPeripheral(rig.asRig, 'c0:00:00:00:00:01', 0x21);
    const { link: a } = await platformConnect(rig, [scanTarget(side.advertisingKey)]);
    // ble-plx confirms no subscription: the vehicle's link appears when the CCCD write lands.
    await rig.clock.advance(100);
    const b: BleLink | undefined = side.links[0];
    if (b === undefined) throw new Error('the peripheral made no link');
    return {
      a,
      b,
      run: rig.run,
      disconnect: async () => rig.radio.loseConnection(),
      teardown: async () => {
        await a.close('teardown');
        await b.close('teardown');
        await rig.run(side.handle.stop());
        await expectPhoneClean(rig);
        expect(listenerCounts(side.bleno)).toEqual({ newListener: 1 });
      },
    };
  };
}
