/**
 * `ble-digital-key/ble/noble`: the phone (GATT central) side on @abandonware/noble, for Node
 * phones-in-a-box, test rigs and desktop tools (docs/BLE.md §Phone side). Node-only.
 *
 * A thin mapping of noble's event API onto the platform-neutral layer (`ble-digital-key/ble`):
 * - {@link loadNoble} loads noble lazily: its main entry opens an HCI socket at load time and
 *   throws on machines without Bluetooth, so nothing here imports it at module load.
 * - {@link scanForVehicle} / {@link scanForPairing} feed noble's `discover` reports to the
 *   shared advertisement matching (advert.ts) inside the shared scan runner (scan.ts).
 * - {@link connectNobleLink} connects and discovers the profile, then runs the shared GATT client
 *   ({@link openGattLink}: info read, version and chunk-size checks, subscription, framing,
 *   deadlines, disconnect mapping) over a {@link GattPort} made of noble's peripheral and
 *   characteristic events.
 *
 * Every listener added to noble's objects is removed when its operation or the link ends.
 */

import type { CryptoProvider } from '../crypto/provider.js';
import { AbortError, DigitalKeyError, ProtocolError, TimeoutError, TransportError, UsageError } from '../errors.js';
import type { PairedVehicle } from '../phone/store.js';
import { systemClock, type Clock } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';
import { isPairingCandidate, vehicleOfAdvertisement, type ScannedAdvertisement } from './advert.js';
import { withBackoff, type BackoffOptions } from './backoff.js';
import { BleErrorCode } from './codes.js';
import { checkTimeoutMs, DEFAULT_GATT_TIMEOUT_MS, openGattLink, type GattLink, type GattLinkOptions, type GattPort } from './gatt-client.js';
import { GattOps, listen, type Emitter } from './gatt-op.js';
import { requireBle, waitPoweredOn } from './load.js';
import { DEFAULT_COMPANY_ID, DEFAULT_PSEUDONYM_ROTATION_MS, DK_INFO_UUID, DK_SERVICE_UUID, DK_TO_PHONE_UUID, DK_TO_VEHICLE_UUID, compactUuid } from './profile.js';
import { PseudonymResolver } from './pseudonym.js';
import { runScan } from './scan.js';

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

/** A noble report in the shape the shared matching reads; null if the peripheral is malformed. */
function advertisementOf(peripheral: NoblePeripheralLike): ScannedAdvertisement | null {
  try {
    const ad = peripheral.advertisement;
    return { serviceUuids: ad?.serviceUuids, manufacturerData: ad?.manufacturerData, connectable: peripheral.connectable };
  } catch {
    // A getter that throws: attacker-shaped data is simply not a match.
    return null;
  }
}

/**
 * Starts noble scanning for the digital-key service with `onReport` for each report, failing
 * the scan if the adapter leaves `poweredOn`; returns the scan's stop (listeners removed).
 */
function startNobleScan(noble: NobleLike, onReport: (peripheral: NoblePeripheralLike) => void, reject: (err: Error) => void): () => void {
  const offs = [
    listen(noble, 'discover', onReport),
    listen(noble, 'stateChange', (state: string) => {
      if (state !== 'poweredOn') reject(new TransportError(BleErrorCode.adapterState, `the Bluetooth adapter left the poweredOn state (now "${state}") during the scan`));
    }),
  ];
  const stop = (): void => {
    for (const off of offs) off();
    try {
      noble.stopScanning();
    } catch {
      // The adapter went away: nothing is scanning any more.
    }
  };
  try {
    // allowDuplicates: every report is looked at, so a pseudonym that rotates mid-scan is seen.
    noble.startScanning([compactUuid(DK_SERVICE_UUID)], true);
  } catch (err) {
    reject(new TransportError(BleErrorCode.adapterState, 'the Bluetooth adapter refused to scan', { cause: err }));
  }
  return stop;
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
  const timeoutMs = checkTimeoutMs(options.timeoutMs, 'timeoutMs');
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
  return runScan<ScanResult>({
    clock,
    timeoutMs: Math.max(1, timeoutMs - (clock.now() - startMs)),
    signal,
    atDeadline: () => {
      throw new TimeoutError(BleErrorCode.scanTimeout, `no paired vehicle was seen within ${timeoutMs} ms: is the car in range and its key module running?`);
    },
    start: ({ resolve, reject }) =>
      startNobleScan(
        noble,
        (peripheral) => {
          const ad = advertisementOf(peripheral);
          const vehicle = ad === null ? null : vehicleOfAdvertisement(ad, resolver, clock.now(), companyId);
          if (vehicle !== null) resolve({ peripheral, vehicle, rssi: advertisedRssi(peripheral.rssi) });
        },
        reject,
      ),
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
 * ones already paired), nearest first by RSSI (cars whose RSSI the controller did not measure
 * last). The app tries them in that order with `phone.pair(link, code)`: the pairing code
 * authenticates the car (SPAKE2+), and a car without an open window, or with another code,
 * learns nothing and refuses (docs/BLE.md §Pairing).
 *
 * @throws TransportError `BLE_UNAVAILABLE` / `BLE_ADAPTER_STATE`, AbortError.
 */
export async function scanForPairing(options: PairingScanOptions): Promise<PairingCandidate[]> {
  const { clock = systemClock, companyId = DEFAULT_COMPANY_ID, signal, known } = options;
  const listenMs = checkTimeoutMs(options.listenMs, 'listenMs');
  const resolver = known === undefined ? null : new PseudonymResolver(known.crypto, known.vehicles, known.rotationMs);
  const noble = options.noble ?? loadNoble();
  await waitPoweredOn('@abandonware/noble', noble, clock, listenMs, signal);
  const heard = new Map<string, PairingCandidate>();
  const onReport = (peripheral: NoblePeripheralLike): void => {
    const ad = advertisementOf(peripheral);
    if (ad === null || !isPairingCandidate(ad, resolver, clock.now(), companyId)) return;
    const previous = heard.get(peripheral.id);
    const rssi = advertisedRssi(peripheral.rssi);
    if (previous === undefined || (rssi !== null && rssi > (previous.rssi ?? -Infinity))) heard.set(peripheral.id, { peripheral, rssi: rssi ?? previous?.rssi ?? null });
  };
  return runScan<PairingCandidate[]>({
    clock,
    timeoutMs: listenMs,
    signal,
    atDeadline: () => [...heard.values()].sort(byProximity),
    start: ({ reject }) => startNobleScan(noble, onReport, reject),
  });
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
export const DEFAULT_NOBLE_TIMEOUTS: Readonly<Required<NobleTimeouts>> = Object.freeze({ connectMs: 10_000, gattMs: DEFAULT_GATT_TIMEOUT_MS });

/** Options of {@link connectNobleLink}. */
export interface NobleLinkOptions extends Omit<GattLinkOptions, 'gattTimeoutMs' | 'writeWithoutResponse'> {
  timeouts?: NobleTimeouts;
  /**
   * Write chunks without response (default true): faster, and flow-controlled by the stack.
   * With false every chunk waits for the vehicle's write response (an ATT error then fails the
   * link); use it with stacks that drop writes without response when their buffer is full.
   */
  writeWithoutResponse?: boolean;
}

/** A Link over a noble connection. */
export interface NobleLink extends GattLink {
  /** The connected peripheral. */
  readonly peripheral: NoblePeripheralLike;
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
 * Connects to `peripheral` and returns a Link over the digital-key profile: connect and discover
 * the service and its three characteristics here, then the shared GATT client reads the info
 * (the link uses the ATT MTU the vehicle reports, so both ends cut chunks alike even where noble
 * hides the MTU), subscribes to notifications and hands out the link. Notifications that arrive
 * before the subscription was requested are ignored (counted in `stats.ignoredChunks`).
 *
 * On any failure the connection is dropped, every listener removed, and the error is typed:
 * TransportError `BLE_CONNECT_FAILED` / `BLE_GATT_FAILED` / `BLE_MTU_MISMATCH`, TimeoutError
 * `BLE_GATT_TIMEOUT`, ProtocolError `BLE_PROFILE_MISMATCH` / `BLE_BAD_INFO` /
 * `BLE_VERSION_MISMATCH`, AbortError.
 */
export async function connectNobleLink(peripheral: NoblePeripheralLike, options: NobleLinkOptions = {}): Promise<NobleLink> {
  const clock = options.clock ?? systemClock;
  const connectMs = checkTimeoutMs(options.timeouts?.connectMs ?? DEFAULT_NOBLE_TIMEOUTS.connectMs, 'timeouts.connectMs');
  const gattMs = checkTimeoutMs(options.timeouts?.gattMs ?? DEFAULT_NOBLE_TIMEOUTS.gattMs, 'timeouts.gattMs');
  const withoutResponse = options.writeWithoutResponse ?? true;
  // The watch starts before the connection, so every disconnect this stack asks for is known.
  const request = watchDisconnectRequest(peripheral);
  let profile: Profile;
  try {
    profile = await connectAndDiscover(peripheral, new GattOps(clock), { connectMs, gattMs, withoutResponse, signal: options.signal });
  } catch (err) {
    request.restore();
    dropConnection(peripheral);
    throw err instanceof DigitalKeyError ? err : new TransportError(BleErrorCode.connectFailed, 'link set-up failed', { cause: err });
  }
  const link = await openGattLink(noblePort(peripheral, profile, request), {
    ...options,
    clock,
    gattTimeoutMs: gattMs,
    writeWithoutResponse: withoutResponse,
  });
  return Object.assign(link, { peripheral }) as GattLink & NobleLink;
}

/** What {@link connectAndDiscover} needs besides the peripheral. */
interface SetupOptions {
  connectMs: number;
  gattMs: number;
  withoutResponse: boolean;
  signal: AbortSignal | undefined;
}

/**
 * Connects and discovers the profile, each step under a deadline; a disconnect or an abort
 * rejects whatever step waits. Removes its listeners however it ends; the caller drops the
 * connection on failure.
 */
async function connectAndDiscover(peripheral: NoblePeripheralLike, ops: GattOps, options: SetupOptions): Promise<Profile> {
  const { signal } = options;
  if (signal?.aborted === true) throw new AbortError('connect aborted', { cause: signal.reason });
  const onAbort = (): void => ops.failAll(new AbortError('connect aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const offLost = listen(peripheral, 'disconnect', (reason: unknown) => {
    ops.failAll(new TransportError(BleErrorCode.connectFailed, `the connection dropped during set-up: ${closeInfoForDisconnect(reason).reason}`));
  });
  try {
    await ops.run<void>({ name: 'connect', timeoutMs: options.connectMs }, ({ resolve, reject }) => {
      const off = listen(peripheral, 'connect', (error?: unknown) => {
        if (error) reject(new TransportError(BleErrorCode.connectFailed, 'the connection to the vehicle failed', { cause: error }));
        else resolve();
      });
      peripheral.connect();
      return off;
    });
    return await discoverProfile(peripheral, ops, options.gattMs, options.withoutResponse);
  } finally {
    offLost();
    signal?.removeEventListener('abort', onAbort);
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

/**
 * The largest value one write or notification carries on this connection: `mtu − 3` where the
 * binding reports the ATT MTU (Linux HCI, after its exchange, which runs before discovery
 * answers), else null (macOS). noble HCI stores the server's MTU, never less than the one in
 * use, so this bound never refuses a vehicle wrongly.
 */
function maxValueBytesOf(peripheral: NoblePeripheralLike): number | null {
  const mtu = peripheral.mtu;
  return typeof mtu === 'number' && Number.isSafeInteger(mtu) && mtu >= 23 ? mtu - 3 : null;
}

/**
 * The {@link GattPort} of one noble connection. noble answers each request with an event (`data`
 * for a read, `write`, `notify`) and reports nothing on an ATT error, so each request listens
 * for its answer and the shared client bounds it with a deadline; `unsubscribe` removes every
 * listener still waiting and puts the peripheral's `state` property back.
 */
function noblePort(peripheral: NoblePeripheralLike, p: Profile, request: { requested(): boolean; restore(): void }): GattPort {
  const waiting = new Set<() => void>();
  /** Listens for one answer; the listener is removed on the answer or by `unsubscribe`. */
  const answer = <A extends unknown[]>(emitter: Emitter, event: string, accept: (...args: A) => boolean): Promise<A> =>
    new Promise<A>((resolve) => {
      const off = listen(emitter, event, (...args: A) => {
        if (!accept(...args)) return;
        done();
        resolve(args);
      });
      const done = (): void => {
        off();
        waiting.delete(done);
      };
      waiting.add(done);
    });
  let onValue: ((value: Uint8Array | null) => void) | null = null;
  const ignored = new Set<() => void>();
  // From discovery on: a notification before the subscription is asked for is counted and
  // dropped, never taken as the start of a message.
  const offData = listen(p.toPhone, 'data', (data: unknown, isNotification?: boolean) => {
    if (onValue !== null) onValue(isNotification === false ? null : toBytes(data));
    else for (const l of [...ignored]) l();
  });
  return {
    get maxValueBytes() {
      return maxValueBytesOf(peripheral);
    },
    async readInfo() {
      const answered = answer<[unknown, boolean?]>(p.info, 'data', (_data, isNotification) => isNotification !== true);
      p.info.read();
      const bytes = toBytes((await answered)[0]);
      if (bytes === null) throw new ProtocolError(BleErrorCode.badInfo, 'the vehicle sent no info value');
      return bytes;
    },
    async write(chunk, withResponse) {
      // noble's Characteristic.write reports success with a 'write' event, nothing on an ATT error.
      const written = answer(p.toVehicle, 'write', () => true);
      // noble's HCI binding reads the value with Buffer methods.
      p.toVehicle.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), !withResponse);
      await written;
    },
    async subscribe(listener) {
      const enabled = answer<[unknown]>(p.toPhone, 'notify', () => true);
      onValue = listener;
      p.toPhone.notify(true);
      const [state] = await enabled;
      if (state !== true) throw new TransportError(BleErrorCode.gattFailed, 'the vehicle did not enable notifications');
    },
    unsubscribe() {
      // No notify(false): the link is over, and the connection is dropped next (or already gone).
      onValue = null;
      offData();
      ignored.clear();
      for (const done of [...waiting]) done();
      request.restore();
    },
    onIgnored(listener) {
      ignored.add(listener);
      return () => ignored.delete(listener);
    },
    onDisconnect(listener) {
      return listen(peripheral, 'disconnect', (reason: unknown) => listener(closeInfoForDisconnect(reason, request.requested())));
    },
    disconnect() {
      dropConnection(peripheral);
    },
  };
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
