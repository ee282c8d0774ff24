/**
 * `ble-digital-key/ble/react-native`: the phone side on react-native-ble-plx (docs/BLE.md
 * §Platform adapters). The app owns the `BleManager` (one per app, as ble-plx requires) and
 * passes it in; this module imports only ble-plx's types, so it loads without the native module.
 *
 * - {@link checkBleReady}: adapter state and runtime permissions, each failure with a
 *   one-sentence fix.
 * - {@link scanForVehicleRN}: scans for the digital-key service and picks the paired vehicle
 *   whose rotating pseudonym matches.
 * - {@link connectReactNativeLink}: connects, discovers, asks for a large MTU on Android, and
 *   runs the shared GATT client ({@link openGattLink}) over ble-plx's base64 values.
 *
 * Every ble-plx subscription made here is removed when its operation or link ends.
 */

import type { BleError, BleManager, Characteristic, Device, State, Subscription } from 'react-native-ble-plx';
import type { CryptoProvider } from '../crypto/provider.js';
import { AbortError, DigitalKeyError, ProtocolError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { PairedVehicle } from '../phone/store.js';
import { systemClock, type Clock } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';
import { isPairingCandidate, vehicleOfAdvertisement, type ScannedAdvertisement } from './advert.js';
import { fromBase64, toBase64 } from './base64.js';
import { BleErrorCode } from './codes.js';
import { withBackoff, type BackoffOptions } from './backoff.js';
import { checkTimeoutMs, openGattLink, type GattLink, type GattLinkOptions, type GattPort } from './gatt-client.js';
import { GattOps } from './gatt-op.js';
import { DEFAULT_COMPANY_ID, DEFAULT_PSEUDONYM_ROTATION_MS, DK_INFO_UUID, DK_SERVICE_UUID, DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID } from './profile.js';
import { PseudonymResolver } from './pseudonym.js';
import { runScan } from './scan.js';

/**
 * ble-plx's error codes this adapter tells apart (its `BleErrorCode` enum; the numbers are
 * ble-plx's stable API, copied because only its types are imported).
 */
export const PLX_ERROR = Object.freeze({
  operationCancelled: 2,
  operationTimedOut: 3,
  bluetoothUnsupported: 100,
  bluetoothUnauthorized: 101,
  bluetoothPoweredOff: 102,
  bluetoothInUnknownState: 103,
  bluetoothResetting: 104,
  deviceConnectionFailed: 200,
  deviceDisconnected: 201,
  deviceNotConnected: 205,
});

/** The parts of React Native's `PermissionsAndroid` used here. */
export interface AndroidPermissionsLike {
  check(permission: string): Promise<boolean>;
}

/** Which platform the app runs on: React Native's `Platform.OS` and `Platform.Version`. */
export interface RnPlatformInfo {
  /** `'android'` or `'ios'`. */
  os: string;
  /** Android API level (a number) or the iOS version (a string). */
  version: number | string;
}

/** Android runtime permissions the BLE central needs on `apiLevel` (Android 12 = API 31). */
export function requiredAndroidPermissions(apiLevel: number): string[] {
  return apiLevel >= 31
    ? ['android.permission.BLUETOOTH_SCAN', 'android.permission.BLUETOOTH_CONNECT']
    : ['android.permission.ACCESS_FINE_LOCATION'];
}

/** The one-sentence fix for an adapter that is not powered on. */
export function explainBleState(state: string, platform: RnPlatformInfo): string {
  switch (state) {
    case 'PoweredOff':
      return 'Bluetooth is off: ask the user to turn it on in Settings or the quick-settings panel.';
    case 'Unauthorized':
      return platform.os === 'ios'
        ? 'the app may not use Bluetooth: add NSBluetoothAlwaysUsageDescription to Info.plist and ask the user to allow Bluetooth in Settings › Privacy › Bluetooth.'
        : 'the app lacks Bluetooth permission: request ' + requiredAndroidPermissions(Number(platform.version)).join(' and ') + ' with PermissionsAndroid.requestMultiple before scanning.';
    case 'Unsupported':
      return 'this device has no Bluetooth LE: the key cannot work on it.';
    default:
      return `the Bluetooth adapter is "${state}": wait a moment and try again.`;
  }
}

/** Options of {@link checkBleReady}. */
export interface BleReadyOptions {
  manager: BleManager;
  platform: RnPlatformInfo;
  /** React Native's PermissionsAndroid, to check runtime permissions on Android. */
  permissions?: AndroidPermissionsLike;
  /** How long to wait for an adapter in `Unknown` / `Resetting` to settle, in ms (default 3 000). */
  timeoutMs?: number;
  clock?: Clock;
}

/**
 * Resolves when scanning and connecting can work: the permissions are granted (Android) and the
 * adapter is powered on. Waits briefly for a state still `Unknown` (ble-plx's state right after
 * start-up) or `Resetting`.
 *
 * @throws TransportError `BLE_ADAPTER_STATE` (permission missing, off, unauthorized: the message
 *   says how to fix it), `BLE_UNAVAILABLE` (no BLE on the device).
 */
export async function checkBleReady(options: BleReadyOptions): Promise<void> {
  const { manager, platform, permissions, clock = systemClock } = options;
  const timeoutMs = checkTimeoutMs(options.timeoutMs ?? 3_000, 'timeoutMs');
  if (platform.os === 'android' && permissions !== undefined) {
    const api = Number(platform.version);
    for (const p of requiredAndroidPermissions(api)) {
      if (!(await permissions.check(p))) {
        const fix = api >= 31
          ? `request ${p} at run time (PermissionsAndroid.requestMultiple) and declare it in AndroidManifest.xml`
          : `request ${p} at run time: Android before 12 only lets apps that hold location permission scan for BLE`;
        throw new TransportError(BleErrorCode.adapterState, `missing Android permission ${p}: ${fix}.`);
      }
    }
  }
  const state = await settledState(manager, clock, timeoutMs);
  if (state === 'PoweredOn') return;
  const code = state === 'Unsupported' ? BleErrorCode.unavailable : BleErrorCode.adapterState;
  throw new TransportError(code, explainBleState(state, platform));
}

/** The adapter state once it is no longer Unknown/Resetting, or the last one seen at the deadline. */
function settledState(manager: BleManager, clock: Clock, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve) => {
    let sub: Subscription | null = null;
    let done = false;
    const finish = (state: string): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      sub?.remove();
      resolve(state);
    };
    let last = 'Unknown';
    const timer = clock.setTimeout(() => finish(last), timeoutMs);
    // emitCurrentState: ble-plx calls the listener with the current state first.
    sub = manager.onStateChange((s: State) => {
      last = String(s);
      if (last !== 'Unknown' && last !== 'Resetting') finish(last);
    }, true);
    if (done) sub.remove();
  });
}

/** Options of {@link scanForVehicleRN}. */
export interface RnScanOptions {
  manager: BleManager;
  crypto: CryptoProvider;
  /** Candidate vehicles; those without an advertising key cannot be recognised. */
  vehicles: readonly PairedVehicle[];
  /** Give up after this many ms. */
  timeoutMs: number;
  /** Unix-time clock for pseudonym slots and the timer (default systemClock). */
  clock?: Clock;
  rotationMs?: number;
  companyId?: number;
  signal?: AbortSignal;
}

/** The vehicle found by {@link scanForVehicleRN}. */
export interface RnScanResult {
  device: Device;
  vehicle: PairedVehicle;
  rssi: number | null;
}

/**
 * Scans (with duplicates, so a pseudonym that rotates mid-scan is seen) until a report carries
 * the current pseudonym of one of `vehicles`, then stops the scan.
 *
 * @throws UsageError if no vehicle has an advertising key; TimeoutError `BLE_SCAN_TIMEOUT`;
 *   TransportError `BLE_ADAPTER_STATE`; AbortError.
 */
export function scanForVehicleRN(options: RnScanOptions): Promise<RnScanResult> {
  const { manager, crypto, vehicles, clock = systemClock, rotationMs = DEFAULT_PSEUDONYM_ROTATION_MS, companyId = DEFAULT_COMPANY_ID, signal } = options;
  const timeoutMs = checkTimeoutMs(options.timeoutMs, 'timeoutMs');
  if (!Array.isArray(vehicles) || !vehicles.some((v) => v?.advertisingKey instanceof Uint8Array)) {
    return Promise.reject(new UsageError('BLE_NO_ADVERTISING_KEY', 'none of the vehicles has an advertising key: pair again or import a share bundle that carries one'));
  }
  if (signal?.aborted === true) return Promise.reject(new AbortError('scan aborted', { cause: signal.reason }));
  const resolver = new PseudonymResolver(crypto, vehicles, rotationMs);
  return runScan<RnScanResult>({
    clock,
    timeoutMs,
    signal,
    atDeadline: () => {
      throw new TimeoutError(BleErrorCode.scanTimeout, `no paired vehicle was seen within ${timeoutMs} ms: is the car in range and its key module running?`);
    },
    start: ({ resolve, reject }) =>
      startPlxScan(manager, (device) => {
        const vehicle = vehicleOfAdvertisement(advertisementOf(device), resolver, clock.now(), companyId);
        if (vehicle !== null) resolve({ device, vehicle, rssi: device.rssi });
      }, reject),
  });
}

/** A ble-plx scan report in the shape the shared matching reads. */
function advertisementOf(device: Device): ScannedAdvertisement {
  return { serviceUuids: device.serviceUUIDs, manufacturerData: decodeOrNull(device.manufacturerData), connectable: device.isConnectable };
}

/**
 * Starts a ble-plx scan for the digital-key service (with duplicates, so a pseudonym that
 * rotates mid-scan is seen), passing each report to `onReport` and each scan error, mapped, to
 * `reject`; returns the scan's stop.
 */
function startPlxScan(manager: BleManager, onReport: (device: Device) => void, reject: (err: Error) => void): () => void {
  let active = true;
  manager
    .startDeviceScan([DK_SERVICE_UUID], { allowDuplicates: true }, (error: BleError | null, device: Device | null) => {
      if (!active) return;
      if (error !== null) reject(mapPlxError(error, 'scan', false));
      else if (device !== null) onReport(device);
    })
    .catch((err: unknown) => reject(mapPlxError(err, 'scan', false)));
  return () => {
    active = false;
    manager.stopDeviceScan().catch(() => undefined);
  };
}

/** Options of {@link scanForPairingRN}. */
export interface RnPairingScanOptions {
  manager: BleManager;
  /** How long to listen, in ms: every digital-key car heard in that time is a candidate. */
  listenMs: number;
  clock?: Clock;
  companyId?: number;
  /** Cars this phone already has, left out of the candidates. */
  known?: { crypto: CryptoProvider; vehicles: readonly PairedVehicle[]; rotationMs?: number };
  signal?: AbortSignal;
}

/** A car that may be the one to pair with. */
export interface RnPairingCandidate {
  device: Device;
  /** Strongest advertisement heard, in dBm. */
  rssi: number;
}

/**
 * Before pairing the phone has no advertising key: listens for `listenMs` and returns every car
 * advertising the digital-key service (less the known ones), nearest first by RSSI. The pairing
 * code then authenticates the car (docs/BLE.md §Pairing).
 *
 * @throws TransportError `BLE_ADAPTER_STATE`; AbortError.
 */
export function scanForPairingRN(options: RnPairingScanOptions): Promise<RnPairingCandidate[]> {
  const { manager, clock = systemClock, companyId = DEFAULT_COMPANY_ID, known, signal } = options;
  const listenMs = checkTimeoutMs(options.listenMs, 'listenMs');
  if (signal?.aborted === true) return Promise.reject(new AbortError('scan aborted', { cause: signal.reason }));
  const resolver = known === undefined ? null : new PseudonymResolver(known.crypto, known.vehicles, known.rotationMs);
  const heard = new Map<string, RnPairingCandidate>();
  const onReport = (device: Device): void => {
    if (!isPairingCandidate(advertisementOf(device), resolver, clock.now(), companyId)) return;
    const rssi = typeof device.rssi === 'number' ? device.rssi : -127;
    const previous = heard.get(device.id);
    if (previous === undefined || rssi > previous.rssi) heard.set(device.id, { device, rssi });
  };
  return runScan<RnPairingCandidate[]>({
    clock,
    timeoutMs: listenMs,
    signal,
    atDeadline: () => [...heard.values()].sort((x, y) => y.rssi - x.rssi),
    start: ({ reject }) => startPlxScan(manager, onReport, reject),
  });
}

/** Decodes a scanned base64 field; null for anything malformed (scan data is untrusted). */
function decodeOrNull(value: unknown): Uint8Array | null {
  try {
    return typeof value === 'string' ? fromBase64(value) : null;
  } catch {
    return null;
  }
}

/** Whether `err` is a ble-plx BleError with `errorCode` among `codes`. */
function plxCode(err: unknown): number | null {
  const code = (err as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'number' ? code : null;
}

/**
 * A ble-plx failure as this library's typed error: cancelled → AbortError, timed out →
 * TimeoutError `BLE_GATT_TIMEOUT`, Bluetooth state → `BLE_ADAPTER_STATE`, connection failures and
 * disconnects → `BLE_CONNECT_FAILED`, anything else → `BLE_GATT_FAILED`.
 */
export function mapPlxError(err: unknown, name: string, mayHaveSucceeded: boolean): DigitalKeyError {
  if (err instanceof DigitalKeyError) return err;
  const code = plxCode(err);
  const opts = { cause: err, mayHaveSucceeded };
  if (code === PLX_ERROR.operationCancelled) return new AbortError(`${name} cancelled`, opts);
  if (code === PLX_ERROR.operationTimedOut) return new TimeoutError(BleErrorCode.gattTimeout, `${name}: ble-plx timed out`, opts);
  if (code !== null && code >= 100 && code < 200) return new TransportError(BleErrorCode.adapterState, `${name}: the Bluetooth adapter is not usable (ble-plx error ${code}); call checkBleReady for the fix`, opts);
  if (code === PLX_ERROR.deviceConnectionFailed || code === PLX_ERROR.deviceDisconnected || code === PLX_ERROR.deviceNotConnected) {
    return new TransportError(BleErrorCode.connectFailed, `${name}: the vehicle is not connected (ble-plx error ${code})`, opts);
  }
  return new TransportError(BleErrorCode.gattFailed, `${name} failed${code === null ? '' : ` (ble-plx error ${code})`}`, opts);
}

/** Deadlines of the connection set-up, in ms. */
export interface RnTimeouts {
  /** Connection establishment and discovery (default 10 000). */
  connectMs?: number;
  /** Each read, MTU request and chunk write (default 5 000). */
  gattMs?: number;
}

/** Options of {@link connectReactNativeLink}. */
export interface RnLinkOptions extends Omit<GattLinkOptions, 'gattTimeoutMs'> {
  manager: BleManager;
  /** `Platform.OS`: `'android'` asks for `requestMtu`; iOS negotiates on its own. */
  os: string;
  timeouts?: RnTimeouts;
  /** ATT MTU asked for on Android (default 517, the largest). */
  requestMtu?: number;
}

/** A Link over a ble-plx connection. */
export interface RnLink extends GattLink {
  /** The connected device (after discovery and the MTU request). */
  readonly device: Device;
}

/**
 * Connects to `device` (a scan result or an id) and returns a Link over the digital-key profile.
 * On Android the MTU is requested (ble-plx's `requestMTUForDevice`) and chunks must fit the
 * granted one; on iOS, which negotiates the MTU itself and reports it unreliably, the vehicle's
 * reported MTU is used. On any failure the connection is cancelled and the error is typed.
 */
export async function connectReactNativeLink(device: Device | string, options: RnLinkOptions): Promise<RnLink> {
  const { manager, os, clock = systemClock, signal } = options;
  const id = typeof device === 'string' ? device : device?.id;
  if (typeof id !== 'string' || id === '') throw new UsageError(BleErrorCode.badOptions, '"device" must be a ble-plx Device or its id');
  const connectMs = checkTimeoutMs(options.timeouts?.connectMs ?? 10_000, 'timeouts.connectMs');
  const gattMs = checkTimeoutMs(options.timeouts?.gattMs ?? 5_000, 'timeouts.gattMs');
  if (signal?.aborted === true) throw new AbortError('connect aborted', { cause: signal.reason });
  const ops = new GattOps(clock);
  const onAbort = (): void => ops.failAll(new AbortError('connect aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const lost = manager.onDeviceDisconnected(id, () => ops.failAll(new TransportError(BleErrorCode.connectFailed, 'the connection dropped during set-up')));
  const step = <T>(name: string, timeoutMs: number, call: () => Promise<T>): Promise<T> =>
    ops.run<T>({ name, timeoutMs }, ({ resolve, reject }) => {
      call().then(resolve, (err: unknown) => reject(mapPlxError(err, name, false)));
      return () => {};
    });
  let connected: Device;
  try {
    connected = await step('connect', connectMs, () => manager.connectToDevice(id, { timeout: connectMs }));
    connected = await step('discover', connectMs, () => manager.discoverAllServicesAndCharacteristicsForDevice(id));
    checkProfile(await step('list characteristics', gattMs, () => manager.characteristicsForDevice(id, DK_SERVICE_UUID)), options.writeWithoutResponse === true);
    if (os === 'android') connected = await step('request MTU', gattMs, () => manager.requestMTUForDevice(id, options.requestMtu ?? 517));
  } catch (err) {
    manager.cancelDeviceConnection(id).catch(() => undefined);
    throw err instanceof DigitalKeyError ? err : mapPlxError(err, 'connect', false);
  } finally {
    lost.remove();
    signal?.removeEventListener('abort', onAbort);
  }
  const maxValueBytes = os === 'android' && Number.isSafeInteger(connected.mtu) && connected.mtu >= 23 ? connected.mtu - 3 : null;
  const link = await openGattLink(plxPort(manager, id, maxValueBytes), { ...options, clock, gattTimeoutMs: gattMs });
  return Object.assign(link, { device: connected }) as GattLink & RnLink;
}

/** Checks that the service has the three characteristics with the properties this link uses. */
function checkProfile(found: Characteristic[], withoutResponse: boolean): void {
  const has = (uuid: string, ok: (c: Characteristic) => boolean): void => {
    const c = (Array.isArray(found) ? found : []).find((x) => typeof x?.uuid === 'string' && x.uuid.toLowerCase() === uuid);
    if (c === undefined || !ok(c)) throw new ProtocolError(BleErrorCode.profileMismatch, `the digital-key service lacks characteristic ${uuid} with the properties this link needs`);
  };
  has(DK_TO_VEHICLE_UUID, (c) => (withoutResponse ? c.isWritableWithoutResponse : c.isWritableWithResponse));
  has(DK_TO_PHONE_UUID, (c) => c.isNotifiable);
  has(DK_INFO_UUID, (c) => c.isReadable);
}

/**
 * How ble-plx reports the end of a connection: error null after the app's own
 * `cancelDeviceConnection`; the peer terminating is Android GATT status 19
 * (GATT_CONN_TERMINATE_PEER_USER) or iOS CBError 7 (peripheralDisconnected); anything else
 * (supervision timeout, …) is a lost radio link.
 */
export function closeInfoForPlxDisconnect(error: BleError | null): LinkCloseInfo {
  if (error === null) return { by: 'local', reason: 'the app cancelled the connection' };
  if (Number(error.androidErrorCode) === 19 || Number(error.iosErrorCode) === 7) return { by: 'remote', reason: 'the vehicle terminated the connection' };
  return { by: 'error', reason: `connection lost (ble-plx error ${plxCode(error) ?? 'unknown'}${error.reason ? `: ${error.reason}` : ''})` };
}

/** Transaction ids of monitors: unique per manager call so a cancel hits only ours. */
let monitorCounter = 0;

/** The {@link GattPort} of one ble-plx connection. */
function plxPort(manager: BleManager, id: string, maxValueBytes: number | null): GattPort {
  let monitor: Subscription | null = null;
  let disconnected = false;
  const lostListeners = new Set<(info: LinkCloseInfo) => void>();
  const emitLost = (info: LinkCloseInfo): void => {
    for (const l of [...lostListeners]) l(info);
  };
  return {
    maxValueBytes,
    async readInfo() {
      const c = await manager.readCharacteristicForDevice(id, DK_SERVICE_UUID, DK_INFO_UUID);
      return fromBase64(c.value ?? '');
    },
    async write(chunk, withResponse) {
      const value = toBase64(chunk);
      try {
        if (withResponse) await manager.writeCharacteristicWithResponseForDevice(id, DK_SERVICE_UUID, DK_TO_VEHICLE_UUID, value);
        else await manager.writeCharacteristicWithoutResponseForDevice(id, DK_SERVICE_UUID, DK_TO_VEHICLE_UUID, value);
      } catch (err) {
        throw mapPlxError(err, 'write toVehicle', true);
      }
    },
    subscribe(onValue) {
      const transactionId = `dk-monitor-${++monitorCounter}`;
      let active = true;
      const sub = manager.monitorCharacteristicForDevice(
        id,
        DK_SERVICE_UUID,
        DK_TO_PHONE_UUID,
        (error: BleError | null, c: Characteristic | null) => {
          // ble-plx reports OperationCancelled to the listener after remove(): not a failure.
          if (!active) return;
          if (error !== null) {
            const code = plxCode(error);
            if (code === PLX_ERROR.deviceDisconnected || code === PLX_ERROR.operationCancelled) return;
            emitLost({ by: 'error', reason: `notifications failed (ble-plx error ${code ?? 'unknown'})` });
            manager.cancelDeviceConnection(id).catch(() => undefined);
            return;
          }
          let value: Uint8Array | null = null;
          try {
            value = fromBase64(c?.value ?? '');
          } catch {
            value = null;
          }
          onValue(value);
        },
        transactionId,
      );
      monitor = {
        remove: () => {
          active = false;
          sub.remove();
        },
      };
      // ble-plx gives no "notifications enabled" event: the vehicle's first value is the sign.
      return Promise.resolve();
    },
    unsubscribe() {
      const m = monitor;
      monitor = null;
      try {
        m?.remove();
      } catch {
        // The manager was destroyed: nothing is left to remove.
      }
    },
    onDisconnect(listener) {
      lostListeners.add(listener);
      const sub = manager.onDeviceDisconnected(id, (error: BleError | null) => {
        disconnected = true;
        listener(closeInfoForPlxDisconnect(error));
      });
      return () => {
        lostListeners.delete(listener);
        sub.remove();
      };
    },
    disconnect() {
      if (disconnected) return;
      disconnected = true;
      manager.cancelDeviceConnection(id).catch(() => undefined);
    },
  };
}

/** Options of {@link openVehicleLinkRN}. */
export interface RnOpenOptions extends RnScanOptions, Omit<RnLinkOptions, 'manager' | 'clock' | 'signal'> {
  /** Retry policy for scan + connect (default 3 attempts; never retries a wrong profile). */
  retry?: Omit<BackoffOptions, 'clock' | 'signal'>;
}

/**
 * Scans for one of `vehicles`, connects and returns the link, retrying retryable failures (a
 * connection that dropped during set-up, a GATT timeout, a scan that saw nothing) with
 * exponential backoff.
 */
export function openVehicleLinkRN(options: RnOpenOptions): Promise<{ link: RnLink; vehicle: PairedVehicle; rssi: number | null }> {
  const { clock = systemClock, signal } = options;
  return withBackoff(
    async () => {
      const found = await scanForVehicleRN(options);
      const link = await connectReactNativeLink(found.device, { ...options, clock, signal });
      return { link, vehicle: found.vehicle, rssi: found.rssi };
    },
    { attempts: 3, ...options.retry, clock, signal },
  );
}
