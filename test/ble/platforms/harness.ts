/**
 * Rigs for the platform adapters: the fake radio with real bleno-side vehicles
 * (startBlenoPeripheral / startBlenoVehicle on bleno's GATT classes), and a phone that reaches
 * them through a model of its platform API (ble-plx's BleManager, or navigator.bluetooth).
 */

import { expect } from 'vitest';
import { connectReactNativeLink, scanForVehicleRN, type RnLink, type RnLinkOptions } from '../../../src/ble/react-native.js';
import { connectWebBluetoothLink, requestVehicleDevice, type WebBluetooth, type WebLink, type WebLinkOptions } from '../../../src/ble/web.js';
import type { PairedVehicle } from '../../../src/phone/store.js';
import type { LinkPairHarness } from '../../transport/link-conformance.js';
import { makeRadioRig, peripheralHarness, scanTarget, type RadioRig } from '../rig.js';
import { AirCentral } from './central.js';
import { FakeBleManager } from './fake-plx.js';
import { FakeBluetooth } from './fake-web-bluetooth.js';
import type { BleManager } from 'react-native-ble-plx';

/** The platform a phone model stands for. */
export type PlatformName = 'android' | 'ios' | 'web';

/** A radio, its phone-side air, a platform model on it, on a fresh virtual clock. */
export interface PlatformRig extends RadioRig {
  air: AirCentral;
  platform: PlatformName;
  /** ble-plx model (android / ios). */
  manager: FakeBleManager;
  /** navigator.bluetooth model (web). */
  bluetooth: FakeBluetooth;
  /** The radio part alone, as test/ble/rig.ts's helpers (startPeripheral, addCar) take it. */
  asRig: RadioRig;
}

/** What the OS asks in its MTU exchange: Android apps request 517, iOS asks 185 itself, Chrome 517. */
export const PHONE_MTU: Record<PlatformName, number> = { android: 517, ios: 185, web: 517 };

/** Builds a rig for `platform`. */
export function makePlatformRig(platform: PlatformName, options: { phoneMtu?: number } = {}): PlatformRig {
  const asRig = makeRadioRig({ phoneMtu: options.phoneMtu ?? PHONE_MTU[platform] });
  const air = new AirCentral(asRig.radio, asRig.bindings);
  const manager = new FakeBleManager(air, { os: platform === 'ios' ? 'ios' : 'android' });
  const bluetooth = new FakeBluetooth(air);
  return { ...asRig, air, platform, manager, bluetooth, asRig };
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
    return peripheralHarness(rig, {
      connect: async (side) => (await platformConnect(rig, [scanTarget(side.advertisingKey)])).link,
      // ble-plx confirms no subscription: the vehicle's link appears when the CCCD write lands.
      settleMs: 100,
      expectPhoneClean: () => expectPhoneClean(rig),
    });
  };
}
