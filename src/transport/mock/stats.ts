/**
 * Counters and trace events of the mock link: what benchmarks report (bytes on the air, GATT
 * operations) and what determinism tests compare.
 */

import type { Direction } from './adversary.js';

/** Counters for one direction. Every field only grows until {@link MockLinkStats.reset}. */
export interface MockDirectionStats {
  /** Whole messages put on the air (adversary copies and injections included), counted when handed to the radio. */
  messages: number;
  /** Their total size, in bytes. */
  messageBytes: number;
  /** Bytes handed to the radio as GATT payload: framed messages (message + 2-byte length prefix) plus injected chunks. */
  airBytes: number;
  /** GATT writes or notifications handed to the radio (one per chunk). */
  gattOps: number;
  /** ATT acknowledgements sent this way for the other direction's chunks: Write Responses (to the phone) or Confirmations (to the vehicle). */
  acks: number;
  /** Whole messages reassembled and handed to the receiving end. */
  delivered: number;
  /** Messages the message-level adversary swallowed entirely. */
  dropped: number;
  /** Chunks the chunk-level adversary swallowed. */
  chunksDropped: number;
  /** Chunk sequences the receiver's reassembler rejected (garbage, overflow, inter-chunk timeout). */
  reassemblyErrors: number;
}

/** Plain copy of both directions' counters. */
export interface MockStatsSnapshot {
  readonly toVehicle: Readonly<MockDirectionStats>;
  readonly toPhone: Readonly<MockDirectionStats>;
}

/** Live counters of a mock link pair. */
export interface MockLinkStats extends MockStatsSnapshot {
  /** Zeroes every counter (e.g. after the setup phase of a benchmark). */
  reset(): void;
  /** A plain copy of the current counters. */
  snapshot(): MockStatsSnapshot;
}

/** What happened, for {@link MockLinkOptions.trace}. */
export type MockTraceType =
  | 'send'
  | 'adversary-drop'
  | 'adversary-delay'
  | 'inject'
  | 'inject-chunk'
  | 'chunk'
  | 'chunk-drop'
  | 'ack'
  | 'message'
  | 'reassembly-error'
  | 'close'
  | 'disconnect';

/** One trace event. Fields other than `timeMs` and `type` are present when they apply. */
export interface MockTraceEvent {
  /** Virtual time, in ms. */
  readonly timeMs: number;
  readonly type: MockTraceType;
  readonly direction?: Direction;
  /** Size of the message or chunk, in bytes. */
  readonly size?: number;
  /** Short detail: hex of the first bytes, an error code, a close reason. Never a secret beyond what is on the air. */
  readonly detail?: string;
}

/** A zeroed counter set. */
function zero(): MockDirectionStats {
  return {
    messages: 0,
    messageBytes: 0,
    airBytes: 0,
    gattOps: 0,
    acks: 0,
    delivered: 0,
    dropped: 0,
    chunksDropped: 0,
    reassemblyErrors: 0,
  };
}

/** The mutable implementation of {@link MockLinkStats}. */
export class MockStats implements MockLinkStats {
  readonly toVehicle: MockDirectionStats = zero();
  readonly toPhone: MockDirectionStats = zero();

  /** Counters of one direction. */
  of(direction: Direction): MockDirectionStats {
    return direction === 'toVehicle' ? this.toVehicle : this.toPhone;
  }

  reset(): void {
    Object.assign(this.toVehicle, zero());
    Object.assign(this.toPhone, zero());
  }

  snapshot(): MockStatsSnapshot {
    return { toVehicle: { ...this.toVehicle }, toPhone: { ...this.toPhone } };
  }
}

/** Hex of at most the first 16 bytes, for trace details. */
export function hexPrefix(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes.subarray(0, 16)) out += b.toString(16).padStart(2, '0');
  return bytes.length > 16 ? `${out}…` : out;
}
