/**
 * Real vehicles and phones on the real stacks: each car is a Vehicle served by
 * startBlenoVehicle on its own bleno and emulated controller, each phone a Phone on its own
 * noble. Real time (the radio is a real process); every deadline is short and explicit.
 */
import { startBlenoVehicle, type BlenoLike, type BlenoVehicleHandle } from '../../../src/ble/bleno.js';
import { connectNobleLink, scanForVehicle, type NobleLike, type NobleLink, type NobleLinkOptions, type NoblePeripheralLike } from '../../../src/ble/noble.js';
import { DK_TO_VEHICLE_UUID, compactUuid } from '../../../src/ble/profile.js';
import { createNodeProvider } from '../../../src/crypto/node.js';
import type { Phone } from '../../../src/phone/phone.js';
import { systemClock, type Clock } from '../../../src/transport/clock.js';
import type { Vehicle, VehicleOptions } from '../../../src/vehicle/vehicle.js';
import { enrollOwner, recordingVehicle, softwarePhone, type Executed } from '../parties.js';
import { newBleno, newNoble, type H4Socket } from './stack.js';

export type { Executed } from '../parties.js';

/** One crypto provider for every party (the Node one: fast, and real). */
export const crypto = createNodeProvider();

/** A vehicle on its own emulated controller. */
export interface Car {
  name: string;
  vehicle: Vehicle;
  bleno: BlenoLike;
  socket: H4Socket;
  handle: BlenoVehicleHandle;
  /** Everything the adapter reported to onError. */
  errors: Error[];
}

/** Options of {@link addCar}. */
export interface CarOptions {
  /** Largest ATT MTU the car's bleno accepts (bleno's default 256). */
  maxMtu?: number;
  policies?: VehicleOptions['policies'];
  /** Runs inside every command handler, after the command is recorded. */
  onCommand?: (car: Car) => void;
  clock?: Clock;
  rotationMs?: number;
  rssiTimeoutMs?: number;
  /** btvirt socket of the car's controller (default the BR/EDR+LE one). */
  server?: string;
}

/** Creates a Vehicle with recording handlers and serves it on a fresh bleno. */
export async function addCar(name: string, executed: Executed[], options: CarOptions = {}): Promise<Car> {
  const clock = options.clock ?? systemClock;
  let car: Car | undefined;
  const vehicle = await recordingVehicle(name, executed, {
    crypto,
    clock,
    ...(options.policies === undefined ? {} : { policies: options.policies }),
    onCommand: () => {
      if (car !== undefined) options.onCommand?.(car);
    },
  });
  const { bleno, socket } = newBleno(options.maxMtu, options.server);
  const errors: Error[] = [];
  const handle = await startBlenoVehicle({
    bleno,
    vehicle,
    crypto,
    clock,
    closeLingerMs: 300,
    readyTimeoutMs: 5_000,
    onError: (e) => errors.push(e),
    ...(options.rotationMs === undefined ? {} : { rotationMs: options.rotationMs }),
    ...(options.rssiTimeoutMs === undefined ? {} : { rssiTimeoutMs: options.rssiTimeoutMs }),
  });
  // bleno's start-up disables advertising before anything enabled it, which btvirt refuses with
  // 0x0C like Bluetooth 4.x controllers: bleno's doing, not the adapter's; count from here on.
  socket.commandErrors.length = 0;
  car = { name, vehicle, bleno, socket, handle, errors };
  return car;
}

/** A phone with a software key on its own noble. */
export function newPhone(clock: Clock = systemClock, responseTimeoutMs?: number): { phone: Phone; noble: NobleLike; socket: H4Socket } {
  const { noble, socket } = newNoble();
  return { phone: softwarePhone(crypto, clock, responseTimeoutMs), noble, socket };
}

/** A phone enrolled as owner of `cars`, knowing them (advertising keys included). */
export async function ownerPhone(cars: Car[], clock: Clock = systemClock, responseTimeoutMs?: number): Promise<{ phone: Phone; noble: NobleLike; socket: H4Socket }> {
  const p = newPhone(clock, responseTimeoutMs);
  await enrollOwner(p.phone, cars);
  return p;
}

/** Scans for any of the phone's vehicles and connects. */
export async function phoneConnects(
  noble: NobleLike,
  phone: Phone,
  options: NobleLinkOptions & { clock?: Clock; rotationMs?: number } = {},
): Promise<{ link: NobleLink; vehicleId: Uint8Array; rssi: number | null }> {
  const clock = options.clock ?? systemClock;
  const vehicles = await phone.store.listVehicles();
  const found = await scanForVehicle({ noble, crypto, vehicles, timeoutMs: 5_000, clock, ...(options.rotationMs === undefined ? {} : { rotationMs: options.rotationMs }) });
  const link = await connectNobleLink(found.peripheral, { timeouts: { connectMs: 5_000, gattMs: 3_000 }, ...options, clock });
  return { link, vehicleId: found.vehicle.vehicleId, rssi: found.rssi };
}

/** noble's toVehicle characteristic of a connected peripheral (to count or cut chunks). */
export function toVehicleCharacteristic(peripheral: NoblePeripheralLike): { write: (data: Buffer, withoutResponse: boolean) => void } {
  const p = peripheral as unknown as { services: Array<{ characteristics: Array<{ uuid: string; write: (d: Buffer, w: boolean) => void }> }> };
  const uuid = compactUuid(DK_TO_VEHICLE_UUID);
  for (const s of p.services) for (const c of s.characteristics ?? []) if (c.uuid === uuid) return c;
  throw new Error('no toVehicle characteristic');
}

/** Resolves after `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `check()` is true (polling real time), rejects after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
