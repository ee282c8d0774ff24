/**
 * The phone's side of the digital-key profile over any GATT client API (docs/BLE.md §Platform
 * adapters): one {@link openGattLink} that every platform adapter (noble, react-native-ble-plx,
 * Web Bluetooth) reaches through a tiny {@link GattPort}.
 *
 * After the adapter has connected and found the three characteristics, this reads and checks
 * the info characteristic (versions, the vehicle's message limit and the ATT MTU it negotiated),
 * checks that the platform can carry chunks of that size, subscribes to `toPhone` and returns a
 * {@link ChunkLink} that frames, chunks and reassembles. Every operation has a deadline, a
 * disconnect rejects whatever waits with a typed error, and on any failure the subscription is
 * dropped and the connection torn down.
 *
 * Pure: no BLE stack, no Node API, time from an injected Clock.
 */

import { ATT_HEADER_BYTES } from '../constants.js';
import { AbortError, DigitalKeyError, ProtocolError, TransportError, UsageError } from '../errors.js';
import { SUPPORTED_VERSIONS } from '../protocol/constants.js';
import { systemClock, type Clock } from '../transport/clock.js';
import type { LinkCloseInfo } from '../transport/link.js';
import { linkClosedError } from '../transport/link-op.js';
import { ChunkLink, type BleLink } from './chunk-link.js';
import { BleErrorCode } from './codes.js';
import { GattOps } from './gatt-op.js';
import { decodeBleInfo, type BleInfo } from './profile.js';

/**
 * What a platform adapter maps onto its BLE API, for one connection whose digital-key
 * characteristics are already found. Promise-returning members may reject with any error: the
 * client bounds each with a deadline and types whatever is not already a DigitalKeyError.
 */
export interface GattPort {
  /** Reads the info characteristic's value (the raw bytes). */
  readInfo(): Promise<Uint8Array>;
  /** Writes one chunk to `toVehicle`, with a write response (`withResponse`) or without. */
  write(chunk: Uint8Array, withResponse: boolean): Promise<void>;
  /**
   * Enables notifications of `toPhone` and passes each value to `onValue` from now on (null for a
   * value the platform could not decode); resolves once the vehicle has them enabled.
   */
  subscribe(onValue: (value: Uint8Array | null) => void): Promise<void>;
  /** Stops notifications and removes every listener the port added. Never throws; idempotent. */
  unsubscribe(): void;
  /**
   * Optional: registers `listener` for `toPhone` values the port saw but did not pass to
   * `subscribe`'s callback (noble reports notifications that arrive before the subscription was
   * asked for); the link counts them in `stats.ignoredChunks`. Returns the function removing it.
   */
  onIgnored?(listener: () => void): () => void;
  /**
   * Largest value one write or notification may carry on this platform, in bytes, or null when
   * the platform does not say (the vehicle's reported MTU is then trusted).
   */
  readonly maxValueBytes: number | null;
  /** Registers `listener` for the connection's end; returns the function removing it. */
  onDisconnect(listener: (info: LinkCloseInfo) => void): () => void;
  /** Tears the connection down. Never throws; idempotent. */
  disconnect(): void;
}

/** Deadline of each GATT operation, in ms (ATT allows a server 30 000). */
export const DEFAULT_GATT_TIMEOUT_MS = 5_000;

/** Options of {@link openGattLink}. */
export interface GattLinkOptions {
  /** Clock of the link's timeouts (default systemClock). */
  clock?: Clock;
  /** Deadline of the info read, the subscription and each chunk write, in ms (default 5 000). */
  gattTimeoutMs?: number;
  /** Write chunks without response (default false: every chunk waits for the vehicle's answer). */
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

/** A Link over one GATT connection, with what the vehicle's info characteristic said. */
export interface GattLink extends BleLink {
  /** Versions, largest message and ATT MTU the vehicle reported. */
  readonly info: BleInfo;
}

/** Checks a positive number of ms. */
export function checkTimeoutMs(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(BleErrorCode.badOptions, `"${name}" must be a positive number of ms`);
  }
  return value;
}

/**
 * Runs the digital-key profile over `port`: read info, check versions and chunk size, subscribe,
 * and return the link. On failure the port is unsubscribed and disconnected and the error is
 * typed: ProtocolError `BLE_BAD_INFO` / `BLE_VERSION_MISMATCH`, TransportError
 * `BLE_MTU_MISMATCH` / `BLE_CONNECT_FAILED` / `BLE_GATT_FAILED`, TimeoutError `BLE_GATT_TIMEOUT`,
 * AbortError.
 */
export async function openGattLink(port: GattPort, options: GattLinkOptions = {}): Promise<GattLink> {
  const clock = options.clock ?? systemClock;
  const gattMs = checkTimeoutMs(options.gattTimeoutMs ?? DEFAULT_GATT_TIMEOUT_MS, 'gattTimeoutMs');
  const withResponse = options.writeWithoutResponse !== true;
  const { signal } = options;
  if (signal?.aborted === true) {
    port.unsubscribe();
    port.disconnect();
    throw new AbortError('connect aborted', { cause: signal.reason });
  }
  const ops = new GattOps(clock);
  let link: ChunkLink | null = null;
  const onAbort = (): void => ops.failAll(new AbortError('connect aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const offDisconnect = port.onDisconnect((info) => {
    if (link !== null) link.transportClosed(info);
    else ops.failAll(new TransportError(BleErrorCode.connectFailed, `the connection dropped during set-up: ${info.reason}`));
  });
  // Values ignored before the link exists (during the info read) are counted once it does.
  let ignoredEarly = 0;
  const offIgnored = port.onIgnored?.(() => {
    if (link !== null) link.ignoreChunk();
    else ignoredEarly += 1;
  });
  const release = (): void => {
    signal?.removeEventListener('abort', onAbort);
    offDisconnect();
    offIgnored?.();
    port.unsubscribe();
  };
  try {
    const info = checkInfo(await runPortOp(ops, 'read info', gattMs, false, () => port.readInfo()), port.maxValueBytes);
    const chunkLink = new ChunkLink({
      clock,
      mtu: info.attMtu,
      maxSendBytes: info.maxMessageBytes,
      maxReceiveBytes: options.maxMessageBytes,
      maxQueuedMessages: options.maxQueuedMessages,
      interChunkTimeoutMs: options.interChunkTimeoutMs,
      writeChunk: (chunk) => runPortOp(ops, 'write toVehicle', gattMs, true, () => port.write(chunk, withResponse)),
      disconnect: () => port.disconnect(),
      onShutdown: (closeInfo) => {
        ops.failAll(linkClosedError(closeInfo.reason, true));
        release();
      },
    });
    for (; ignoredEarly > 0; ignoredEarly--) chunkLink.ignoreChunk();
    link = chunkLink;
    await runPortOp(ops, 'subscribe to toPhone', gattMs, false, () =>
      // Values are taken from the subscription request on: the vehicle may notify the challenge
      // before the platform reports the CCCD write's response.
      port.subscribe((value) => {
        if (value instanceof Uint8Array) chunkLink.deliverChunk(value);
        else chunkLink.ignoreChunk();
      }),
    );
    signal?.removeEventListener('abort', onAbort);
    return Object.assign(chunkLink, { info }) as ChunkLink & GattLink;
  } catch (err) {
    link?.transportClosed({ by: 'error', reason: 'link set-up failed' });
    ops.failAll(new TransportError(BleErrorCode.connectFailed, 'link set-up failed'));
    release();
    port.disconnect();
    throw err instanceof DigitalKeyError ? err : new TransportError(BleErrorCode.connectFailed, 'link set-up failed', { cause: err });
  }
}

/** One port call under a deadline; a rejection that is not a DigitalKeyError becomes `BLE_GATT_FAILED`. */
function runPortOp<T>(ops: GattOps, name: string, timeoutMs: number, mayHaveSucceeded: boolean, call: () => Promise<T>): Promise<T> {
  return ops.run<T>({ name, timeoutMs, mayHaveSucceeded }, ({ resolve, reject }) => {
    call().then(resolve, (err: unknown) => {
      reject(err instanceof DigitalKeyError ? err : new TransportError(BleErrorCode.gattFailed, `${name} failed`, { cause: err, mayHaveSucceeded }));
    });
    return () => {};
  });
}

/**
 * Decodes the info value and checks that this library speaks one of its versions and that the
 * platform can carry `attMtu − 3`-byte chunks: both ends must cut chunks alike (docs/BLE.md §Framing).
 */
function checkInfo(raw: unknown, maxValueBytes: number | null): BleInfo {
  if (!(raw instanceof Uint8Array)) throw new ProtocolError(BleErrorCode.badInfo, 'the vehicle sent no info value');
  const info = decodeBleInfo(raw);
  if (!SUPPORTED_VERSIONS.some((v) => info.versions.includes(v))) {
    throw new ProtocolError(BleErrorCode.versionMismatch, `the vehicle speaks protocol versions [${info.versions.join(', ')}], this phone [${SUPPORTED_VERSIONS.join(', ')}]`);
  }
  const chunkBytes = info.attMtu - ATT_HEADER_BYTES;
  if (maxValueBytes !== null && chunkBytes > maxValueBytes) {
    throw new TransportError(
      BleErrorCode.mtuMismatch,
      `the vehicle cuts ${chunkBytes}-byte chunks (ATT MTU ${info.attMtu}) but this platform carries at most ${maxValueBytes} bytes per value: cap the vehicle's MTU at ${maxValueBytes + ATT_HEADER_BYTES}`,
    );
  }
  return info;
}
