/**
 * Phone side of the v1 handshake, pure and synchronous (docs/PROTOCOL.md §5). The device-key
 * signature is the only async step, so the full path is split around it:
 *
 *   consumeChallenge  ← msg 1  (pick the highest common version)
 *   prepareFullAuth   → bytes to sign (label ‖ h2 ‖ keyId ‖ command)
 *   createFullAuth    → msg 2 with the signature sealed under ee ‖ es
 *   createFastAuth    → msg 2 with a ticket id, sealed under ee ‖ resumption secret
 *   consumeResult     ← msg 3: the first sealed frame (or a clear status)
 *
 * The phone's identity (key id, signature) is sealed under a key that needs the vehicle's
 * static private key (es), so only the real vehicle learns who is unlocking it.
 */
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { ProtocolError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { CLEAR_STATUSES, SUPPORTED_VERSIONS } from './constants.js';
import { createChannel, openFrame, type Channel } from './channel.js';
import {
  challengeHash,
  deriveAuthKeys,
  deriveSessionKeys,
  fastAuthHash,
  fullAuthHash,
  initialHash,
  nonceFor,
  phoneSignaturePayload,
  sessionHash,
  type SessionKeys,
} from './keyschedule.js';
import {
  AuthSchema,
  ChallengeSchema,
  CommandSchema,
  FastAuthBodySchema,
  FullAuthBodySchema,
  ResultSchema,
  type CommandMsg,
  type ResultMsg,
} from './messages.js';

/** What the phone knows about a paired vehicle. */
export interface VehiclePeer {
  vehicleId: Uint8Array;
  publicKey: Uint8Array;
}

/** A resumption ticket held by the phone. */
export interface PhoneTicket {
  ticketId: Uint8Array;
  resumptionSecret: Uint8Array;
}

/** Phone state after msg 1. */
export interface Challenged {
  stage: 'challenged';
  vehicle: VehiclePeer;
  h1: Uint8Array;
  vehicleEphemeral: Uint8Array;
  version: number;
}

/** Phone state while the device key signs. */
export interface Signing {
  stage: 'signing';
  h2: Uint8Array;
  ephemeral: Uint8Array;
  keyId: Uint8Array;
  command: CommandMsg;
  kAuth: Uint8Array;
  chain: Uint8Array;
  version: number;
}

/**
 * Phone state after msg 2 is sent. The session keys are derived before sending: they depend
 * only on what the phone already has, so msg 3 costs one AEAD open on arrival.
 */
export interface AwaitingResult {
  stage: 'sent';
  path: 'full' | 'fast' | 'resume';
  keys: SessionKeys;
}

/** Msg 1: validates the Challenge and picks the highest version both sides speak. */
export function consumeChallenge(
  crypto: CryptoProvider,
  vehicle: VehiclePeer,
  bytes: Uint8Array,
  supported: readonly number[] = SUPPORTED_VERSIONS,
): Challenged {
  const msg = decodeMessage(ChallengeSchema, bytes);
  const common = msg.versions.filter((v) => supported.includes(v));
  if (common.length === 0) throw new ProtocolError('NO_COMMON_VERSION', 'the vehicle offers no protocol version this phone speaks');
  crypto.validatePublicKey(msg.ephemeral);
  const h1 = challengeHash(crypto, initialHash(crypto, vehicle.vehicleId, vehicle.publicKey), bytes);
  return { stage: 'challenged', vehicle, h1, vehicleEphemeral: msg.ephemeral, version: Math.max(...common) };
}

/**
 * Work the phone can do before the Challenge arrives: its ephemeral key and `es`, which depend
 * only on the vehicle's static key. Computing them while the radio delivers msg 1 takes a key
 * generation and one of the two ECDHs off the critical path.
 */
export interface FullAuthPrecomputed {
  ephemeral: KeyPair;
  es: Uint8Array;
}

/** Precomputes {@link FullAuthPrecomputed} for a vehicle. */
export function precomputeFullAuth(crypto: CryptoProvider, vehicle: VehiclePeer, ephemeral: KeyPair = crypto.generateKeyPair()): FullAuthPrecomputed {
  return { ephemeral, es: crypto.ecdh(ephemeral.privateKey, vehicle.publicKey) };
}

/** Full path, step 1: derives kAuth and returns the exact bytes the device key must sign. */
export function prepareFullAuth(
  crypto: CryptoProvider,
  state: Challenged,
  keyId: Uint8Array,
  command: CommandMsg,
  pre: FullAuthPrecomputed = precomputeFullAuth(crypto, state.vehicle),
): { state: Signing; toBeSigned: Uint8Array } {
  expectStage(state, 'challenged');
  const { ephemeral, es } = pre;
  const h2 = fullAuthHash(crypto, state.h1, state.version, ephemeral.publicKey);
  const ee = crypto.ecdh(ephemeral.privateKey, state.vehicleEphemeral);
  wipe(ephemeral.privateKey);
  const { kAuth, chain } = deriveAuthKeys(crypto, h2, 'full', ee, es);
  wipe(ee, es);
  const toBeSigned = phoneSignaturePayload(h2, keyId, encodeMessage(CommandSchema, command));
  const next: Signing = { stage: 'signing', h2, ephemeral: ephemeral.publicKey, keyId, command, kAuth, chain, version: state.version };
  return { state: next, toBeSigned };
}

/** Full path, step 2: seals key id, signature, command (and grants on first use) into msg 2. */
export function createFullAuth(
  crypto: CryptoProvider,
  state: Signing,
  signature: Uint8Array,
  grants?: Uint8Array[],
): { state: AwaitingResult; bytes: Uint8Array } {
  expectStage(state, 'signing');
  const body = encodeMessage(FullAuthBodySchema, { keyId: state.keyId, signature, command: state.command, ...(grants?.length ? { grants } : {}) });
  const sealed = crypto.aeadSeal(state.kAuth, nonceFor(0), body, state.h2);
  wipe(state.kAuth);
  const bytes = encodeMessage(AuthSchema, { version: state.version, ephemeral: state.ephemeral, sealed });
  const keys = deriveSessionKeys(crypto, sessionHash(crypto, state.h2, sealed), state.chain);
  return { state: { stage: 'sent', path: 'full', keys }, bytes };
}

/** Fast path: msg 2 authenticated by the single-use ticket. The caller must discard the ticket now. */
export function createFastAuth(
  crypto: CryptoProvider,
  state: Challenged,
  ticket: PhoneTicket,
  command: CommandMsg,
  ephemeral: KeyPair = crypto.generateKeyPair(),
): { state: AwaitingResult; bytes: Uint8Array } {
  expectStage(state, 'challenged');
  const h2 = fastAuthHash(crypto, state.h1, state.version, ephemeral.publicKey, ticket.ticketId);
  const ee = crypto.ecdh(ephemeral.privateKey, state.vehicleEphemeral);
  wipe(ephemeral.privateKey);
  const { kAuth, chain } = deriveAuthKeys(crypto, h2, 'fast', ee, ticket.resumptionSecret);
  wipe(ee);
  const sealed = crypto.aeadSeal(kAuth, nonceFor(0), encodeMessage(FastAuthBodySchema, { command }), h2);
  wipe(kAuth);
  const bytes = encodeMessage(AuthSchema, { version: state.version, ephemeral: ephemeral.publicKey, ticketId: ticket.ticketId, sealed });
  const keys = deriveSessionKeys(crypto, sessionHash(crypto, h2, sealed), chain);
  return { state: { stage: 'sent', path: 'fast', keys }, bytes };
}

/** Outcome of msg 3. */
export type HandshakeOutcome =
  | { kind: 'session'; channel: Channel; result: ResultMsg; ticket: PhoneTicket }
  | { kind: 'clear'; status: number };

/**
 * Msg 3. A sealed frame proves the vehicle holds its static key (full path) or the ticket's
 * secret (fast path): only then is a session returned. A clear status is unauthenticated.
 */
export function consumeResult(crypto: CryptoProvider, state: AwaitingResult, bytes: Uint8Array): HandshakeOutcome {
  expectStage(state, 'sent');
  const keys = state.keys;
  const channel = createChannel('phone', keys);
  (state as { stage: string }).stage = 'done';
  const ticket = { ticketId: keys.ticketId, resumptionSecret: keys.resumptionSecret };
  const frame = openFrame(crypto, channel, bytes);
  if ('status' in frame) {
    wipe(ticket.resumptionSecret);
    if (!CLEAR_STATUSES.includes(frame.status)) throw new ProtocolError('BAD_STATUS', 'unexpected clear status');
    return { kind: 'clear', status: frame.status };
  }
  const result = decodeMessage(ResultSchema, frame.plaintext);
  return { kind: 'session', channel, result, ticket };
}

function expectStage(state: { stage: string }, stage: string): void {
  if (state.stage !== stage) throw new ProtocolError('UNEXPECTED_STATE', `handshake is in stage ${state.stage}, expected ${stage}`);
}
