/**
 * Real vehicles and phones (src/vehicle, src/phone) on the fake radio: each car is a Vehicle
 * served by startBlenoVehicle on its own bleno-like radio, the phone talks through real noble.
 */

import type { BlenoVehicleHandle } from '../../src/ble/bleno.js';
import { startBlenoVehicle } from '../../src/ble/bleno.js';
import { connectNobleLink, scanForVehicle, type NobleLink, type NobleLinkOptions } from '../../src/ble/noble.js';
import type { Phone } from '../../src/phone/phone.js';
import type { Vehicle, VehicleOptions } from '../../src/vehicle/vehicle.js';
import type { FakeBleno } from './fake-radio.js';
import { enrollOwner, recordingVehicle, softwarePhone, type Executed } from './parties.js';
import type { RadioRig, Rig } from './rig.js';

export type { Executed } from './parties.js';

/** A vehicle on the fake radio. */
export interface Car {
  name: string;
  vehicle: Vehicle;
  bleno: FakeBleno;
  handle: BlenoVehicleHandle;
}

/** Creates a Vehicle with recording handlers and serves it on a new radio vehicle at `address`. */
export async function addCar(
  rig: RadioRig,
  name: string,
  address: string,
  executed: Executed[],
  options: { maxMtu?: number; rssi?: number; policies?: VehicleOptions['policies'] } = {},
): Promise<Car> {
  const vehicle = await recordingVehicle(name, executed, {
    crypto: rig.crypto,
    clock: rig.clock,
    ...(options.policies === undefined ? {} : { policies: options.policies }),
    // These rigs assert that the radio side leaves no timer behind; the car's idle time-floor
    // timer is the vehicle's own (tested in test/hardening), so it is off here.
    timeFloorIntervalMs: 0,
  });
  const bleno = rig.radio.addVehicle(address, options);
  const handle = await rig.run(startBlenoVehicle({ bleno, vehicle, crypto: rig.crypto, clock: rig.clock }));
  return { name, vehicle, bleno, handle };
}

/** A phone with a software key, enrolled as owner of `cars` (and knowing them, advertising keys included). */
export async function ownerPhone(rig: RadioRig, cars: Car[]): Promise<Phone> {
  const phone = softwarePhone(rig.crypto, rig.clock);
  await enrollOwner(phone, cars);
  return phone;
}

/** Scans for any of the phone's vehicles and connects: the link and which vehicle it is. */
export async function phoneConnects(rig: Rig, phone: Phone, options: NobleLinkOptions = {}): Promise<{ link: NobleLink; vehicleId: Uint8Array }> {
  const vehicles = await phone.store.listVehicles();
  const found = await rig.run(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles, timeoutMs: 5_000, clock: rig.clock }));
  const link = await rig.run(connectNobleLink(found.peripheral, { clock: rig.clock, ...options }));
  return { link, vehicleId: found.vehicle.vehicleId };
}
