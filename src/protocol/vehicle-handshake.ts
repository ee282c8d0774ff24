/**
 * Vehicle side of the v1 handshake, pure and synchronous (docs/PROTOCOL.md §5).
 *
 *   createChallenge   → msg 1  Challenge { versions, e_V }            (precomputable while idle)
 *   consumeAuth       ← msg 2  Auth { version, e_P, [ticketId], sealed }
 *     openFullAuth      full:  ee = DH(e_V, e_P), es = DH(s_V, e_P) → kAuth → FullAuthBody
 *     verifyFullAuth    full:  ECDSA(phone key, label ‖ h2 ‖ keyId ‖ command)
 *     openFastAuth      fast:  ee, resumption secret → kAuth → FastAuthBody
 *   finishHandshake   → session keys, channel, next ticket; msg 3 is the first sealed frame.
 *
 * Lookups (key registry, ticket store) are async and live in the driver (src/vehicle/); these
 * functions take their results as arguments. The state is an explicit union checked on entry,
 * and every failure leaves it `done`, except a fast-path miss, which allows exactly one full
 * Auth for the same challenge (the fallback costs no new challenge).
 */
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import type { VehicleKeyAgreement } from '../crypto/key-agreement.js';
import { wipe } from '../crypto/provider.js';
import { AuthenticationError, ProtocolError } from '../errors.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { SUPPORTED_VERSIONS } from './constants.js';
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
  type AuthKeys,
  type SessionKeys,
} from './keyschedule.js';
import {
  AuthSchema,
  ChallengeSchema,
  CommandSchema,
  FastAuthBodySchema,
  FullAuthBodySchema,
  type AuthMsg,
  type CommandMsg,
  type FullAuthBody,
  type PairingOfferMsg,
} from './messages.js';

/** The vehicle's long-term identity. The identity key is used for the `es` DH only, through its handle. */
export interface VehicleIdentity {
  vehicleId: Uint8Array;
  publicKey: Uint8Array;
  /** The identity key's handle (software, TPM, HSM or secure element). */
  keyAgreement: VehicleKeyAgreement;
}

/** Vehicle handshake state. */
export type VehicleHandshake =
  | {
      stage: 'challenged';
      ephemeral: KeyPair;
      challengeBytes: Uint8Array;
      h1: Uint8Array;
      versions: readonly number[];
      /** A fast Auth failed: only a full Auth is accepted now. */
      fastFailed: boolean;
    }
  | { stage: 'done' };

/** A full Auth whose sealed body opened: the signature is still unchecked. */
export interface OpenedFullAuth {
  path: 'full';
  body: FullAuthBody;
  commandBytes: Uint8Array;
  h2: Uint8Array;
  sealed: Uint8Array;
  keys: AuthKeys;
}

/** A fast Auth whose sealed body opened under the ticket's resumption secret: authenticated. */
export interface OpenedFastAuth {
  path: 'fast';
  command: CommandMsg;
  h2: Uint8Array;
  sealed: Uint8Array;
  keys: AuthKeys;
}

/** Msg 1. Pass `ephemeral` only for test vectors; otherwise a fresh key pair is generated. */
export function createChallenge(
  crypto: CryptoProvider,
  identity: VehicleIdentity,
  options: { ephemeral?: KeyPair; versions?: readonly number[]; pairing?: PairingOfferMsg } = {},
): { state: VehicleHandshake; bytes: Uint8Array } {
  const ephemeral = options.ephemeral ?? crypto.generateKeyPair();
  const versions = options.versions ?? SUPPORTED_VERSIONS;
  const bytes = encodeMessage(ChallengeSchema, {
    versions: [...versions],
    ephemeral: ephemeral.publicKey,
    ...(options.pairing ? { pairing: options.pairing } : {}),
  });
  const h1 = challengeHash(crypto, initialHash(crypto, identity.vehicleId, identity.publicKey), bytes);
  return { state: { stage: 'challenged', ephemeral, challengeBytes: bytes, h1, versions, fastFailed: false }, bytes };
}

/** Decodes msg 2 and checks it fits this challenge: a version we offered, fast path not yet tried. */
export function consumeAuth(state: VehicleHandshake, bytes: Uint8Array): AuthMsg {
  if (state.stage !== 'challenged') throw new ProtocolError('UNEXPECTED_MESSAGE', 'no challenge is open on this link');
  const auth = decodeMessage(AuthSchema, bytes);
  if (!state.versions.includes(auth.version)) throw new ProtocolError('BAD_VERSION', 'version was not offered');
  if (auth.ticketId !== undefined && state.fastFailed) throw new ProtocolError('UNEXPECTED_MESSAGE', 'only a full Auth may follow a fast-path miss');
  return auth;
}

/** Opens a full Auth's sealed body. Consumes the challenge whatever the outcome (single use). */
export function openFullAuth(
  crypto: CryptoProvider,
  identity: VehicleIdentity,
  state: VehicleHandshake,
  auth: AuthMsg,
): OpenedFullAuth {
  const ch = takeChallenge(state);
  try {
    const h2 = fullAuthHash(crypto, ch.h1, auth.version, auth.ephemeral);
    const ee = crypto.ecdh(ch.ephemeral.privateKey, auth.ephemeral);
    const es = identity.keyAgreement.ecdh(auth.ephemeral);
    const keys = deriveAuthKeys(crypto, h2, 'full', ee, es);
    wipe(ee, es);
    const plain = crypto.aeadOpen(keys.kAuth, nonceFor(0), auth.sealed, h2);
    if (plain === null) throw authFailed();
    const body = decodeMessage(FullAuthBodySchema, plain);
    wipe(plain, keys.kAuth);
    return { path: 'full', body, commandBytes: encodeMessage(CommandSchema, body.command), h2, sealed: auth.sealed, keys };
  } finally {
    wipe(ch.ephemeral.privateKey);
  }
}

/** Checks the phone's signature over label ‖ h2 ‖ keyId ‖ command, with the registry's key. */
export function verifyFullAuth(crypto: CryptoProvider, opened: OpenedFullAuth, phonePublicKey: Uint8Array): boolean {
  const payload = phoneSignaturePayload(opened.h2, opened.body.keyId, opened.commandBytes);
  return crypto.verify(phonePublicKey, payload, opened.body.signature);
}

/**
 * Opens a fast Auth with the ticket's resumption secret (null if the ticket is unknown, used or
 * expired). Returns null on any failure and arms the one-time full fallback for this challenge.
 */
export function openFastAuth(
  crypto: CryptoProvider,
  state: VehicleHandshake,
  auth: AuthMsg,
  resumptionSecret: Uint8Array | null,
): OpenedFastAuth | null {
  if (state.stage !== 'challenged' || state.fastFailed || auth.ticketId === undefined) {
    throw new ProtocolError('UNEXPECTED_MESSAGE', 'no fast Auth expected');
  }
  if (resumptionSecret === null) return fastMiss(state);
  const h2 = fastAuthHash(crypto, state.h1, auth.version, auth.ephemeral, auth.ticketId);
  let ee: Uint8Array;
  try {
    ee = crypto.ecdh(state.ephemeral.privateKey, auth.ephemeral);
  } catch {
    return fastMiss(state);
  }
  const keys = deriveAuthKeys(crypto, h2, 'fast', ee, resumptionSecret);
  wipe(ee);
  const plain = crypto.aeadOpen(keys.kAuth, nonceFor(0), auth.sealed, h2);
  wipe(keys.kAuth);
  if (plain === null) {
    wipe(keys.chain);
    return fastMiss(state);
  }
  let command: CommandMsg;
  try {
    command = decodeMessage(FastAuthBodySchema, plain).command;
  } catch {
    wipe(keys.chain);
    return fastMiss(state);
  }
  wipe(plain);
  takeChallenge(state);
  wipe(state.ephemeral.privateKey);
  return { path: 'fast', command, h2, sealed: auth.sealed, keys };
}

/** Session keys (and the next ticket) from an authenticated Auth (or ResumeAuth, src/protocol/resume.ts). */
export function finishHandshake(crypto: CryptoProvider, opened: Pick<OpenedFullAuth, 'h2' | 'sealed' | 'keys'>): SessionKeys {
  return deriveSessionKeys(crypto, sessionHash(crypto, opened.h2, opened.sealed), opened.keys.chain);
}

/** Wipes whatever secret a handshake still holds (link closed or timed out). */
export function abandonHandshake(state: VehicleHandshake): void {
  if (state.stage === 'challenged') wipe(state.ephemeral.privateKey);
  (state as { stage: string }).stage = 'done';
}

function takeChallenge(state: VehicleHandshake): Extract<VehicleHandshake, { stage: 'challenged' }> {
  if (state.stage !== 'challenged') throw new ProtocolError('UNEXPECTED_MESSAGE', 'challenge already used');
  const copy = { ...state };
  (state as { stage: string }).stage = 'done';
  return copy;
}

function fastMiss(state: Extract<VehicleHandshake, { stage: 'challenged' }>): null {
  state.fastFailed = true;
  return null;
}

function authFailed(): AuthenticationError {
  return new AuthenticationError('AUTH_FAILED', 'authentication failed');
}
