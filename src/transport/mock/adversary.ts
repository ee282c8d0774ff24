/**
 * The adversary hook of the mock link: an attacker sitting on the radio path (a relay, a
 * man-in-the-middle, a jammer) who sees every whole message before it goes on the air and decides
 * what the receiver gets. docs/TRANSPORT.md §Mock link, "Adversary".
 *
 * The attacker cannot read or forge anything the protocol protects cryptographically; the hook
 * exists so tests can prove exactly that: drop, tamper, delay, reorder, duplicate and replay must
 * each end in a typed error or be harmless.
 */

import { MAX_FRAME_LENGTH_BYTES } from '../../constants.js';
import { UsageError } from '../../errors.js';

/** Direction of travel: `toVehicle` is phone → vehicle (GATT writes), `toPhone` the reverse (notifications). */
export type Direction = 'toVehicle' | 'toPhone';

/** What the message-level adversary sees: one whole application message about to go on the air. */
export interface AdversaryEvent {
  /** Direction of travel. */
  readonly direction: Direction;
  /** A copy of the message; editing it changes nothing (return `modify` instead). */
  readonly bytes: Uint8Array;
  /** Index of this message among those the sender sent in this direction, from 0 (injections excluded). */
  readonly index: number;
  /** Virtual time of the send, in ms. */
  readonly timeMs: number;
}

/**
 * One decision of the adversary. An array of actions produces the union of their copies, in
 * order: `[{ type: 'deliver' }, { type: 'delay', ms: 500 }]` delivers the message and replays it
 * 500 ms later. An empty array drops the message.
 */
export type AdversaryAction =
  /** Pass the message through untouched (the default when the hook returns nothing). */
  | { readonly type: 'deliver' }
  /** Swallow the message. The sender's send still resolves: the relay acknowledged it. */
  | { readonly type: 'drop' }
  /** Deliver `bytes` instead (1..65535 bytes; larger than the link's maximum tests the receiver's limit). */
  | { readonly type: 'modify'; readonly bytes: Uint8Array }
  /**
   * Hold the message (or `bytes`, if given) for `ms` before it goes on the air. Later messages
   * overtake it, which is how a test reorders.
   */
  | { readonly type: 'delay'; readonly ms: number; readonly bytes?: Uint8Array }
  /** Deliver the message `1 + count` times back to back (`count` defaults to 1). */
  | { readonly type: 'duplicate'; readonly count?: number };

/** The message-level adversary hook. Runs synchronously inside the sender's send(). */
export type Adversary = (event: AdversaryEvent) => AdversaryAction | readonly AdversaryAction[] | void;

/** What the chunk-level adversary sees: one GATT write or notification arriving at the receiver. */
export interface ChunkAdversaryEvent {
  /** Direction of travel. */
  readonly direction: Direction;
  /** A copy of the chunk (at most `mtu − 3` bytes). */
  readonly bytes: Uint8Array;
  /** Index of this chunk among all chunks that arrived in this direction, from 0. */
  readonly index: number;
  /** Virtual arrival time, in ms. */
  readonly timeMs: number;
}

/** One decision of the chunk-level adversary. */
export type ChunkAdversaryAction =
  | { readonly type: 'deliver' }
  | { readonly type: 'drop' }
  /** Deliver these bytes instead (at most `mtu − 3`: the radio cannot carry more). */
  | { readonly type: 'modify'; readonly bytes: Uint8Array };

/** The chunk-level adversary hook, for framing attacks. Runs when each chunk arrives. */
export type ChunkAdversary = (event: ChunkAdversaryEvent) => ChunkAdversaryAction | void;

/** One copy of a message that the adversary lets through: its bytes and its hold time. */
export interface MessageCopy {
  readonly bytes: Uint8Array;
  readonly delayMs: number;
}

/** Most duplicates one action may ask for, so a typo cannot flood the receive queue for ever. */
export const MAX_DUPLICATE_COUNT = 64;

/** Code of the UsageError raised when an adversary hook returns something malformed (a test bug). */
export const BAD_ADVERSARY_ACTION = 'MOCK_BAD_ADVERSARY_ACTION';

/** Throws the UsageError for a malformed action. */
function bad(message: string): never {
  throw new UsageError(BAD_ADVERSARY_ACTION, message);
}

/** Checks bytes an adversary wants on the air as a whole message. */
function checkMessageBytes(bytes: unknown, field: string): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0 || bytes.length > MAX_FRAME_LENGTH_BYTES) {
    bad(`"${field}" must be a Uint8Array of 1..${MAX_FRAME_LENGTH_BYTES} bytes`);
  }
  return bytes.slice();
}

/** Expands one action into the copies it puts on the air. */
function copiesOf(action: AdversaryAction, original: Uint8Array): MessageCopy[] {
  if (typeof action !== 'object' || action === null) bad('an adversary action must be an object');
  switch (action.type) {
    case 'deliver':
      return [{ bytes: original, delayMs: 0 }];
    case 'drop':
      return [];
    case 'modify':
      return [{ bytes: checkMessageBytes(action.bytes, 'modify.bytes'), delayMs: 0 }];
    case 'delay': {
      if (typeof action.ms !== 'number' || !Number.isFinite(action.ms) || action.ms < 0) {
        bad('"delay.ms" must be a finite number ≥ 0');
      }
      const bytes = action.bytes === undefined ? original : checkMessageBytes(action.bytes, 'delay.bytes');
      return [{ bytes, delayMs: action.ms }];
    }
    case 'duplicate': {
      const count = action.count ?? 1;
      if (!Number.isSafeInteger(count) || count < 1 || count > MAX_DUPLICATE_COUNT) {
        bad(`"duplicate.count" must be an integer in [1, ${MAX_DUPLICATE_COUNT}]`);
      }
      return Array.from({ length: count + 1 }, () => ({ bytes: original, delayMs: 0 }));
    }
    default:
      return bad(`unknown adversary action type ${JSON.stringify((action as { type?: unknown }).type)}`);
  }
}

/**
 * Turns the hook's answer into the list of copies to transmit, in order. `undefined` means
 * deliver; an empty list means the message is dropped.
 *
 * @throws UsageError (`MOCK_BAD_ADVERSARY_ACTION`) on a malformed answer.
 */
export function resolveAdversaryActions(
  answer: AdversaryAction | readonly AdversaryAction[] | void,
  original: Uint8Array,
): MessageCopy[] {
  if (answer === undefined) return [{ bytes: original, delayMs: 0 }];
  const actions: readonly AdversaryAction[] = Array.isArray(answer) ? answer : [answer as AdversaryAction];
  return actions.flatMap((action) => copiesOf(action, original));
}

/**
 * Applies a chunk adversary's answer: returns the bytes to deliver, or null to drop.
 *
 * @throws UsageError (`MOCK_BAD_ADVERSARY_ACTION`) on a malformed answer or a chunk the radio
 *   could not carry (longer than `payloadBytes`).
 */
export function resolveChunkAction(
  answer: ChunkAdversaryAction | void,
  original: Uint8Array,
  payloadBytes: number,
): Uint8Array | null {
  if (answer === undefined) return original;
  if (typeof answer !== 'object' || answer === null) bad('a chunk adversary action must be an object');
  switch (answer.type) {
    case 'deliver':
      return original;
    case 'drop':
      return null;
    case 'modify':
      if (!(answer.bytes instanceof Uint8Array) || answer.bytes.length > payloadBytes) {
        bad(`"modify.bytes" must be a Uint8Array of at most ${payloadBytes} bytes (mtu − 3)`);
      }
      return answer.bytes.slice();
    default:
      return bad(`unknown chunk adversary action type ${JSON.stringify((answer as { type?: unknown }).type)}`);
  }
}
