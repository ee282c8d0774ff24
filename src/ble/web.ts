/**
 * `ble-digital-key/ble/web`: the phone side on Web Bluetooth (`navigator.bluetooth`), for a web
 * app or PWA key in Chrome or Edge (docs/BLE.md §Platform adapters).
 *
 * Web Bluetooth has no scan API for pages: {@link requestVehicleDevice} opens the browser's
 * chooser filtered to the digital-key service, and must run inside a user gesture (a click or a
 * tap). It exposes no MTU either, so chunks are sized from the vehicle's info characteristic,
 * and never above the 512 bytes a Web Bluetooth value may carry.
 *
 * No Node API: the types below are the few parts of the Web Bluetooth spec this module uses
 * (TypeScript's DOM library has none).
 */

import { AbortError, DigitalKeyError, ProtocolError, TransportError, UsageError } from '../errors.js';
import { systemClock } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';
import { BleErrorCode } from './codes.js';
import { checkTimeoutMs, openGattLink, type GattLink, type GattLinkOptions, type GattPort } from './gatt-client.js';
import { GattOps } from './gatt-op.js';
import { DK_INFO_UUID, DK_SERVICE_UUID, DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID, MAX_GATT_VALUE_BYTES } from './profile.js';

/** Largest value Web Bluetooth reads or writes (the ATT attribute limit, Core v5.4 Vol 3 Part F §3.2.9). */
export const WEB_BLUETOOTH_MAX_VALUE_BYTES = MAX_GATT_VALUE_BYTES;

/** `BluetoothCharacteristicProperties`, the members used. */
export interface WebCharacteristicProperties {
  readonly read: boolean;
  readonly write: boolean;
  readonly writeWithoutResponse: boolean;
  readonly notify: boolean;
}

/** `BluetoothRemoteGATTCharacteristic`, the members used. */
export interface WebCharacteristic extends EventTarget {
  readonly uuid: string;
  readonly properties: WebCharacteristicProperties;
  readonly value?: DataView | null;
  readValue(): Promise<DataView>;
  writeValueWithResponse(value: Uint8Array): Promise<void>;
  writeValueWithoutResponse(value: Uint8Array): Promise<void>;
  startNotifications(): Promise<WebCharacteristic>;
  stopNotifications(): Promise<WebCharacteristic>;
}

/** `BluetoothRemoteGATTService`, the members used. */
export interface WebService {
  getCharacteristic(uuid: string): Promise<WebCharacteristic>;
}

/** `BluetoothRemoteGATTServer`, the members used. */
export interface WebGattServer {
  readonly connected: boolean;
  connect(): Promise<WebGattServer>;
  disconnect(): void;
  getPrimaryService(uuid: string): Promise<WebService>;
}

/** `BluetoothDevice`, the members used. */
export interface WebBluetoothDevice extends EventTarget {
  readonly id: string;
  readonly name?: string | null;
  readonly gatt?: WebGattServer | null;
}

/** `navigator.bluetooth`, the members used. */
export interface WebBluetooth {
  requestDevice(options: { filters: Array<{ services: string[] }>; optionalServices?: string[] }): Promise<WebBluetoothDevice>;
  getAvailability?(): Promise<boolean>;
}

/** The one sentence for a browser without Web Bluetooth. */
export const NO_WEB_BLUETOOTH =
  'this browser has no Web Bluetooth: open the page in Chrome or Edge (Android, Windows, macOS, Linux, ChromeOS) over https or localhost; Firefox, Safari and every iOS browser lack it';

/**
 * `navigator.bluetooth`, or a typed error saying why there is none.
 *
 * @throws TransportError `BLE_UNAVAILABLE` when the browser lacks Web Bluetooth (or the page is not
 *   a secure context).
 */
export function getWebBluetooth(nav: unknown = (globalThis as { navigator?: unknown }).navigator): WebBluetooth {
  const bt = (nav as { bluetooth?: WebBluetooth } | undefined)?.bluetooth;
  if (bt === undefined || bt === null || typeof bt.requestDevice !== 'function') throw new TransportError(BleErrorCode.unavailable, NO_WEB_BLUETOOTH);
  return bt;
}

/**
 * Whether a Bluetooth adapter is there to use; throws the typed error when not.
 *
 * @throws TransportError `BLE_UNAVAILABLE` (no Web Bluetooth, or no adapter).
 */
export async function checkWebBluetooth(bluetooth: WebBluetooth = getWebBluetooth()): Promise<void> {
  if (typeof bluetooth.getAvailability === 'function' && !(await bluetooth.getAvailability())) {
    throw new TransportError(BleErrorCode.unavailable, 'this device has no usable Bluetooth adapter: turn Bluetooth on, or use a device that has one');
  }
}

/** The DOMException name of a Web Bluetooth rejection. */
function domName(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : '';
}

/**
 * Opens the browser's device chooser for cars offering the digital-key service. Call it from a
 * click or tap handler: browsers refuse requestDevice outside a user gesture.
 *
 * @throws UsageError `BLE_USER_GESTURE` when not called from a user gesture; AbortError when the
 *   user closed the chooser; TransportError `BLE_UNAVAILABLE` without Web Bluetooth or adapter.
 */
export async function requestVehicleDevice(bluetooth: WebBluetooth = getWebBluetooth()): Promise<WebBluetoothDevice> {
  try {
    return await bluetooth.requestDevice({ filters: [{ services: [DK_SERVICE_UUID] }] });
  } catch (err) {
    const name = domName(err);
    const message = String((err as { message?: unknown } | null)?.message ?? '');
    if (name === 'SecurityError') {
      throw new UsageError('BLE_USER_GESTURE', 'requestVehicleDevice must be called from a user gesture (a click or tap handler), on an https or localhost page', { cause: err });
    }
    if (name === 'NotFoundError' && /adapter/i.test(message)) throw new TransportError(BleErrorCode.unavailable, 'this device has no usable Bluetooth adapter: turn Bluetooth on', { cause: err });
    if (name === 'NotFoundError') throw new AbortError('the user closed the device chooser without picking a car', { cause: err });
    if (name === 'NotSupportedError' || name === 'TypeError') throw new TransportError(BleErrorCode.unavailable, NO_WEB_BLUETOOTH, { cause: err });
    throw new TransportError(BleErrorCode.connectFailed, 'the browser could not pick a device', { cause: err });
  }
}

/** A Web Bluetooth failure as a typed error. */
export function mapWebError(err: unknown, name: string, mayHaveSucceeded: boolean): DigitalKeyError {
  if (err instanceof DigitalKeyError) return err;
  const opts = { cause: err, mayHaveSucceeded };
  const kind = domName(err);
  if (kind === 'NetworkError') return new TransportError(BleErrorCode.connectFailed, `${name}: the vehicle is not connected`, opts);
  if (kind === 'NotFoundError') return new ProtocolError(BleErrorCode.profileMismatch, `${name}: the vehicle lacks the digital-key service or a characteristic`, opts);
  if (kind === 'AbortError') return new AbortError(`${name} aborted`, opts);
  return new TransportError(BleErrorCode.gattFailed, `${name} failed${kind === '' ? '' : ` (${kind})`}`, opts);
}

/** Options of {@link connectWebBluetoothLink}. */
export interface WebLinkOptions extends Omit<GattLinkOptions, 'gattTimeoutMs'> {
  timeouts?: { connectMs?: number; gattMs?: number };
}

/** A Link over a Web Bluetooth connection. */
export interface WebLink extends GattLink {
  readonly device: WebBluetoothDevice;
}

/** The three characteristics of the profile. */
interface WebProfile {
  toVehicle: WebCharacteristic;
  toPhone: WebCharacteristic;
  info: WebCharacteristic;
}

/**
 * Connects the GATT server of `device` and returns a Link over the digital-key profile. Chunks
 * are written with `writeValueWithResponse` unless `writeWithoutResponse` is set.
 */
export async function connectWebBluetoothLink(device: WebBluetoothDevice, options: WebLinkOptions = {}): Promise<WebLink> {
  const { clock = systemClock, signal } = options;
  const server = device?.gatt;
  if (server === undefined || server === null) throw new UsageError(BleErrorCode.badOptions, '"device" must be a BluetoothDevice with a GATT server');
  const connectMs = checkTimeoutMs(options.timeouts?.connectMs ?? 10_000, 'timeouts.connectMs');
  const gattMs = checkTimeoutMs(options.timeouts?.gattMs ?? 5_000, 'timeouts.gattMs');
  if (signal?.aborted === true) throw new AbortError('connect aborted', { cause: signal.reason });
  const ops = new GattOps(clock);
  const onAbort = (): void => ops.failAll(new AbortError('connect aborted', { cause: signal?.reason }));
  const onLost = (): void => ops.failAll(new TransportError(BleErrorCode.connectFailed, 'the connection dropped during set-up'));
  signal?.addEventListener('abort', onAbort, { once: true });
  device.addEventListener('gattserverdisconnected', onLost);
  const step = <T>(name: string, timeoutMs: number, call: () => Promise<T>): Promise<T> =>
    ops.run<T>({ name, timeoutMs }, ({ resolve, reject }) => {
      call().then(resolve, (err: unknown) => reject(mapWebError(err, name, false)));
      return () => {};
    });
  let profile: WebProfile;
  try {
    await step('connect', connectMs, () => server.connect());
    const service = await step('get service', gattMs, () => server.getPrimaryService(DK_SERVICE_UUID));
    const get = (uuid: string): Promise<WebCharacteristic> => step(`get characteristic ${uuid}`, gattMs, () => service.getCharacteristic(uuid));
    profile = { toVehicle: await get(DK_TO_VEHICLE_UUID), toPhone: await get(DK_TO_PHONE_UUID), info: await get(DK_INFO_UUID) };
    checkProperties(profile, options.writeWithoutResponse === true);
  } catch (err) {
    safeDisconnect(server);
    throw err instanceof DigitalKeyError ? err : mapWebError(err, 'connect', false);
  } finally {
    device.removeEventListener('gattserverdisconnected', onLost);
    signal?.removeEventListener('abort', onAbort);
  }
  const link = await openGattLink(webPort(device, server, profile), { ...options, clock, gattTimeoutMs: gattMs });
  return Object.assign(link, { device }) as GattLink & WebLink;
}

/** Checks the characteristics' properties. */
function checkProperties(p: WebProfile, withoutResponse: boolean): void {
  const ok = (withoutResponse ? p.toVehicle.properties?.writeWithoutResponse : p.toVehicle.properties?.write) && p.toPhone.properties?.notify && p.info.properties?.read;
  if (ok !== true) throw new ProtocolError(BleErrorCode.profileMismatch, 'the digital-key characteristics lack the properties this link needs');
}

/** Disconnects; never throws. */
function safeDisconnect(server: WebGattServer): void {
  try {
    server.disconnect();
  } catch {
    // Already gone.
  }
}

/** A copy of a DataView's bytes (the browser may reuse the buffer for the next value). */
function bytesOf(view: DataView | null | undefined): Uint8Array | null {
  return view instanceof DataView ? new Uint8Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength)) : null;
}

/** The {@link GattPort} of one Web Bluetooth connection. */
function webPort(device: WebBluetoothDevice, server: WebGattServer, p: WebProfile): GattPort {
  let onValueChanged: ((event: Event) => void) | null = null;
  return {
    maxValueBytes: WEB_BLUETOOTH_MAX_VALUE_BYTES,
    async readInfo() {
      const value = bytesOf(await p.info.readValue());
      if (value === null) throw new ProtocolError(BleErrorCode.badInfo, 'the vehicle sent no info value');
      return value;
    },
    async write(chunk, withResponse) {
      try {
        if (withResponse) await p.toVehicle.writeValueWithResponse(chunk);
        else await p.toVehicle.writeValueWithoutResponse(chunk);
      } catch (err) {
        throw mapWebError(err, 'write toVehicle', true);
      }
    },
    async subscribe(onValue) {
      onValueChanged = (event: Event) => onValue(bytesOf((event.target as WebCharacteristic | null)?.value));
      p.toPhone.addEventListener('characteristicvaluechanged', onValueChanged);
      await p.toPhone.startNotifications();
    },
    unsubscribe() {
      if (onValueChanged === null) return;
      p.toPhone.removeEventListener('characteristicvaluechanged', onValueChanged);
      onValueChanged = null;
      // Stopping fails once disconnected; nothing is subscribed then anyway.
      if (server.connected) p.toPhone.stopNotifications().catch(() => undefined);
    },
    onDisconnect(listener: (info: LinkCloseInfo) => void) {
      // Web Bluetooth does not say why: an unrequested disconnect is reported as the vehicle's.
      const handler = (): void => listener({ by: 'remote', reason: 'the vehicle disconnected (gattserverdisconnected)' });
      device.addEventListener('gattserverdisconnected', handler);
      return () => device.removeEventListener('gattserverdisconnected', handler);
    },
    disconnect() {
      safeDisconnect(server);
    },
  };
}
