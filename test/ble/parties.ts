/**
 * The real parties every BLE test rig runs (fake radio, platform models, real stacks): a
 * Vehicle whose handlers record what they executed, and a software-key Phone enrolled as its
 * owner. The rigs differ only in the radio underneath and the clock.
 */

import type { CryptoProvider } from '../../src/crypto/provider.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import type { Clock } from '../../src/transport/clock.js';
import type { CommandHandler } from '../../src/vehicle/run-handler.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle, type VehicleOptions } from '../../src/vehicle/vehicle.js';

/** What a car's handlers executed: which car, which command, which path. */
export interface Executed {
  car: string;
  command: number;
  path: string;
}

/** Options of {@link recordingVehicle}. */
export interface RecordingVehicleOptions {
  crypto: CryptoProvider;
  clock: Clock;
  policies?: VehicleOptions['policies'];
  /** Runs inside every command handler, after the command is recorded. */
  onCommand?: () => void;
  /** The vehicle's time-floor bookkeeping interval (VehicleOptions; default the vehicle's). */
  timeFloorIntervalMs?: number;
}

/** A Vehicle on a memory store whose unlock, lock, trunk and start handlers record into `executed` as `name`. */
export async function recordingVehicle(name: string, executed: Executed[], options: RecordingVehicleOptions): Promise<Vehicle> {
  const record: CommandHandler = (ctx) => {
    executed.push({ car: name, command: ctx.command, path: ctx.path });
    options.onCommand?.();
  };
  return Vehicle.create({
    crypto: options.crypto,
    store: await openVehicleStore(createMemoryVault()),
    clock: options.clock,
    handlers: { [COMMAND.unlock]: record, [COMMAND.lock]: record, [COMMAND.trunk]: record, [COMMAND.start]: record },
    ...(options.policies === undefined ? {} : { policies: options.policies }),
    ...(options.timeFloorIntervalMs === undefined ? {} : { timeFloorIntervalMs: options.timeFloorIntervalMs }),
  });
}

/** A phone with a software key and a memory store. */
export function softwarePhone(crypto: CryptoProvider, clock: Clock, responseTimeoutMs?: number): Phone {
  return new Phone({
    crypto,
    signer: createSoftwareSigner(crypto),
    store: new PhoneStore(createMemoryVault()),
    clock,
    ...(responseTimeoutMs === undefined ? {} : { responseTimeoutMs }),
  });
}

/** Enrols `phone` as owner of each car and makes the phone know them (advertising keys included). */
export async function enrollOwner(phone: Phone, cars: ReadonlyArray<{ name: string; vehicle: Vehicle }>): Promise<void> {
  for (const car of cars) {
    await phone.addVehicle({ ...car.vehicle.peer, name: car.name });
    await car.vehicle.enrollOwner(phone.publicKey, 'owner');
  }
}
