/**
 * `ble-digital-key/ble/noble`: the phone (GATT central) side on @abandonware/noble, for Node
 * phones-in-a-box, test rigs and desktop tools (docs/BLE.md §Phone side). Node-only.
 *
 * - {@link loadNoble} loads noble lazily: its main entry opens an HCI socket at load time and
 *   throws on machines without Bluetooth, so nothing here imports it at module load.
 * - {@link scanForVehicle} scans for the digital-key service and picks the paired vehicle whose
 *   rotating pseudonym matches, among any number of cars in range.
 * - {@link connectNobleLink} connects, discovers the profile, reads the info characteristic (MTU
 *   and versions), subscribes, and returns a {@link Link} that writes chunks and reassembles
 *   notifications.
 *
 * Every GATT operation has a deadline and is rejected when the connection drops, and every
 * listener added to noble's objects is removed when the operation or the link ends.
 */

import type { CryptoProvider } from '../crypto/provider.js';
import { AbortError, DigitalKeyError, ProtocolError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { PairedVehicle } from '../phone/store.js';
import { SUPPORTED_VERSIONS } from '../protocol/constants.js';
import { systemClock, type Clock, type TimerHandle } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';
import { linkClosedError } from '../transport/link-op.js';
import { withBackoff, type BackoffOptions } from './backoff.js';
import { ChunkLink, type BleLink } from './chunk-link.js';
import { BleErrorCode } from './codes.js';
import { GattOps, listen, type Emitter } from './gatt-op.js';
import { requireBle, waitPoweredOn } from './load.js';
import {
  DEFAULT_COMPANY_ID,
  DEFAULT_PSEUDONYM_ROTATION_MS,
  DK_INFO_UUID,
  DK_SERVICE_UUID,
  DK_TO_PHONE_UUID,
  DK_TO_VEHICLE_UUID,
  compactUuid,
  decodeBleInfo,
  pseudonymFromManufacturerData,
  type BleInfo,
} from './profile.js';
import { PseudonymResolver } from './pseudonym.js';

export { BleErrorCode } from './codes.js';
export { withBackoff, backoffDelayMs, isRetryable, type BackoffOptions } from './backoff.js';
export type { BleLink, BleLinkStats } from './chunk-link.js';
export * from './profile.js';
export { PseudonymResolver, computePseudonym, currentPseudonym, nextRotationAtMs, pseudonymSlot, resolvePseudonym } from './pseudonym.js';
export { explainLoadFailure } from './load.js';

// ---------------------------------------------------------------------------------------------
// The parts of noble's object model this adapter uses (noble ships no types for with-bindings).
// ---------------------------------------------------------------------------------------------

/** A noble instance (`require('@abandonware/noble')` or one built on custom bindings). */
export interface NobleLike extends Emitter {
  /** Adapter state; reading it the first time starts the stack. */
  readonly state: string;
  startScanning(serviceUuids?: string[], allowDuplicates?: boolean): void;
  stopScanning(): void;
}

/** Advertisement data as noble parses it. */
export interface NobleAdvertisement {
  localName?: string;
  serviceUuids?: string[];
  manufacturerData?: Uint8Array;
}

/** A noble Peripheral. */
export interface NoblePeripheralLike extends Emitter {
  readonly id: string;
  readonly advertisement: NobleAdvertisement;
  readonly rssi: number;
  readonly connectable?: boolean;
  /** `disconnected`, `connecting`, `connected`, `disconnecting` or `error`. */
  readonly state: string;
  /** ATT MTU where the binding reports it (Linux HCI), else null. */
  readonly mtu: number | null;
  connect(): void;
  cancelConnect?(): void;
  disconnect(): void;
  discoverServices(uuids: string[]): void;
}

/** A noble Service. */
export interface NobleServiceLike extends Emitter {
  readonly uuid: string;
  discoverCharacteristics(uuids: string[]): void;
}

/** A noble Characteristic. */
export interface NobleCharacteristicLike extends Emitter {
  readonly uuid: string;
  readonly properties: string[];
  read(): void;
  write(data: Uint8Array, withoutResponse: boolean): void;
  notify(on: boolean): void;
}

// ---------------------------------------------------------------------------------------------
// Loading.
// ---------------------------------------------------------------------------------------------

/** Options of {@link loadNoble}. */
export interface LoadNobleOptions {
  /**
   * Custom bindings (the object noble's HCI, macOS or WebSocket bindings are): noble is then
   * built with `@abandonware/noble/with-bindings`, which opens no socket. Tests pass a fake radio.
   */
  bindings?: unknown;
}

/**
 * Loads noble. Without options, the default instance for this platform (HCI socket on Linux,
 * CoreBluetooth on macOS); with `bindings`, a new instance on them.
 *
 * @throws TransportError `BLE_UNAVAILABLE` with a one-sentence fix when noble is not installed,
 *   its native part is not built, or the machine has no Bluetooth (EAFNOSUPPORT).
 */
export function loadNoble(options: LoadNobleOptions = {}): NobleLike {
  if (options.bindings !== undefined) {
    const create = requireBle('@abandonware/noble', '@abandonware/noble/with-bindings.js') as (bindings: unknown) => NobleLike;
    return create(options.bindings);
  }
  return requireBle('@abandonware/noble') as NobleLike;
}

// ---------------------------------------------------------------------------------------------
// Scanning.
// ---------------------------------------------------------------------------------------------

/** Options of {@link scanForVehicle}. */
export interface ScanOptions {
  /** The noble instance (default {@link loadNoble}()). */
  noble?: NobleLike;
  crypto: CryptoProvider;
  /** Candidate vehicles; those without an advertising key cannot be recognised and are skipped. */
  vehicles: readonly PairedVehicle[];
  /** Give up after this many ms (adapter start-up included). */
  timeoutMs: number;
  /** Unix-time clock for pseudonym slots and timers (default systemClock). */
  clock?: Clock;
  /** Pseudonym rotation period the vehicles use (default 5 min). */
  rotationMs?: number;
  /** Company identifier in the manufacturer data (default 0xFFFF, see docs/BLE.md). */
  companyId?: number;
  signal?: AbortSignal;
}

/** The vehicle found by {@link scanForVehicle}. */
export interface ScanResult {
  peripheral: NoblePeripheralLike;
  vehicle: PairedVehicle;
  /** Signal strength of the advertisement, in dBm; null when the controller did not measure it. */
  rssi: number | null;
}

/**
 * HCI's "RSSI not available" (Core v5.4 Vol 4 Part E §7.7.65.2: 127 in an advertising report),
 * which noble passes on as if it were dBm.
 */
export const RSSI_NOT_AVAILABLE = 127;

/** An advertisement's RSSI in dBm, or null for "not available" and anything that is not a dBm value. */
export function advertisedRssi(rssi: unknown): number | null {
  return typeof rssi === 'number' && Number.isInteger(rssi) && rssi >= -127 && rssi <= 20 ? rssi : null;
}

/** Checks a positive timeout option. */
function checkTimeout(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(BleErrorCode.badOptions, `"${name}" must be a positive number of ms`);
  }
  return value;
}

/**
 * Scans until an advertisement carries the digital-key service and the current pseudonym of one
 * of `vehicles`, then stops scanning and returns that peripheral. Cars in range that are not
 * paired (or not this phone's) are ignored: their pseudonyms match nothing.
 *
 * @throws UsageError if no vehicle has an advertising key or an option is malformed.
 * @throws TimeoutError `BLE_SCAN_TIMEOUT`, TransportError `BLE_UNAVAILABLE` / `BLE_ADAPTER_STATE`, AbortError.
 */
export async function scanForVehicle(options: ScanOptions): Promise<ScanResult> {
  const { crypto, vehicles, clock = systemClock, rotationMs = DEFAULT_PSEUDONYM_ROTATION_MS, companyId = DEFAULT_COMPANY_ID, signal } = options;
  const timeoutMs = checkTimeout(options.timeoutMs, 'timeoutMs');
  if (!Array.isArray(vehicles) || !vehicles.some((v) => v?.advertisingKey instanceof Uint8Array)) {
    throw new UsageError(
      'BLE_NO_ADVERTISING_KEY',
      'none of the vehicles has an advertising key: pair again or import a share bundle that carries one',
    );
  }
  const resolver = new PseudonymResolver(crypto, vehicles, rotationMs);
  const noble = options.noble ?? loadNoble();
  const startMs = clock.now();
  await waitPoweredOn('@abandonware/noble', noble, clock, timeoutMs, signal);
  const remainingMs = Math.max(1, timeoutMs - (clock.now() - startMs));
  const serviceUuid = compactUuid(DK_SERVICE_UUID);

  return new Promise<ScanResult>((resolve, reject) => {
    const offs: Array<() => void> = [];
    let timer: TimerHandle | undefined;
    let done = false;
    const finish = (err: Error | null, result?: ScanResult): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      for (const off of offs) off();
      signal?.removeEventListener('abort', onAbort);
      try {
        noble.stopScanning();
      } catch {
        // The adapter went away: nothing is scanning any more.
      }
      if (err !== null) reject(err);
      else resolve(result as ScanResult);
    };
    const onAbort = (): void => finish(new AbortError('scan aborted', { cause: signal?.reason }));
    offs.push(
      listen(noble, 'discover', (peripheral: NoblePeripheralLike) => {
        const vehicle = matchAdvertisement(peripheral, serviceUuid, companyId, (p) => resolver.resolve(p, clock.now()));
        if (vehicle !== null) finish(null, { peripheral, vehicle, rssi: advertisedRssi(peripheral.rssi) });
      }),
      listen(noble, 'stateChange', (state: string) => {
        if (state !== 'poweredOn') finish(new TransportError(BleErrorCode.adapterState, `the Bluetooth adapter left the poweredOn state (now "${state}") during the scan`));
      }),
    );
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    timer = clock.setTimeout(() => {
      timer = undefined;
      finish(new TimeoutError(BleErrorCode.scanTimeout, `no paired vehicle was seen within ${timeoutMs} ms: is the car in range and its key module running?`));
    }, remainingMs);
    try {
      // allowDuplicates: every report is looked at, so a pseudonym that rotates mid-scan is seen.
      noble.startScanning([serviceUuid], true);
    } catch (err) {
      finish(new TransportError(BleErrorCode.adapterState, 'the Bluetooth adapter refused to scan', { cause: err }));
    }
  });
}

/** Options of {@link scanForPairing}. */
export interface PairingScanOptions {
  /** The noble instance (default {@link loadNoble}()). */
  noble?: NobleLike;
  /** How long to listen, in ms: every digital-key car heard in that time is a candidate. */
  listenMs: number;
  /** Clock for the timer (default systemClock). */
  clock?: Clock;
  /** Company identifier in the manufacturer data (default 0xFFFF). */
  companyId?: number;
  /** Cars this phone already has, left out of the candidates (needs `crypto`). */
  known?: { crypto: CryptoProvider; vehicles: readonly PairedVehicle[]; rotationMs?: number };
  signal?: AbortSignal;
}

/** A car that may be the one to pair with. */
export interface PairingCandidate {
  peripheral: NoblePeripheralLike;
  /** Strongest advertisement heard, in dBm; null if the controller never measured one. */
  rssi: number | null;
}

/** Nearest first; cars whose RSSI is not available come last (they are not "loudest"). */
function byProximity(x: PairingCandidate, y: PairingCandidate): number {
  return (y.rssi ?? -Infinity) - (x.rssi ?? -Infinity);
}

/**
 * Before pairing the phone has no advertising key, so it cannot tell which car is which: this
 * listens for `listenMs` and returns every car advertising the digital-key service (less the
 * ones already paired), nearest first by RSSI (cars whose RSSI the controller did not measure last). The app tries them in that order with
 * `phone.pair(link, code)`: the pairing code authenticates the car (SPAKE2+), and a car without
 * an open window, or with another code, learns nothing and refuses (docs/BLE.md §Pairing).
 *
 * @throws TransportError `BLE_UNAVAILABLE` / `BLE_ADAPTER_STATE`, AbortError.
 */
export async function scanForPairing(options: PairingScanOptions): Promise<PairingCandidate[]> {
  const { clock = systemClock, companyId = DEFAULT_COMPANY_ID, signal, known } = options;
  const listenMs = checkTimeout(options.listenMs, 'listenMs');
  const resolver = known === undefined ? null : new PseudonymResolver(known.crypto, known.vehicles, known.rotationMs);
  const noble = options.noble ?? loadNoble();
  await waitPoweredOn('@abandonware/noble', noble, clock, listenMs, signal);
  const serviceUuid = compactUuid(DK_SERVICE_UUID);
  const heard = new Map<string, PairingCandidate>();
  return new Promise<PairingCandidate[]>((resolve, reject) => {
    const finish = (err: Error | null): void => {
      clock.clearTimeout(timer);
      off();
      signal?.removeEventListener('abort', onAbort);
      try {
        noble.stopScanning();
      } catch {
        // The adapter went away: nothing is scanning any more.
      }
      if (err !== null) reject(err);
      else resolve([...heard.values()].sort(byProximity));
    };
    const onAbort = (): void => finish(new AbortError('scan aborted', { cause: signal?.reason }));
    const off = listen(noble, 'discover', (peripheral: NoblePeripheralLike) => {
      // A car already paired resolves to a vehicle; a candidate resolves to none.
      const isOurs = matchAdvertisement(peripheral, serviceUuid, companyId, (p) => (p === null ? null : (resolver?.resolve(p, clock.now()) ?? CANDIDATE)));
      if (isOurs !== CANDIDATE) return;
      const previous = heard.get(peripheral.id);
      const rssi = advertisedRssi(peripheral.rssi);
      if (previous === undefined || (rssi !== null && rssi > (previous.rssi ?? -Infinity))) heard.set(peripheral.id, { peripheral, rssi: rssi ?? previous?.rssi ?? null });
    });
    const timer = clock.setTimeout(() => finish(null), listenMs);
    if (signal?.aborted === true) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      noble.startScanning([serviceUuid], true);
    } catch (err) {
      finish(new TransportError(BleErrorCode.adapterState, 'the Bluetooth adapter refused to scan', { cause: err }));
    }
  });
}

/** Marker for "a digital-key car this phone does not know" in {@link scanForPairing}. */
const CANDIDATE: PairedVehicle = Object.freeze({ vehicleId: new Uint8Array(0), publicKey: new Uint8Array(0), name: '' });

/**
 * The vehicle an advertisement belongs to, or null. Advertisements are attacker-controlled:
 * anything malformed is simply not a match.
 */
function matchAdvertisement(
  peripheral: NoblePeripheralLike,
  serviceUuid: string,
  companyId: number,
  resolve: (pseudonym: Uint8Array | null) => PairedVehicle | null,
): PairedVehicle | null {
  try {
    if (peripheral.connectable === false) return null;
    const ad = peripheral.advertisement;
    const uuids = Array.isArray(ad?.serviceUuids) ? ad.serviceUuids : [];
    if (!uuids.some((u) => typeof u === 'string' && u.replace(/-/g, '').toLowerCase() === serviceUuid)) return null;
    return resolve(pseudonymFromManufacturerData(ad.manufacturerData, companyId));
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Connecting.
// ---------------------------------------------------------------------------------------------

/** Deadlines of the connection set-up and of each GATT operation, in ms. */
export interface NobleTimeouts {
  /** Connection establishment (default 10 000). */
  connectMs?: number;
  /** Each discovery, read, subscribe and chunk write (default 5 000; ATT allows 30 000). */
  gattMs?: number;
}

/** Default {@link NobleTimeouts}. */
export const DEFAULT_NOBLE_TIMEOUTS: Readonly<Required<NobleTimeouts>> = Object.freeze({ connectMs: 10_000, gattMs: 5_000 });

/** Options of {@link connectNobleLink}. */
export interface NobleLinkOptions {
  /** Clock of the link's timeouts (default systemClock). */
  clock?: Clock;
  timeouts?: NobleTimeouts;
  /**
   * Write chunks without response (default true): faster, and flow-controlled by the stack.
   * With false every chunk waits for the vehicle's write response (an ATT error then fails the
   * link); use it with stacks that drop writes without response when their buffer is full.
   */
  writeWithoutResponse?: boolean;
  /** Largest message this phone accepts, in bytes (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /** Messages kept while nobody receives (default MAX_QUEUED_MESSAGES). */
  maxQueuedMessages?: number;
  /** Longest gap between two chunks of a message, in ms (default INTER_CHUNK_TIMEOUT_MS). */
  interChunkTimeoutMs?: number;
  /** Cancels the set-up (the connection is then dropped). */
  signal?: AbortSignal;
}

/** A Link over a noble connection. */
export interface NobleLink extends BleLink {
  /** The connected peripheral. */
  readonly peripheral: NoblePeripheralLike;
  /** What the vehicle's info characteristic said (versions, max message size, MTU). */
  readonly info: BleInfo;
}

/** The profile's three characteristics on one peripheral. */
interface Profile {
  toVehicle: NobleCharacteristicLike;
  toPhone: NobleCharacteristicLike;
  info: NobleCharacteristicLike;
}

/** HCI reason "Connection Terminated by Local Host" (Core v5.4 Vol 1 Part F §2). */
const LOCAL_HOST_TERMINATED = 0x16;

/**
 * How a disconnect the link did not ask for is reported. If the phone's own stack asked for it
 * (`localRequest`: something called `peripheral.disconnect()` behind the link, or the controller
 * says 0x16 local host), it is not the vehicle's doing: controllers echo the reason the host
 * gave (0x13) on the local side too, so 0x13–0x15 mean "the peer closed" only when the phone did
 * not ask. Otherwise 0x13–0x15 (the remote user or device terminated) are the vehicle closing,
 * and anything else (0x08 supervision timeout, 0x3E failed to establish, …) a lost radio link.
 */
export function closeInfoForDisconnect(reason: unknown, localRequest = false): LinkCloseInfo {
  const code = typeof reason === 'number' ? `0x${reason.toString(16).padStart(2, '0')}` : String(reason);
  if (localRequest || reason === LOCAL_HOST_TERMINATED) {
    return { by: 'error', reason: `the phone's Bluetooth stack ended the connection (HCI reason ${code})` };
  }
  if (reason === undefined || reason === null || reason === 0x13 || reason === 0x14 || reason === 0x15) {
    return { by: 'remote', reason: 'the vehicle terminated the connection' };
  }
  return { by: 'error', reason: `connection lost (HCI reason ${code})` };
}

/**
 * Notices the phone's stack asking to disconnect: noble's Peripheral sets `state` to
 * 'disconnecting' on every path that asks (disconnect, disconnectAsync) before the controller
 * reports the disconnect, and the reason the controller then reports cannot tell who asked.
 * Wraps `state` in an accessor on the instance; `restore()` puts the plain property back.
 */
function watchDisconnectRequest(peripheral: NoblePeripheralLike): { requested(): boolean; restore(): void } {
  const target = peripheral as unknown as { state: string };
  const own = Object.getOwnPropertyDescriptor(target, 'state');
  if (own === undefined || !('value' in own) || own.configurable !== true) return { requested: () => false, restore: () => {} };
  let value: unknown = own.value;
  let asked = false;
  Object.defineProperty(target, 'state', {
    configurable: true,
    enumerable: own.enumerable ?? true,
    get: () => value,
    set: (next: unknown) => {
      if (next === 'disconnecting') asked = true;
      else if (next === 'connected') asked = false;
      value = next;
    },
  });
  let restored = false;
  return {
    requested: () => asked,
    restore: () => {
      if (restored) return;
      restored = true;
      Object.defineProperty(target, 'state', { ...own, value });
    },
  };
}

/** Copies noble's Buffer (or any Uint8Array) into a plain Uint8Array; null for anything else. */
function toBytes(data: unknown): Uint8Array | null {
  return data instanceof Uint8Array ? Uint8Array.from(data) : null;
}

/**
 * Connects to `peripheral` and returns a Link over the digital-key profile: connect, discover the
 * service and its three characteristics, read the info (the link uses the ATT MTU the vehicle
 * reports, so both ends cut chunks alike even where noble hides the MTU), subscribe to
 * notifications, then hand out the link. Notifications that arrive before the subscription was
 * requested are ignored (counted in `stats.ignoredChunks`).
 *
 * On any failure the connection is dropped, every listener removed, and the error is typed:
 * TransportError `BLE_CONNECT_FAILED` / `BLE_GATT_FAILED`, TimeoutError `BLE_GATT_TIMEOUT`,
 * ProtocolError `BLE_PROFILE_MISMATCH` / `BLE_BAD_INFO` / `BLE_VERSION_MISMATCH`, AbortError.
 */
export async function connectNobleLink(peripheral: NoblePeripheralLike, options: NobleLinkOptions = {}): Promise<NobleLink> {
  const clock = options.clock ?? systemClock;
  const connectMs = checkTimeout(options.timeouts?.connectMs ?? DEFAULT_NOBLE_TIMEOUTS.connectMs, 'timeouts.connectMs');
  const gattMs = checkTimeout(options.timeouts?.gattMs ?? DEFAULT_NOBLE_TIMEOUTS.gattMs, 'timeouts.gattMs');
  const withoutResponse = options.writeWithoutResponse ?? true;
  const { signal } = options;
  if (signal?.aborted === true) throw new AbortError('connect aborted', { cause: signal.reason });

  const ops = new GattOps(clock);
  const request = watchDisconnectRequest(peripheral);
  const offs: Array<() => void> = [request.restore];
  const removeListeners = (): void => {
    for (const off of offs.splice(0)) off();
    signal?.removeEventListener('abort', onAbort);
  };
  let link: ChunkLink | null = null;
  const onAbort = (): void => ops.failAll(new AbortError('connect aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  offs.push(
    listen(peripheral, 'disconnect', (reason: unknown) => {
      const info = closeInfoForDisconnect(reason, request.requested());
      if (link !== null) link.transportClosed(info);
      else ops.failAll(new TransportError(BleErrorCode.connectFailed, `the connection dropped during set-up: ${info.reason}`));
    }),
  );

  try {
    await ops.run<void>({ name: 'connect', timeoutMs: connectMs }, ({ resolve, reject }) => {
      const off = listen(peripheral, 'connect', (error?: unknown) => {
        if (error) reject(new TransportError(BleErrorCode.connectFailed, 'the connection to the vehicle failed', { cause: error }));
        else resolve();
      });
      peripheral.connect();
      return off;
    });
    const profile = await discoverProfile(peripheral, ops, gattMs, withoutResponse);
    // Listen from discovery on: a notification before the subscription is requested is counted
    // and dropped, never taken as the start of a message.
    let subscribing = false;
    let ignoredEarly = 0;
    offs.push(
      listen(profile.toPhone, 'data', (data: unknown, isNotification?: boolean) => {
        const bytes = toBytes(data);
        if (link === null) ignoredEarly += 1;
        else if (!subscribing || isNotification === false || bytes === null) link.ignoreChunk();
        else link.deliverChunk(bytes);
      }),
    );
    const info = await readInfo(profile.info, ops, gattMs);
    const chunkLink = new ChunkLink({
      clock,
      mtu: info.attMtu,
      maxSendBytes: info.maxMessageBytes,
      maxReceiveBytes: options.maxMessageBytes,
      maxQueuedMessages: options.maxQueuedMessages,
      interChunkTimeoutMs: options.interChunkTimeoutMs,
      writeChunk: (chunk) => writeChunk(profile.toVehicle, ops, gattMs, chunk, withoutResponse),
      disconnect: () => dropConnection(peripheral),
      onShutdown: (closeInfo) => {
        ops.failAll(linkClosedError(closeInfo.reason, true));
        removeListeners();
      },
    });
    for (; ignoredEarly > 0; ignoredEarly--) chunkLink.ignoreChunk();
    link = chunkLink;
    await ops.run<void>({ name: 'subscribe to toPhone', timeoutMs: gattMs }, ({ resolve, reject }) => {
      const off = listen(profile.toPhone, 'notify', (state: unknown) => {
        if (state === true) resolve();
        else reject(new TransportError(BleErrorCode.gattFailed, 'the vehicle did not enable notifications'));
      });
      subscribing = true;
      profile.toPhone.notify(true);
      return off;
    });
    signal?.removeEventListener('abort', onAbort);
    return Object.assign(chunkLink, { peripheral, info }) as ChunkLink & NobleLink;
  } catch (err) {
    if (link !== null) link.transportClosed({ by: 'error', reason: 'link set-up failed' });
    ops.failAll(new TransportError(BleErrorCode.connectFailed, 'link set-up failed'));
    removeListeners();
    dropConnection(peripheral);
    throw err instanceof DigitalKeyError ? err : new TransportError(BleErrorCode.connectFailed, 'link set-up failed', { cause: err });
  }
}

/** Discovers the service and its characteristics and checks their properties. */
async function discoverProfile(peripheral: NoblePeripheralLike, ops: GattOps, gattMs: number, withoutResponse: boolean): Promise<Profile> {
  const serviceUuid = compactUuid(DK_SERVICE_UUID);
  const services = await ops.run<NobleServiceLike[]>({ name: 'discover services', timeoutMs: gattMs }, ({ resolve }) => {
    const off = listen(peripheral, 'servicesDiscover', (found: NobleServiceLike[]) => resolve(Array.isArray(found) ? found : []));
    peripheral.discoverServices([serviceUuid]);
    return off;
  });
  const service = services.find((s) => s?.uuid === serviceUuid);
  if (service === undefined) throw new ProtocolError(BleErrorCode.profileMismatch, 'the peripheral does not offer the digital-key service');
  const wanted = [DK_TO_VEHICLE_UUID, DK_TO_PHONE_UUID, DK_INFO_UUID].map(compactUuid);
  const found = await ops.run<NobleCharacteristicLike[]>({ name: 'discover characteristics', timeoutMs: gattMs }, ({ resolve }) => {
    const off = listen(service, 'characteristicsDiscover', (cs: NobleCharacteristicLike[]) => resolve(Array.isArray(cs) ? cs : []));
    service.discoverCharacteristics(wanted);
    return off;
  });
  const pick = (uuid: string, property: string): NobleCharacteristicLike => {
    const c = found.find((x) => x?.uuid === compactUuid(uuid));
    if (c === undefined || !Array.isArray(c.properties) || !c.properties.includes(property)) {
      throw new ProtocolError(BleErrorCode.profileMismatch, `the digital-key service lacks characteristic ${uuid} with property ${property}`);
    }
    return c;
  };
  return {
    toVehicle: pick(DK_TO_VEHICLE_UUID, withoutResponse ? 'writeWithoutResponse' : 'write'),
    toPhone: pick(DK_TO_PHONE_UUID, 'notify'),
    info: pick(DK_INFO_UUID, 'read'),
  };
}

/** Reads and checks the info characteristic. */
async function readInfo(characteristic: NobleCharacteristicLike, ops: GattOps, gattMs: number): Promise<BleInfo> {
  const raw = await ops.run<unknown>({ name: 'read info', timeoutMs: gattMs }, ({ resolve }) => {
    const off = listen(characteristic, 'data', (data: unknown, isNotification?: boolean) => {
      if (isNotification !== true) resolve(data);
    });
    characteristic.read();
    return off;
  });
  const bytes = toBytes(raw);
  if (bytes === null) throw new ProtocolError(BleErrorCode.badInfo, 'the vehicle sent no info value');
  const info = decodeBleInfo(bytes);
  if (!SUPPORTED_VERSIONS.some((v) => info.versions.includes(v))) {
    throw new ProtocolError(BleErrorCode.versionMismatch, `the vehicle speaks protocol versions [${info.versions.join(', ')}], this phone [${SUPPORTED_VERSIONS.join(', ')}]`);
  }
  return info;
}

/**
 * One chunk as one GATT write. noble's Characteristic.write reports success with a 'write'
 * event and reports nothing on an ATT error, hence the deadline.
 */
function writeChunk(characteristic: NobleCharacteristicLike, ops: GattOps, gattMs: number, chunk: Uint8Array, withoutResponse: boolean): Promise<void> {
  return ops.run<void>({ name: 'write toVehicle', timeoutMs: gattMs, mayHaveSucceeded: true }, ({ resolve }) => {
    const off = listen(characteristic, 'write', () => resolve());
    // noble's HCI binding reads the value with Buffer methods.
    characteristic.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), withoutResponse);
    return off;
  });
}

/** Disconnects if connected (or cancels a pending connection); never throws. */
function dropConnection(peripheral: NoblePeripheralLike): void {
  try {
    if (peripheral.state === 'connected') peripheral.disconnect();
    else if (peripheral.state === 'connecting') peripheral.cancelConnect?.();
  } catch {
    // The stack is gone already: nothing left to tear down.
  }
}

// ---------------------------------------------------------------------------------------------
// Scan, connect and retry in one call.
// ---------------------------------------------------------------------------------------------

/** Options of {@link openVehicleLink}. */
export interface OpenVehicleLinkOptions extends ScanOptions, Omit<NobleLinkOptions, 'clock' | 'signal'> {
  /** Retry policy for scan + connect (default 3 attempts; never retries a wrong profile). */
  retry?: Omit<BackoffOptions, 'clock' | 'signal'>;
}

/**
 * Scans for one of `vehicles`, connects and returns the link, retrying retryable failures (a
 * connection that dropped during set-up, a GATT timeout, a scan that saw nothing) with
 * exponential backoff.
 */
export async function openVehicleLink(options: OpenVehicleLinkOptions): Promise<{ link: NobleLink; vehicle: PairedVehicle; rssi: number | null }> {
  const { clock = systemClock, signal } = options;
  const noble = options.noble ?? loadNoble();
  return withBackoff(
    async () => {
      const found = await scanForVehicle({ ...options, noble });
      const link = await connectNobleLink(found.peripheral, { ...options, clock, signal });
      return { link, vehicle: found.vehicle, rssi: found.rssi };
    },
    { attempts: 3, ...options.retry, clock, signal },
  );
}
