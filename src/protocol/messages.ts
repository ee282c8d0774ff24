/**
 * Message schemas of protocol 1.1, on-wire version 2 (docs/PROTOCOL.md §3, CDDL there).
 *
 * Every message is a deterministic CBOR map with small integer keys, decoded by the strict
 * codec in src/wire/. Decoders are the only way untrusted bytes reach protocol code.
 */
import { defineSchema, t } from '../wire/schema.js';
import {
  MAX_REQUEST_ID_BYTES,
  AEAD_TAG_BYTES,
  COMMAND_ID_MAX,
  KEY_ID_BYTES,
  MAX_AUTH_BYTES,
  MAX_CHALLENGE_BYTES,
  MAX_COMMAND_DATA_BYTES,
  MAX_FRAME_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  TICKET_ID_BYTES,
} from './constants.js';

/** Largest single grant (a signed delegation) carried in an Auth, bytes. */
export const MAX_GRANT_BYTES = 400;
/** Longest grant chain an Auth may carry. */
export const MAX_GRANT_CHAIN = 3;

/**
 * Present in the Challenge only while a pairing window is open: what the phone needs to stretch
 * the pairing code (scrypt salt and cost, RFC 9383 §3.2). Public values.
 */
export interface PairingOfferMsg {
  salt: Uint8Array;
  logN: number;
  r: number;
  p: number;
}
/** Smallest and largest scrypt log2(N) a pairing may use: the bounds cap a phone's work. */
export const MIN_PAIRING_LOG_N = 10;
export const MAX_PAIRING_LOG_N = 20;

/**
 * The scrypt fields shared by the offer (on the air) and the verifier record (on the vehicle),
 * so their bounds cannot drift apart.
 */
export const PAIRING_KDF_FIELDS = {
  salt: { key: 0, type: t.bytes({ min: 16, max: 32 }) },
  logN: { key: 1, type: t.uint({ min: MIN_PAIRING_LOG_N, max: MAX_PAIRING_LOG_N }) },
  r: { key: 2, type: t.uint({ min: 1, max: 16 }) },
  p: { key: 3, type: t.uint({ min: 1, max: 4 }) },
} as const;

/** Schema of {@link PairingOfferMsg}. Bounds cap the work a vehicle can ask of a phone. */
export const PairingOfferSchema = defineSchema<PairingOfferMsg>('PairingOffer', {
  maxBytes: 48,
  fields: PAIRING_KDF_FIELDS,
});

/** Msg 1, vehicle → phone: offered versions, a fresh single-use vehicle ephemeral key, and the pairing offer while a window is open. */
export interface ChallengeMsg {
  versions: number[];
  ephemeral: Uint8Array;
  pairing?: PairingOfferMsg;
}
/** Schema of {@link ChallengeMsg}. */
export const ChallengeSchema = defineSchema<ChallengeMsg>('Challenge', {
  maxBytes: MAX_CHALLENGE_BYTES,
  fields: {
    versions: { key: 0, type: t.array(t.uint({ min: 1, max: 255 }), { min: 1, max: 8 }) },
    ephemeral: { key: 1, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    pairing: { key: 2, type: t.map(PairingOfferSchema), optional: true },
  },
});

/**
 * Msg 2, phone → vehicle: chosen version, phone ephemeral key, a ticket id on the fast path,
 * and the sealed body (FullAuthBody or FastAuthBody, AES-256-GCM, nonce 0, AAD h2).
 */
export interface AuthMsg {
  version: number;
  ephemeral: Uint8Array;
  ticketId?: Uint8Array;
  sealed: Uint8Array;
}
/** Schema of {@link AuthMsg}. */
export const AuthSchema = defineSchema<AuthMsg>('Auth', {
  maxBytes: MAX_AUTH_BYTES,
  fields: {
    version: { key: 0, type: t.uint({ min: 1, max: 255 }) },
    ephemeral: { key: 1, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    ticketId: { key: 2, type: t.bytes({ len: TICKET_ID_BYTES }), optional: true },
    sealed: { key: 3, type: t.bytes({ min: AEAD_TAG_BYTES + 1, max: MAX_AUTH_BYTES }) },
  },
});

/**
 * A command: id, flags (bit 0 = user present), optional app-defined argument bytes, and an
 * optional request id: a retry carrying the same id gets the first attempt's result without
 * running again (exactly-once, docs/PROTOCOL.md §6.4).
 */
export interface CommandMsg {
  id: number;
  flags?: number;
  data?: Uint8Array;
  requestId?: Uint8Array;
}
/** Schema of {@link CommandMsg}. */
export const CommandSchema = defineSchema<CommandMsg>('Command', {
  maxBytes: MAX_COMMAND_DATA_BYTES + 16 + MAX_REQUEST_ID_BYTES + 2,
  fields: {
    id: { key: 0, type: t.uint({ min: 1, max: COMMAND_ID_MAX }) },
    flags: { key: 1, type: t.uint({ max: 255 }), optional: true },
    data: { key: 2, type: t.bytes({ min: 1, max: MAX_COMMAND_DATA_BYTES }), optional: true },
    requestId: { key: 3, type: t.bytes({ min: 1, max: MAX_REQUEST_ID_BYTES }), optional: true },
  },
});

/** Sealed body of a full Auth: who the phone is, its signature, the first command, and grants on first use. */
export interface FullAuthBody {
  keyId: Uint8Array;
  signature: Uint8Array;
  command: CommandMsg;
  grants?: Uint8Array[];
}
/** Schema of {@link FullAuthBody}. */
export const FullAuthBodySchema = defineSchema<FullAuthBody>('FullAuthBody', {
  maxBytes: MAX_AUTH_BYTES,
  fields: {
    keyId: { key: 0, type: t.bytes({ len: KEY_ID_BYTES }) },
    signature: { key: 1, type: t.bytes({ len: SIGNATURE_BYTES }) },
    command: { key: 2, type: t.map(CommandSchema) },
    grants: { key: 3, type: t.array(t.bytes({ min: 1, max: MAX_GRANT_BYTES }), { min: 1, max: MAX_GRANT_CHAIN }), optional: true },
  },
});

/** Sealed body of a fast Auth: only the command (the ticket authenticates the phone). */
export interface FastAuthBody {
  command: CommandMsg;
}
/** Schema of {@link FastAuthBody}. */
export const FastAuthBodySchema = defineSchema<FastAuthBody>('FastAuthBody', {
  maxBytes: MAX_COMMAND_DATA_BYTES + 32,
  fields: {
    command: { key: 0, type: t.map(CommandSchema) },
  },
});

/**
 * Every message after Auth, both directions: either a clear status (vehicle only: rejected,
 * retry-full, busy) or a sealed body (Command phone → vehicle, Result vehicle → phone).
 */
export interface FrameMsg {
  status?: number;
  sealed?: Uint8Array;
}
/** Schema of {@link FrameMsg}. */
export const FrameSchema = defineSchema<FrameMsg>('Frame', {
  maxBytes: MAX_FRAME_BYTES,
  fields: {
    status: { key: 0, type: t.uint({ max: 255 }), optional: true },
    sealed: { key: 1, type: t.bytes({ min: AEAD_TAG_BYTES + 1, max: MAX_FRAME_BYTES }), optional: true },
  },
});

/** Sealed result of a command: status (constants STATUS) and optional payload. */
export interface ResultMsg {
  status: number;
  data?: Uint8Array;
}
/** Schema of {@link ResultMsg}. */
export const ResultSchema = defineSchema<ResultMsg>('Result', {
  maxBytes: MAX_FRAME_BYTES,
  fields: {
    status: { key: 0, type: t.uint({ max: 255 }) },
    data: { key: 1, type: t.bytes({ min: 1, max: MAX_FRAME_BYTES - 32 }), optional: true },
  },
});

/** Every schema of the session protocol, for the fuzz harness and the spec generator. */
export const SESSION_SCHEMAS = [
  ChallengeSchema,
  PairingOfferSchema,
  AuthSchema,
  CommandSchema,
  FullAuthBodySchema,
  FastAuthBodySchema,
  FrameSchema,
  ResultSchema,
] as const;
