/**
 * `ble-digital-key/ble/bleno`: the vehicle (GATT peripheral) side on @abandonware/bleno, for a
 * key module running Node on Linux (docs/BLE.md §Vehicle side). Node-only.
 *
 * {@link startBlenoVehicle} publishes the digital-key service, advertises the service UUID and
 * the rotating pseudonym (re-advertised at every rotation and after every disconnect), turns each
 * central's subscription into a {@link Link} and hands it to `vehicle.serve`. The lower-level
 * {@link startBlenoPeripheral} hands the Link to any callback (the conformance tests use it).
 *
 * One central at a time: bleno's GATT callbacks do not say which central wrote, and its HCI
 * binding tracks one connection handle, so a second connection replaces the first (which is
 * closed). bleno is loaded lazily: its main entry opens an HCI socket at load time.
 */

import type { CryptoProvider } from '../crypto/provider.js';
import { TimeoutError, TransportError, UsageError } from '../errors.js';
import { DEFAULT_ATT_MTU, MAX_ATT_MTU, MAX_MESSAGE_BYTES } from '../constants.js';
import { SUPPORTED_VERSIONS } from '../protocol/constants.js';
import { systemClock, type Clock, type TimerHandle } from '../transport/clock.js';
import type { Vehicle } from '../vehicle/vehicle.js';
import { ChunkLink, type BleLink } from './chunk-link.js';
import { BleErrorCode } from './codes.js';
import { listen, type Emitter } from './gatt-op.js';
import { requireBle, waitPoweredOn, type StatefulAdapter } from './load.js';
import {
  DEFAULT_COMPANY_ID,
  DEFAULT_PSEUDONYM_ROTATION_MS,
  DK_INFO_UUID,
  DK_PROPERTIES,
  DK_SERVICE_UUID,
  DK_TO_PHONE_UUID,
  DK_TO_VEHICLE_UUID,
  MAX_LINK_MTU,
  encodeAdvertisingData,
  encodeBleInfo,
} from './profile.js';
import { checkRotationMs, currentPseudonym, nextRotationAtMs } from './pseudonym.js';

export { BleErrorCode } from './codes.js';
export type { BleLink, BleLinkStats } from './chunk-link.js';
export * from './profile.js';
export { computePseudonym, currentPseudonym, nextRotationAtMs, pseudonymSlot } from './pseudonym.js';
export { explainLoadFailure } from './load.js';

// ---------------------------------------------------------------------------------------------
// The parts of bleno's object model this adapter uses (bleno ships no types).
// ---------------------------------------------------------------------------------------------

/** bleno's ATT result codes, as its Characteristic class exposes them. */
export interface BlenoResultCodes {
  readonly RESULT_SUCCESS: number;
  readonly RESULT_INVALID_OFFSET: number;
  readonly RESULT_ATTR_NOT_LONG: number;
  readonly RESULT_INVALID_ATTRIBUTE_LENGTH: number;
  readonly RESULT_UNLIKELY_ERROR: number;
}

/** Options of bleno's Characteristic constructor that this adapter passes. */
export interface BlenoCharacteristicOptions {
  uuid: string;
  properties: string[];
  onReadRequest?(offset: number, callback: (result: number, data?: Uint8Array) => void): void;
  onWriteRequest?(data: Uint8Array, offset: number, withoutResponse: boolean, callback: (result: number) => void): void;
  onSubscribe?(maxValueSize: number, updateValueCallback: (data: Uint8Array) => void): void;
  onUnsubscribe?(): void;
}

/** bleno, or an object shaped like it (tests inject a fake radio around bleno's real classes). */
export interface BlenoLike extends StatefulAdapter, Emitter {
  readonly PrimaryService: new (options: { uuid: string; characteristics: unknown[] }) => unknown;
  readonly Characteristic: (new (options: BlenoCharacteristicOptions) => unknown) & BlenoResultCodes;
  setServices(services: unknown[]): void;
  startAdvertisingWithEIRData(advertisementData: Uint8Array, scanData?: Uint8Array): void;
  stopAdvertising(): void;
  /** Disconnects the connected central (bleno tracks one). */
  disconnect(): void;
  updateRssi(): void;
}

/** Name bleno puts in the Generic Access service when BLENO_DEVICE_NAME is unset: the hostname otherwise. */
export const GENERIC_DEVICE_NAME = 'DK';

/**
 * Loads bleno's singleton. Before loading, sets BLENO_DEVICE_NAME to a generic name unless the
 * integrator chose one: bleno otherwise exposes the machine's hostname as the GATT device name,
 * a static identifier readable by anyone who connects (docs/BLE.md §Privacy limits).
 *
 * @throws TransportError `BLE_UNAVAILABLE` with a one-sentence fix when bleno is not installed,
 *   its native part is not built, or the machine has no Bluetooth (EAFNOSUPPORT).
 */
export function loadBleno(): BlenoLike {
  if (process.platform === 'darwin') {
    // bleno's macOS bindings have no startAdvertisingWithEIRData: no manufacturer data, no pseudonym.
    throw new TransportError(
      BleErrorCode.unavailable,
      'The vehicle side needs Linux: bleno on macOS cannot advertise the rotating pseudonym, so run the key module on Linux with BlueZ (macOS can run the phone side).',
      { retryable: false },
    );
  }
  if (process.env.BLENO_DEVICE_NAME === undefined) process.env.BLENO_DEVICE_NAME = GENERIC_DEVICE_NAME;
  return requireBle('@abandonware/bleno') as BlenoLike;
}

// ---------------------------------------------------------------------------------------------
// The peripheral.
// ---------------------------------------------------------------------------------------------

/** Options of {@link startBlenoPeripheral}. */
export interface BlenoPeripheralOptions {
  /** bleno or a bleno-like object (default {@link loadBleno}()). */
  bleno?: BlenoLike;
  crypto: CryptoProvider;
  /** The vehicle's advertising key, or a function returning it (read at every rotation). */
  advertisingKey: Uint8Array | (() => Uint8Array);
  /** Unix-time clock for pseudonym slots and timers (default systemClock). */
  clock?: Clock;
  /** Pseudonym rotation period, in ms (default 5 min). */
  rotationMs?: number;
  /** Company identifier in the manufacturer data (default 0xFFFF, see docs/BLE.md). */
  companyId?: number;
  /** Largest message accepted from a phone, in bytes (default MAX_MESSAGE_BYTES). */
  maxMessageBytes?: number;
  /** Messages kept while nobody receives (default MAX_QUEUED_MESSAGES). */
  maxQueuedMessages?: number;
  /** Longest gap between two chunks of a message, in ms (default INTER_CHUNK_TIMEOUT_MS). */
  interChunkTimeoutMs?: number;
  /** Time allowed for the adapter to power on, the service to register and advertising to start, in ms (default 10 000). */
  readyTimeoutMs?: number;
  /** Deadline of an RSSI read, in ms (default 2 000). */
  rssiTimeoutMs?: number;
  /**
   * After the vehicle closes a link cleanly, how long to wait for the phone to disconnect before
   * dropping the connection, in ms (default 1 000). bleno cannot tell when queued notifications
   * have left the controller, and an immediate disconnect would lose the last message (the
   * phone's result); the central, which reads it, normally disconnects first.
   */
  closeLingerMs?: number;
  /** A central subscribed: the link to serve. */
  onLink(link: BleLink, central: BlenoCentral): void;
  /** Failures after start-up (advertising refused, adapter off); never thrown. */
  onError?(error: Error): void;
}

/** A connected central as bleno reports it. */
export interface BlenoCentral {
  /** Its Bluetooth address (a resolvable private address for phones: it rotates). */
  readonly address: string;
  /** Reads the connection's RSSI in dBm (bleno's updateRssi), with a deadline. */
  rssi(): Promise<number>;
}

/** What {@link startBlenoPeripheral} returns. */
export interface BlenoPeripheralHandle {
  /** The central connected now, or null. */
  readonly central: BlenoCentral | null;
  /** The open link of the central connected now, once it subscribed; null otherwise. */
  readonly link: BleLink | null;
  /** The pseudonym advertised now (a copy). */
  readonly pseudonym: Uint8Array;
  /** Stops advertising, closes the current link, removes every listener and timer. Idempotent. */
  stop(): Promise<void>;
}

/** One connected central. */
interface Session {
  readonly central: BlenoCentral;
  /** ATT MTU from bleno's 'mtuChange' (23 until an exchange happens). */
  mtu: number;
  /** The MTU the info characteristic announced to this central, which the link must use. */
  announcedMtu: number | null;
  link: ChunkLink | null;
  /** Pending forced disconnect after a clean local close. */
  linger: TimerHandle | undefined;
}

/** Checks an optional positive number. */
function positive(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(BleErrorCode.badOptions, `"${name}" must be a positive number`);
  }
  return value;
}

/** Wraps bytes as the Buffer bleno's HCI code expects (it calls Buffer methods). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Publishes the digital-key service on `bleno` and advertises. Resolves once the adapter is on,
 * the service registered and advertising started.
 *
 * @throws TransportError `BLE_UNAVAILABLE` / `BLE_ADAPTER_STATE`, TimeoutError `BLE_GATT_TIMEOUT`
 *   if advertising does not start, UsageError on a bad option.
 */
export async function startBlenoPeripheral(options: BlenoPeripheralOptions): Promise<BlenoPeripheralHandle> {
  const { crypto, clock = systemClock, rotationMs = DEFAULT_PSEUDONYM_ROTATION_MS, companyId = DEFAULT_COMPANY_ID, onLink } = options;
  checkRotationMs(rotationMs);
  if (typeof onLink !== 'function') throw new UsageError(BleErrorCode.badOptions, '"onLink" must be a function');
  const advertisingKey = typeof options.advertisingKey === 'function' ? options.advertisingKey : () => options.advertisingKey as Uint8Array;
  const maxMessageBytes = positive(options.maxMessageBytes, 'maxMessageBytes', MAX_MESSAGE_BYTES);
  /** The info value for a central at `mtu` (checked once below, so it cannot throw in a callback). */
  const infoValue = (mtu: number): Uint8Array => encodeBleInfo({ versions: [...SUPPORTED_VERSIONS], maxMessageBytes, attMtu: mtu });
  infoValue(MAX_ATT_MTU);
  const readyTimeoutMs = positive(options.readyTimeoutMs, 'readyTimeoutMs', 10_000);
  const rssiTimeoutMs = positive(options.rssiTimeoutMs, 'rssiTimeoutMs', 2_000);
  const closeLingerMs = positive(options.closeLingerMs, 'closeLingerMs', 1_000);
  // Fail on a bad key or company id now, not at the first rotation.
  let pseudonym = currentPseudonym(crypto, advertisingKey(), clock.now(), rotationMs);
  encodeAdvertisingData(pseudonym, companyId);

  const bleno = options.bleno ?? loadBleno();
  await waitPoweredOn('@abandonware/bleno', bleno, clock, readyTimeoutMs);

  const report = (error: Error): void => {
    try {
      options.onError?.(error);
    } catch {
      // An application's error handler must not break the peripheral.
    }
  };
  const offs: Array<() => void> = [];
  let session: Session | null = null;
  let rotationTimer: TimerHandle | undefined;
  let stopped = false;

  /** Ends the current session's link (if any) and forgets the session. */
  const endSession = (info: { by: 'remote' | 'error'; reason: string }): void => {
    const s = session;
    session = null;
    if (s?.linger !== undefined) clock.clearTimeout(s.linger);
    s?.link?.transportClosed(info);
  };
  /** Drops the connection of `s` if it is still the current one: at once, or after the linger. */
  const dropCentral = (s: Session, linger: boolean): void => {
    if (session !== s || s.linger !== undefined) return;
    if (!linger) return bleno.disconnect();
    s.linger = clock.setTimeout(() => {
      s.linger = undefined;
      if (session === s) bleno.disconnect();
    }, closeLingerMs);
  };

  const readRssi = (): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        off();
        reject(new TimeoutError(BleErrorCode.gattTimeout, `RSSI read: no answer within ${rssiTimeoutMs} ms`));
      }, rssiTimeoutMs);
      const off = listen(bleno, 'rssiUpdate', (rssi: number) => {
        clock.clearTimeout(timer);
        off();
        resolve(rssi);
      });
      try {
        bleno.updateRssi();
      } catch (err) {
        clock.clearTimeout(timer);
        off();
        reject(new TransportError(BleErrorCode.gattFailed, 'RSSI read refused by the BLE stack', { cause: err }));
      }
    });

  const newSession = (address: string): Session => ({
    central: Object.freeze({ address, rssi: readRssi }),
    mtu: DEFAULT_ATT_MTU,
    announcedMtu: null,
    link: null,
    linger: undefined,
  });

  const Characteristic = bleno.Characteristic;
  const info = new Characteristic({
    uuid: DK_INFO_UUID,
    properties: [...DK_PROPERTIES.info],
    onReadRequest(offset, callback) {
      // Announced capped: at MTU 517 a notification could carry 514 bytes, over the 512 a GATT
      // value may have (Web Bluetooth refuses them); both ends cut chunks at the announced MTU.
      const mtu = Math.min(session?.mtu ?? DEFAULT_ATT_MTU, MAX_LINK_MTU);
      if (session !== null && session.link === null) session.announcedMtu = mtu;
      const value = infoValue(mtu);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > value.length) callback(Characteristic.RESULT_INVALID_OFFSET);
      else callback(Characteristic.RESULT_SUCCESS, asBuffer(value.subarray(offset)));
    },
  });
  const toVehicle = new Characteristic({
    uuid: DK_TO_VEHICLE_UUID,
    properties: [...DK_PROPERTIES.toVehicle],
    onWriteRequest(data, offset, _withoutResponse, callback) {
      const link = session?.link ?? null;
      if (link === null || link.isClosed || !(data instanceof Uint8Array)) {
        callback(Characteristic.RESULT_UNLIKELY_ERROR);
        return;
      }
      if (offset !== 0) {
        // Chunks always fit one write; a prepared (long) write is not part of the profile.
        link.ignoreChunk();
        callback(Characteristic.RESULT_ATTR_NOT_LONG);
        return;
      }
      link.deliverChunk(data);
      callback(Characteristic.RESULT_SUCCESS);
    },
  });
  const toPhone = new Characteristic({
    uuid: DK_TO_PHONE_UUID,
    properties: [...DK_PROPERTIES.toPhone],
    onSubscribe(maxValueSize, updateValueCallback) {
      if (stopped) return;
      const s = session ?? (session = newSession('unknown'));
      // A second subscription without an unsubscribe: the old link ends, the connection stays.
      s.link?.transportClosed({ by: 'remote', reason: 'the phone subscribed again' });
      const mtu = s.announcedMtu ?? Math.min(maxValueSize + 3, MAX_LINK_MTU);
      if (!Number.isSafeInteger(mtu) || mtu < DEFAULT_ATT_MTU || mtu > MAX_ATT_MTU || maxValueSize + 3 < mtu) {
        report(new TransportError(BleErrorCode.mtuMismatch, `the stack allows ${maxValueSize}-byte notifications, the phone was told ${mtu - 3}`));
        bleno.disconnect();
        return;
      }
      const link = new ChunkLink({
        clock,
        mtu,
        maxReceiveBytes: maxMessageBytes,
        maxQueuedMessages: options.maxQueuedMessages,
        interChunkTimeoutMs: options.interChunkTimeoutMs,
        writeChunk: (chunk) => {
          try {
            updateValueCallback(asBuffer(chunk));
            return Promise.resolve();
          } catch (err) {
            return Promise.reject(new TransportError(BleErrorCode.gattFailed, 'notification refused by the BLE stack', { cause: err, mayHaveSucceeded: true }));
          }
        },
        disconnect: (closeInfo) => dropCentral(s, closeInfo.by === 'local'),
      });
      s.link = link;
      try {
        onLink(link, s.central);
      } catch (err) {
        // Never throw into bleno's HCI code.
        link.fail('the application refused the link');
        report(new TransportError(BleErrorCode.gattFailed, 'onLink threw', { cause: err }));
      }
    },
    onUnsubscribe() {
      session?.link?.transportClosed({ by: 'remote', reason: 'the phone unsubscribed' });
    },
  });
  const service = new bleno.PrimaryService({ uuid: DK_SERVICE_UUID, characteristics: [info, toVehicle, toPhone] });

  /**
   * What the controller is told to do. bleno re-sends *LE Set Advertise Enable* whenever asked to
   * advertise, and a controller answers 0x0C Command Disallowed to enabling while enabled (bleno
   * issue 136), and older ones to disabling while disabled: so new data always goes
   * stop → 'advertisingStop' → start while advertising, and nothing is sent while a central is
   * connected (the controller is not advertising then). After a disconnect bleno restarts
   * advertising by itself with the data it has, unless a stop cleared its flag.
   */
  let adState: 'advertising' | 'stopping' | 'stopped' = 'stopped';
  /** The pseudonym rotated while a central was connected: swap the data once bleno restarted. */
  let staleAdvertisement = false;
  /** Advertises the current pseudonym; errors go to onError (or are thrown, at start-up). */
  const advertise = (throwOnError = false): void => {
    try {
      pseudonym = currentPseudonym(crypto, advertisingKey(), clock.now(), rotationMs);
      adState = 'advertising';
      bleno.startAdvertisingWithEIRData(asBuffer(encodeAdvertisingData(pseudonym, companyId)), Buffer.alloc(0));
    } catch (err) {
      const error = new TransportError(BleErrorCode.adapterState, 'advertising could not be (re)started', { cause: err });
      if (throwOnError) throw error;
      report(error);
    }
  };
  /** Puts a new pseudonym on the air: stop first; 'advertisingStop' (or the disconnect) starts again. */
  const readvertise = (): void => {
    pseudonym = currentPseudonym(crypto, advertisingKey(), clock.now(), rotationMs);
    if (session !== null) {
      staleAdvertisement = true;
      return;
    }
    if (adState !== 'advertising') return;
    adState = 'stopping';
    try {
      bleno.stopAdvertising();
    } catch (err) {
      adState = 'stopped';
      report(new TransportError(BleErrorCode.adapterState, 'advertising could not be stopped to rotate the pseudonym', { cause: err }));
    }
  };
  /** Re-advertises at every slot boundary so the pseudonym rotates on time. */
  const armRotation = (): void => {
    if (stopped) return;
    const delayMs = Math.max(0, nextRotationAtMs(clock.now(), rotationMs) - clock.now());
    rotationTimer = clock.setTimeout(() => {
      rotationTimer = undefined;
      readvertise();
      armRotation();
    }, delayMs);
  };

  offs.push(
    listen(bleno, 'accept', (address: unknown) => {
      endSession({ by: 'error', reason: 'another central connected' });
      session = newSession(String(address));
    }),
    listen(bleno, 'mtuChange', (mtu: unknown) => {
      // ATT allows one MTU exchange per connection (Core v5.4 Vol 3 Part F §3.4.2.1): a late one cannot change a running link.
      if (session !== null && session.link === null && typeof mtu === 'number' && Number.isSafeInteger(mtu)) {
        session.mtu = Math.min(MAX_ATT_MTU, Math.max(DEFAULT_ATT_MTU, mtu));
      }
    }),
    listen(bleno, 'disconnect', (address: unknown) => {
      if (session !== null && (session.central.address === String(address) || session.central.address === 'unknown')) {
        endSession({ by: 'remote', reason: 'the phone disconnected' });
      }
      if (stopped) return;
      // bleno restarts advertising by itself, right after this event, unless a stop cleared its flag.
      if (adState === 'stopped') advertise();
      else if (staleAdvertisement) {
        staleAdvertisement = false;
        // After bleno's restart (same tick), so the stop is not refused as "not advertising".
        queueMicrotask(() => {
          if (!stopped && session === null) readvertise();
        });
      }
    }),
    listen(bleno, 'advertisingStop', () => {
      if (stopped || adState !== 'stopping') return;
      // Rotation: start again with the new pseudonym, or after the disconnect if a central is on.
      if (session === null) advertise();
      else adState = 'stopped';
    }),
    listen(bleno, 'stateChange', (state: unknown) => {
      if (state === 'poweredOn') {
        if (!stopped) {
          bleno.setServices([service]);
          advertise();
        }
        return;
      }
      endSession({ by: 'error', reason: `the Bluetooth adapter is ${String(state)}` });
      report(new TransportError(BleErrorCode.adapterState, `the Bluetooth adapter left the poweredOn state (now "${String(state)}")`));
    }),
    listen(bleno, 'advertisingStartError', (error: unknown) => {
      report(new TransportError(BleErrorCode.adapterState, 'the adapter refused to advertise', { cause: error }));
    }),
    listen(bleno, 'servicesSetError', (error: unknown) => {
      report(new TransportError(BleErrorCode.adapterState, 'the adapter refused the GATT service', { cause: error }));
    }),
  );

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (rotationTimer !== undefined) clock.clearTimeout(rotationTimer);
    rotationTimer = undefined;
    const s = session;
    session = null;
    if (s?.linger !== undefined) clock.clearTimeout(s.linger);
    await s?.link?.close('the key module is stopping');
    for (const off of offs.splice(0)) off();
    try {
      if (s !== null) bleno.disconnect();
      bleno.stopAdvertising();
      bleno.setServices([]);
    } catch {
      // The adapter is gone: nothing is advertised any more.
    }
  };

  try {
    await firstEvent(bleno, clock, readyTimeoutMs, 'servicesSet', 'servicesSetError', () => bleno.setServices([service]));
    await firstEvent(bleno, clock, readyTimeoutMs, 'advertisingStart', 'advertisingStartError', () => advertise(true));
  } catch (err) {
    await stop();
    throw err;
  }
  armRotation();

  return {
    get central() {
      return session?.central ?? null;
    },
    get link() {
      const link = session?.link ?? null;
      return link !== null && !link.isClosed ? link : null;
    },
    get pseudonym() {
      return pseudonym.slice();
    },
    stop,
  };
}

/**
 * Runs `action` and waits for `ok` or `fail` from bleno, with a deadline; removes its listeners
 * however it ends. bleno's own callbacks would leave a `once` listener behind on failure.
 */
function firstEvent(bleno: BlenoLike, clock: Clock, timeoutMs: number, ok: string, fail: string, action: () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const offs: Array<() => void> = [];
    const timer = clock.setTimeout(() => finish(new TimeoutError(BleErrorCode.gattTimeout, `bleno: no "${ok}" within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error): void => {
      clock.clearTimeout(timer);
      for (const off of offs.splice(0)) off();
      if (err === undefined) resolve();
      else reject(err);
    };
    offs.push(
      listen(bleno, ok, (error?: unknown) => {
        if (error) finish(new TransportError(BleErrorCode.adapterState, `bleno: ${ok} failed`, { cause: error }));
        else finish();
      }),
      listen(bleno, fail, (error: unknown) => finish(new TransportError(BleErrorCode.adapterState, `bleno: ${fail}`, { cause: error }))),
    );
    try {
      action();
    } catch (err) {
      finish(new TransportError(BleErrorCode.adapterState, `bleno refused the request (${ok})`, { cause: err }));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The vehicle.
// ---------------------------------------------------------------------------------------------

/** Options of {@link startBlenoVehicle}. */
export interface BlenoVehicleOptions extends Omit<BlenoPeripheralOptions, 'advertisingKey' | 'onLink'> {
  /** The vehicle to serve; its advertising key drives the pseudonym. */
  vehicle: Vehicle;
}

/** What {@link startBlenoVehicle} returns. */
export interface BlenoVehicleHandle extends BlenoPeripheralHandle {
  /** Links served so far (diagnostics). */
  readonly served: number;
}

/**
 * Runs `vehicle` as a BLE peripheral: every subscribed central gets a Link that
 * `vehicle.serve(link, { rssi })` runs until it closes. The vehicle's own timeouts bound each
 * session; a disconnect rejects the link's pending operations and closes it.
 */
export async function startBlenoVehicle(options: BlenoVehicleOptions): Promise<BlenoVehicleHandle> {
  const { vehicle } = options;
  if (vehicle === null || typeof vehicle !== 'object' || typeof vehicle.serve !== 'function') {
    throw new UsageError(BleErrorCode.badOptions, '"vehicle" must be a Vehicle');
  }
  let served = 0;
  const sessions = new Set<Promise<void>>();
  const handle = await startBlenoPeripheral({
    ...options,
    advertisingKey: () => vehicle.advertisingKey,
    onLink: (link, central) => {
      served += 1;
      const run = vehicle.serve(link, { rssi: () => central.rssi() }).catch(() => undefined);
      sessions.add(run);
      void run.finally(() => sessions.delete(run));
    },
  });
  return {
    get central() {
      return handle.central;
    },
    get link() {
      return handle.link;
    },
    get pseudonym() {
      return handle.pseudonym;
    },
    get served() {
      return served;
    },
    async stop() {
      await handle.stop();
      await Promise.all([...sessions]);
    },
  };
}
