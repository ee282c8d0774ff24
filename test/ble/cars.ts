/**
 * Real vehicles and phones (src/vehicle, src/phone) on the fake radio: each car is a Vehicle
 * served by startBlenoVehicle on its own bleno-like radio, the phone talks through real noble.
 */

import type { BlenoVehicleHandle } from '../../src/ble/bleno.js';
import { startBlenoVehicle } from '../../src/ble/bleno.js';
import { connectNobleLink, scanForVehicle, type NobleLink, type NobleLinkOptions } from '../../src/ble/noble.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle, type VehicleOptions } from '../../src/vehicle/vehicle.js';
import type { FakeBleno } from './fake-radio.js';
import type { Rig } from './rig.js';

/** What a car's handlers executed: which car, which command, which path. */
export interface Executed {
  car: string;
  command: number;
  path: string;
}

/** A vehicle on the fake radio. */
export interface Car {
  name: string;
  vehicle: Vehicle;
  bleno: FakeBleno;
  handle: BlenoVehicleHandle;
}

/** Creates a Vehicle with recording handlers and serves it on a new radio vehicle at `address`. */
export async function addCar(
  rig: Rig,
  name: string,
  address: string,
  executed: Executed[],
  options: { maxMtu?: number; rssi?: number; policies?: VehicleOptions['policies'] } = {},
): Promise<Car> {
  const record = (ctx: { command: number; path: string }): void => {
    executed.push({ car: name, command: ctx.command, path: ctx.path });
  };
  const vehicle = await Vehicle.create({
    crypto: rig.crypto,
    store: await openVehicleStore(createMemoryVault()),
    clock: rig.clock,
    handlers: { [COMMAND.unlock]: record, [COMMAND.lock]: record, [COMMAND.trunk]: record, [COMMAND.start]: record },
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
export async function ownerPhone(rig: Rig, cars: Car[]): Promise<Phone> {
  const phone = new Phone({ crypto: rig.crypto, signer: createSoftwareSigner(rig.crypto), store: new PhoneStore(createMemoryVault()), clock: rig.clock });
  for (const car of cars) {
    await phone.addVehicle({ ...car.vehicle.peer, name: car.name });
    await car.vehicle.enrollOwner(phone.publicKey, 'owner');
  }
  return phone;
}

/** Scans for any of the phone's vehicles and connects: the link and which vehicle it is. */
export async function phoneConnects(rig: Rig, phone: Phone, options: NobleLinkOptions = {}): Promise<{ link: NobleLink; vehicleId: Uint8Array }> {
  const vehicles = await phone.store.listVehicles();
  const found = await rig.run(scanForVehicle({ noble: rig.noble, crypto: rig.crypto, vehicles, timeoutMs: 5_000, clock: rig.clock }));
  const link = await rig.run(connectNobleLink(found.peripheral, { clock: rig.clock, ...options }));
  return { link, vehicleId: found.vehicle.vehicleId };
}
