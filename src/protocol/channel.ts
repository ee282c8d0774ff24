/**
 * The secure channel after the handshake (docs/PROTOCOL.md §5.4): AES-256-GCM frames with
 * per-direction keys and implicit per-direction counters.
 *
 * GATT delivers in order and reliably, so a frame's counter is never sent: the receiver expects
 * exactly the next value. A replayed, dropped, reordered or modified frame fails to open, and the
 * channel is then dead — both sides must start a new handshake. That is stricter than a
 * WireGuard-style sliding window, which exists for UDP's reordering and which GATT doesn't need.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { AuthenticationError, ProtocolError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { MAX_FRAME_COUNTER } from './constants.js';
import { nonceFor, type SessionKeys } from './keyschedule.js';
import { FrameSchema } from './messages.js';

/** Which end of the channel this is. */
export type Role = 'phone' | 'vehicle';

/** Explicit channel state. `open` becomes false on the first failure and never returns. */
export interface Channel {
  readonly role: Role;
  /** Transcript hash h3, AAD of every frame. Not secret. */
  readonly sessionHash: Uint8Array;
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  sendCounter: number;
  receiveCounter: number;
  open: boolean;
}

/** Creates the channel for `role` from the session keys (it takes ownership of the key buffers). */
export function createChannel(role: Role, keys: SessionKeys): Channel {
  const phone = role === 'phone';
  return {
    role,
    sessionHash: keys.sessionHash,
    sendKey: phone ? keys.kP2V : keys.kV2P,
    receiveKey: phone ? keys.kV2P : keys.kP2V,
    sendCounter: 0,
    receiveCounter: 0,
    open: true,
  };
}

/** Seals `plaintext` as the next frame in this direction; returns the encoded Frame message. */
export function sealFrame(crypto: CryptoProvider, ch: Channel, plaintext: Uint8Array): Uint8Array {
  assertOpen(ch);
  if (ch.sendCounter > MAX_FRAME_COUNTER) throw closeWith(ch, new ProtocolError('COUNTER_EXHAUSTED', 'frame counter exhausted: start a new session'));
  const sealed = crypto.aeadSeal(ch.sendKey, nonceFor(ch.sendCounter), plaintext, ch.sessionHash);
  ch.sendCounter++;
  return encodeMessage(FrameSchema, { sealed });
}

/**
 * Opens the next frame from the peer. A clear status (vehicle → phone only) is returned as
 * `{ status }`; a sealed frame as `{ plaintext }`. Any failure closes the channel.
 */
export function openFrame(crypto: CryptoProvider, ch: Channel, bytes: Uint8Array): { status: number } | { plaintext: Uint8Array } {
  assertOpen(ch);
  let frame;
  try {
    frame = decodeMessage(FrameSchema, bytes);
  } catch (e) {
    throw closeWith(ch, e as Error);
  }
  if ((frame.status === undefined) === (frame.sealed === undefined)) {
    throw closeWith(ch, new ProtocolError('BAD_FRAME', 'a frame carries exactly one of status or sealed'));
  }
  if (frame.status !== undefined) {
    if (ch.role === 'vehicle') throw closeWith(ch, new ProtocolError('BAD_FRAME', 'phones never send clear statuses'));
    closeChannel(ch);
    return { status: frame.status };
  }
  const plaintext = crypto.aeadOpen(ch.receiveKey, nonceFor(ch.receiveCounter), frame.sealed!, ch.sessionHash);
  if (plaintext === null) throw closeWith(ch, new AuthenticationError('FRAME_AUTH_FAILED', 'frame failed authentication'));
  ch.receiveCounter++;
  return { plaintext };
}

/**
 * The clear status carried by `bytes` if they are a Frame with one (REJECTED, RETRY_FULL,
 * BUSY), else undefined. For places that expect another message and must recognise a refusal
 * in its stead (msg 1, the pairing reply). Never throws.
 */
export function clearStatusOf(bytes: Uint8Array): number | undefined {
  try {
    return decodeMessage(FrameSchema, bytes).status;
  } catch {
    return undefined;
  }
}

/** Closes the channel and wipes its keys. Idempotent. */
export function closeChannel(ch: Channel): void {
  ch.open = false;
  wipe(ch.sendKey, ch.receiveKey);
}

function assertOpen(ch: Channel): void {
  if (!ch.open) throw new ProtocolError('CHANNEL_CLOSED', 'the secure channel is closed');
}

function closeWith<E extends Error>(ch: Channel, error: E): E {
  closeChannel(ch);
  return error;
}
