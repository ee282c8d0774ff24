/**
 * An in-page model of `navigator.bluetooth` whose one device is a real Vehicle: the vehicle's end
 * is a ChunkLink fed by the page's GATT writes and notifying through `characteristicvaluechanged`
 * events, one value per connection interval. Runs in the browser (EventTarget, DataView and
 * DOMException are the browser's own), so the Web Bluetooth adapter is exercised in Chromium.
 * Enforces Web Bluetooth's 512-byte value limit and reports disconnects with
 * `gattserverdisconnected`.
 */
import { ChunkLink } from '../../src/ble/chunk-link.js';
import { DK_INFO_UUID, DK_SERVICE_UUID, DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID, encodeBleInfo } from '../../src/ble/profile.js';
import type { Clock } from '../../src/transport/clock.js';
import type { Vehicle } from '../../src/vehicle/vehicle.js';

/** Options of {@link createSimBluetooth}. */
export interface SimBluetoothOptions {
  clock: Clock;
  /** ATT MTU the simulated connection negotiates. */
  mtu: number;
  /** Connection interval, in ms: each GATT value takes one. */
  intervalMs: number;
}

const sleep = (clock: Clock, ms: number): Promise<void> => new Promise((resolve) => clock.setTimeout(resolve, ms));

/** A simulated car behind `navigator.bluetooth`. */
export function createSimBluetooth(vehicle: Vehicle, options: SimBluetoothOptions) {
  const { clock, mtu, intervalMs } = options;
  const written: number[] = [];
  const device = new EventTarget() as EventTarget & { id: string; name: string; gatt: unknown };
  let vehicleLink: ChunkLink | null = null;
  let connected = false;

  const end = (by: 'phone' | 'vehicle'): void => {
    if (!connected) return;
    connected = false;
    vehicleLink?.transportClosed({ by: 'remote', reason: by === 'phone' ? 'the phone disconnected' : 'the vehicle disconnected' });
    vehicleLink = null;
    device.dispatchEvent(new Event('gattserverdisconnected'));
  };
  const checkConnected = (): void => {
    if (!connected) throw new DOMException('GATT Server is disconnected. Cannot perform GATT operations.', 'NetworkError');
  };

  const characteristic = (uuid: string, properties: Record<string, boolean>) => {
    const c = new EventTarget() as EventTarget & Record<string, unknown>;
    Object.assign(c, { uuid, properties: { read: false, write: false, writeWithoutResponse: false, notify: false, ...properties }, value: null });
    return c;
  };
  const info = characteristic(DK_INFO_UUID, { read: true });
  info.readValue = async () => {
    checkConnected();
    await sleep(clock, intervalMs);
    const bytes = encodeBleInfo({ versions: [2], maxMessageBytes: 4096, attMtu: mtu });
    return new DataView(bytes.slice().buffer);
  };
  const toVehicle = characteristic(DK_TO_VEHICLE_UUID, { write: true, writeWithoutResponse: true });
  const write = async (value: ArrayBufferView): Promise<void> => {
    checkConnected();
    if (value.byteLength > 512) throw new DOMException("Value can't exceed 512 bytes.", 'InvalidModificationError');
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
    written.push(bytes.length);
    await sleep(clock, intervalMs);
    checkConnected();
    vehicleLink?.deliverChunk(bytes);
  };
  toVehicle.writeValueWithResponse = write;
  toVehicle.writeValueWithoutResponse = write;
  const toPhone = characteristic(DK_TO_PHONE_UUID, { notify: true });
  toPhone.startNotifications = async () => {
    checkConnected();
    await sleep(clock, intervalMs);
    const link = new ChunkLink({
      clock,
      mtu,
      writeChunk: async (chunk) => {
        await sleep(clock, intervalMs);
        if (!connected) return;
        toPhone.value = new DataView(chunk.slice().buffer);
        toPhone.dispatchEvent(new Event('characteristicvaluechanged'));
      },
      disconnect: () => void clock.setTimeout(() => end('vehicle'), intervalMs),
    });
    vehicleLink = link;
    void vehicle.serve(link).catch(() => undefined);
    return toPhone;
  };
  toPhone.stopNotifications = async () => toPhone;
  const service = {
    getCharacteristic: async (uuid: string) => {
      checkConnected();
      const c = [info, toVehicle, toPhone].find((x) => x.uuid === uuid);
      if (c === undefined) throw new DOMException(`No Characteristics matching UUID ${uuid} found in Service.`, 'NotFoundError');
      return c;
    },
  };
  const gatt = {
    get connected() {
      return connected;
    },
    connect: async () => {
      await sleep(clock, intervalMs);
      connected = true;
      return gatt;
    },
    disconnect: () => end('phone'),
    getPrimaryService: async (uuid: string) => {
      checkConnected();
      if (uuid !== DK_SERVICE_UUID) throw new DOMException(`No Services matching UUID ${uuid} found in Device.`, 'NotFoundError');
      return service;
    },
  };
  Object.assign(device, { id: 'sim-car', name: null, gatt });
  return {
    written,
    bluetooth: {
      requestDevice: async () => device,
      getAvailability: async () => true,
    },
  };
}
