/**
 * `ble-digital-key/mock`: the simulated BLE link and virtual clock for tests, benchmarks and
 * demos. docs/TRANSPORT.md §Mock link. Never import this from production code paths: it has no
 * radio, only a model of one.
 */

export { VirtualClock, DEFAULT_RUN_MAX_MS, DEFAULT_RUN_MAX_TIMERS } from './virtual-clock.js';
export type { VirtualClockOptions, RunUntilSettledOptions } from './virtual-clock.js';
export { createMockLinkPair } from './mock-link.js';
export type { MockLinkPair } from './mock-link.js';
export type { MockLinkEnd, MockRole } from './end.js';
export {
  DEFAULT_CONNECTION_INTERVAL_MS,
  DEFAULT_PACKETS_PER_EVENT,
  DEFAULT_PHONE_ATT_MTU,
  DEFAULT_VEHICLE_MAX_ATT_MTU,
  MAX_CONNECTION_INTERVAL_MS,
  MIN_CONNECTION_INTERVAL_MS,
  negotiateMtu,
} from './options.js';
export type { DisconnectAfterMessages, DisconnectWhen, MockLinkOptions } from './options.js';
export { BAD_ADVERSARY_ACTION, MAX_DUPLICATE_COUNT } from './adversary.js';
export type {
  Adversary,
  AdversaryAction,
  AdversaryEvent,
  ChunkAdversary,
  ChunkAdversaryAction,
  ChunkAdversaryEvent,
  Direction,
} from './adversary.js';
export type { AirTiming } from './air.js';
export type { MockDirectionStats, MockLinkStats, MockStatsSnapshot, MockTraceEvent, MockTraceType } from './stats.js';
