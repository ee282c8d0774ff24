/**
 * Options of the mock BLE link, their defaults and checks, and ATT MTU negotiation.
 * docs/TRANSPORT.md §Mock link.
 */

import {
  ATT_HEADER_BYTES,
  DEFAULT_ATT_MTU,
  INTER_CHUNK_TIMEOUT_MS,
  MAX_ATT_MTU,
  MAX_FRAME_LENGTH_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_QUEUED_MESSAGES,
} from '../../constants.js';
import { UsageError } from '../../errors.js';
import type { Clock } from '../clock.js';
import type { Adversary, ChunkAdversary, Direction } from './adversary.js';
import type { MockTraceEvent } from './stats.js';

/** ATT MTU the phone requests by default, in bytes: what current iPhones ask for. */
export const DEFAULT_PHONE_ATT_MTU = 185;
/** Largest ATT MTU the vehicle's GATT server accepts by default, in bytes. */
export const DEFAULT_VEHICLE_MAX_ATT_MTU = MAX_ATT_MTU;
/** Default BLE connection interval, in ms (iOS grants 15–30 ms; Android often 7.5 ms). */
export const DEFAULT_CONNECTION_INTERVAL_MS = 15;
/**
 * Default GATT packets per connection event and direction. Real stacks move roughly 4–6; 4 is
 * the conservative end, so mock timings err on the slow side.
 */
export const DEFAULT_PACKETS_PER_EVENT = 4;
/** Shortest connection interval the Bluetooth spec allows, in ms (Core v5.4 Vol 6 Part B §4.5.1). */
export const MIN_CONNECTION_INTERVAL_MS = 7.5;
/** Longest connection interval the Bluetooth spec allows, in ms. */
export const MAX_CONNECTION_INTERVAL_MS = 4_000;

/** When a {@link DisconnectAfterMessages} rule cuts the link relative to the message. */
export type DisconnectWhen = 'before' | 'after';

/** Cut the link around the `count`-th whole message delivered in `direction`. */
export interface DisconnectAfterMessages {
  /** Direction whose delivered messages are counted (injected messages count too). */
  direction: Direction;
  /** 1-based message number. */
  count: number;
  /**
   * `after` (default): the message reaches the receiver, then the link drops — the receiver may
   * act on it but cannot answer (a command that "may have succeeded"). `before`: the link drops
   * as the message's last chunk lands, and the receiver never sees it.
   */
  when?: DisconnectWhen;
}

/** Options of {@link createMockLinkPair}. Times are in ms of `clock`. */
export interface MockLinkOptions {
  /** The clock the link runs on; normally a VirtualClock. The mock never touches real timers. */
  clock: Clock;
  /** ATT MTU the phone (GATT client) requests. Default 185. */
  mtu?: number;
  /** Largest ATT MTU the vehicle (GATT server) supports. Default 517. */
  vehicleMaxMtu?: number;
  /** Connection interval, in ms, within [7.5, 4000]. Default 15. */
  connectionIntervalMs?: number;
  /** Chunks per connection event and direction, an integer ≥ 1. Default 4. */
  packetsPerEvent?: number;
  /** Extra one-way latency added to every chunk, in ms (a relay between the radios). Default 0. */
  extraLatencyMs?: number;
  /**
   * The phone writes with response (ATT Write Request): every phone → vehicle chunk waits for the
   * vehicle's Write Response, which costs a packet and a connection event. Default false (Write
   * Command), the mock's behaviour before acknowledgements were modelled.
   */
  writeWithResponse?: boolean;
  /**
   * The vehicle indicates (ATT Handle Value Indication): every vehicle → phone chunk waits for the
   * phone's Confirmation. Default false (notifications).
   */
  indicate?: boolean;
  /** Largest message either end may send, in bytes. Default MAX_MESSAGE_BYTES. */
  maxMessageBytes?: number;
  /** Messages an end queues while nobody receives before the link fails. Default MAX_QUEUED_MESSAGES. */
  maxQueuedMessages?: number;
  /** Inter-chunk timeout of each receiver's reassembler, in ms. Default INTER_CHUNK_TIMEOUT_MS. */
  interChunkTimeoutMs?: number;
  /** Virtual time at which the radio link is lost (absolute, on `clock`). */
  disconnectAtMs?: number;
  /** Lose the radio link around the n-th message delivered in one direction. */
  disconnectAfterMessages?: DisconnectAfterMessages;
  /** Message-level attacker: sees every whole message before it goes on the air. */
  adversary?: Adversary;
  /** Chunk-level attacker: sees every GATT chunk as it arrives (framing attacks). */
  chunkAdversary?: ChunkAdversary;
  /** Receives a trace of everything that happens on the link, for debugging and determinism checks. */
  trace?: (event: MockTraceEvent) => void;
}

/** Options after defaults and checks, plus the negotiated MTU. */
export interface ResolvedMockLinkOptions {
  readonly clock: Clock;
  readonly mtu: number;
  readonly payloadBytes: number;
  readonly connectionIntervalMs: number;
  readonly packetsPerEvent: number;
  readonly extraLatencyMs: number;
  readonly writeWithResponse: boolean;
  readonly indicate: boolean;
  readonly maxMessageBytes: number;
  readonly maxQueuedMessages: number;
  readonly interChunkTimeoutMs: number;
  readonly disconnectAtMs: number | undefined;
  readonly disconnectAfterMessages: Required<DisconnectAfterMessages> | undefined;
  readonly adversary: Adversary | undefined;
  readonly chunkAdversary: ChunkAdversary | undefined;
  readonly trace: ((event: MockTraceEvent) => void) | undefined;
}

/** Code of the UsageError raised for a malformed option. */
const BAD_OPTION = 'MOCK_BAD_OPTIONS';

/** Throws UsageError naming the option. */
function bad(field: string, rule: string): never {
  throw new UsageError(BAD_OPTION, `"${field}" must be ${rule}`);
}

/** Checks an optional number option against `ok`, returning it or its default. */
function num(value: unknown, field: string, fallback: number, rule: string, ok: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) bad(field, rule);
  return value;
}

/** Checks an optional boolean option. */
function flag(value: unknown, field: string): boolean {
  if (value !== undefined && typeof value !== 'boolean') bad(field, 'a boolean');
  return value === true;
}

/** Checks an optional function option. */
function fn<F>(value: unknown, field: string): F | undefined {
  if (value !== undefined && typeof value !== 'function') bad(field, 'a function');
  return value as F | undefined;
}

/** Checks a direction argument. */
export function checkDirection(value: unknown, field = 'direction'): Direction {
  if (value !== 'toVehicle' && value !== 'toPhone') bad(field, '"toVehicle" or "toPhone"');
  return value;
}

/**
 * ATT MTU exchange (Bluetooth Core v5.4 Vol 3 Part F §3.4.2): both sides use the smaller of the
 * client's and the server's Rx MTU. A value below the default 23 is invalid on the wire and is
 * taken as 23. The result never exceeds MAX_ATT_MTU (517): the largest attribute value, 512 bytes
 * (§3.2.9), plus the 5-byte prepare-write header — the cap Android and most stacks apply.
 *
 * @throws UsageError if either MTU is not an integer.
 */
export function negotiateMtu(phoneMtu: number, vehicleMaxMtu: number): number {
  if (!Number.isSafeInteger(phoneMtu)) bad('mtu', 'an integer');
  if (!Number.isSafeInteger(vehicleMaxMtu)) bad('vehicleMaxMtu', 'an integer');
  return Math.max(DEFAULT_ATT_MTU, Math.min(phoneMtu, vehicleMaxMtu, MAX_ATT_MTU));
}

/** Checks the disconnect-after-messages rule. */
function disconnectRule(value: unknown): Required<DisconnectAfterMessages> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) bad('disconnectAfterMessages', 'an object');
  const rule = value as DisconnectAfterMessages;
  const direction = checkDirection(rule.direction, 'disconnectAfterMessages.direction');
  if (!Number.isSafeInteger(rule.count) || rule.count < 1) bad('disconnectAfterMessages.count', 'an integer ≥ 1');
  const when = rule.when ?? 'after';
  if (when !== 'before' && when !== 'after') bad('disconnectAfterMessages.when', '"before" or "after"');
  return { direction, count: rule.count, when };
}

/**
 * Applies defaults, checks every option and negotiates the MTU.
 *
 * @throws UsageError (`MOCK_BAD_OPTIONS`) naming the first bad option.
 */
export function resolveMockLinkOptions(options: MockLinkOptions): ResolvedMockLinkOptions {
  if (typeof options !== 'object' || options === null) bad('options', 'an object');
  const { clock } = options;
  if (
    typeof clock !== 'object' ||
    clock === null ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  ) {
    bad('clock', 'a Clock');
  }
  const mtu = negotiateMtu(options.mtu ?? DEFAULT_PHONE_ATT_MTU, options.vehicleMaxMtu ?? DEFAULT_VEHICLE_MAX_ATT_MTU);
  const disconnectAtMs = options.disconnectAtMs;
  if (disconnectAtMs !== undefined && (typeof disconnectAtMs !== 'number' || !Number.isFinite(disconnectAtMs))) {
    bad('disconnectAtMs', 'a finite number');
  }
  return {
    clock,
    mtu,
    payloadBytes: mtu - ATT_HEADER_BYTES,
    connectionIntervalMs: num(
      options.connectionIntervalMs,
      'connectionIntervalMs',
      DEFAULT_CONNECTION_INTERVAL_MS,
      `in [${MIN_CONNECTION_INTERVAL_MS}, ${MAX_CONNECTION_INTERVAL_MS}]`,
      (n) => n >= MIN_CONNECTION_INTERVAL_MS && n <= MAX_CONNECTION_INTERVAL_MS,
    ),
    packetsPerEvent: num(options.packetsPerEvent, 'packetsPerEvent', DEFAULT_PACKETS_PER_EVENT, 'an integer ≥ 1', (n) =>
      Number.isSafeInteger(n) && n >= 1,
    ),
    extraLatencyMs: num(options.extraLatencyMs, 'extraLatencyMs', 0, 'a number ≥ 0', (n) => n >= 0),
    writeWithResponse: flag(options.writeWithResponse, 'writeWithResponse'),
    indicate: flag(options.indicate, 'indicate'),
    maxMessageBytes: num(
      options.maxMessageBytes,
      'maxMessageBytes',
      MAX_MESSAGE_BYTES,
      `an integer in [1, ${MAX_FRAME_LENGTH_BYTES}]`,
      (n) => Number.isSafeInteger(n) && n >= 1 && n <= MAX_FRAME_LENGTH_BYTES,
    ),
    maxQueuedMessages: num(options.maxQueuedMessages, 'maxQueuedMessages', MAX_QUEUED_MESSAGES, 'an integer ≥ 1', (n) =>
      Number.isSafeInteger(n) && n >= 1,
    ),
    interChunkTimeoutMs: num(options.interChunkTimeoutMs, 'interChunkTimeoutMs', INTER_CHUNK_TIMEOUT_MS, 'a number > 0', (n) => n > 0),
    disconnectAtMs,
    disconnectAfterMessages: disconnectRule(options.disconnectAfterMessages),
    adversary: fn<Adversary>(options.adversary, 'adversary'),
    chunkAdversary: fn<ChunkAdversary>(options.chunkAdversary, 'chunkAdversary'),
    trace: fn<(event: MockTraceEvent) => void>(options.trace, 'trace'),
  };
}
