/**
 * Owner pairing messages (docs/PROTOCOL.md §10): SPAKE2+ (RFC 9383) between the phone, which
 * knows the pairing code the car shows, and the vehicle, which stores only the verifier
 * (w0, L). After both confirmations, inside the PAKE-keyed channel, the phone enrolls its public
 * key (with proof of possession) and receives the vehicle's id, identity key and advertising key.
 *
 *   V → P  Challenge { versions, e_V, pairing: { salt, logN, r, p } }
 *   P → V  PairStart   { shareP }
 *   V → P  PairReply   { shareV, confirmV }
 *   P → V  PairConfirm { confirmP, sealed PairEnroll { publicKey, signature, name } }
 *   V → P  PairDone    { sealed PairWelcome { vehicleId, publicKey, advertisingKey } }
 *
 * The context of the PAKE is "DK1 pairing" ‖ the exact Challenge bytes: it binds the run to this
 * challenge, the scrypt parameters and the offered versions, so tampering with any of them makes
 * the confirmations fail.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import { defineSchema, t } from '../wire/schema.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, VEHICLE_ID_BYTES } from './constants.js';
import { PAIRING_KDF_FIELDS } from './messages.js';

/** SPAKE2+ share size (uncompressed P-256 point), bytes. */
export const SHARE_BYTES = 65;
/** SPAKE2+ confirmation MAC size, bytes. */
export const CONFIRM_BYTES = 32;

/** PAKE identities: fixed role labels (the phone does not know the vehicle id before pairing). */
export const PAIRING_ID_PROVER = utf8('DK1 phone');
export const PAIRING_ID_VERIFIER = utf8('DK1 vehicle');

const LABEL_CONTEXT = 'DK1 pairing';
const LABEL_P2V = 'DK1 pairing p2v';
const LABEL_V2P = 'DK1 pairing v2p';
const LABEL_PROOF = 'DK1 pairing proof';

/** P → V: the prover's share. */
export interface PairStartMsg {
  shareP: Uint8Array;
}
/** Schema of {@link PairStartMsg}. Key 8 keeps pairing messages disjoint from Auth (keys 0–3). */
export const PairStartSchema = defineSchema<PairStartMsg>('PairStart', {
  maxBytes: 80,
  fields: { shareP: { key: 8, type: t.bytes({ len: SHARE_BYTES }) } },
});

/** V → P: the verifier's share and confirmation. */
export interface PairReplyMsg {
  shareV: Uint8Array;
  confirmV: Uint8Array;
}
/** Schema of {@link PairReplyMsg}. */
export const PairReplySchema = defineSchema<PairReplyMsg>('PairReply', {
  maxBytes: 120,
  fields: {
    shareV: { key: 8, type: t.bytes({ len: SHARE_BYTES }) },
    confirmV: { key: 9, type: t.bytes({ len: CONFIRM_BYTES }) },
  },
});

/** P → V: the prover's confirmation and the sealed enrollment. */
export interface PairConfirmMsg {
  confirmP: Uint8Array;
  sealed: Uint8Array;
}
/** Schema of {@link PairConfirmMsg}. */
export const PairConfirmSchema = defineSchema<PairConfirmMsg>('PairConfirm', {
  maxBytes: 256,
  fields: {
    confirmP: { key: 8, type: t.bytes({ len: CONFIRM_BYTES }) },
    sealed: { key: 9, type: t.bytes({ min: 17, max: 200 }) },
  },
});

/** V → P: the sealed welcome. */
export interface PairDoneMsg {
  sealed: Uint8Array;
}
/** Schema of {@link PairDoneMsg}. */
export const PairDoneSchema = defineSchema<PairDoneMsg>('PairDone', {
  maxBytes: 160,
  fields: { sealed: { key: 9, type: t.bytes({ min: 17, max: 140 }) } },
});

/** Sealed in PairConfirm: the phone key to enroll, a proof of possession, and a name. */
export interface PairEnrollMsg {
  publicKey: Uint8Array;
  signature: Uint8Array;
  name?: string;
}
/** Schema of {@link PairEnrollMsg}. */
export const PairEnrollSchema = defineSchema<PairEnrollMsg>('PairEnroll', {
  maxBytes: 160,
  fields: {
    publicKey: { key: 0, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    signature: { key: 1, type: t.bytes({ len: SIGNATURE_BYTES }) },
    name: { key: 2, type: t.text({ min: 1, max: 32 }), optional: true },
  },
});

/** Sealed in PairDone: what the phone needs to open this vehicle from now on. */
export interface PairWelcomeMsg {
  vehicleId: Uint8Array;
  publicKey: Uint8Array;
  advertisingKey: Uint8Array;
}
/** Schema of {@link PairWelcomeMsg}. */
export const PairWelcomeSchema = defineSchema<PairWelcomeMsg>('PairWelcome', {
  maxBytes: 120,
  fields: {
    vehicleId: { key: 0, type: t.bytes({ len: VEHICLE_ID_BYTES }) },
    publicKey: { key: 1, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    advertisingKey: { key: 2, type: t.bytes({ len: 32 }) },
  },
});

/** Every pairing schema, for the fuzz harness. */
export const PAIRING_SCHEMAS = [PairStartSchema, PairReplySchema, PairConfirmSchema, PairDoneSchema, PairEnrollSchema, PairWelcomeSchema] as const;

/** scrypt parameters of an offer or record (the output length is fixed by SPAKE2+). */
export function scryptParamsOf(kdf: { logN: number; r: number; p: number }): { N: number; r: number; p: number } {
  return { N: 2 ** kdf.logN, r: kdf.r, p: kdf.p };
}

/** The SPAKE2+ context for a run bound to this exact Challenge. */
export function pairingContext(challengeBytes: Uint8Array): Uint8Array {
  return concatBytes(utf8(LABEL_CONTEXT), challengeBytes);
}

/** The two single-message AEAD keys of the pairing channel (nonce 0 each, AAD = SHA-256(context)). */
export function pairingKeys(crypto: CryptoProvider, sharedKey: Uint8Array, context: Uint8Array): { p2v: Uint8Array; v2p: Uint8Array; aad: Uint8Array } {
  const aad = crypto.sha256(context);
  return {
    p2v: crypto.hkdfSha256(sharedKey, aad, utf8(LABEL_P2V), 32),
    v2p: crypto.hkdfSha256(sharedKey, aad, utf8(LABEL_V2P), 32),
    aad,
  };
}

/** Bytes the phone signs to prove it holds the key it enrolls: label ‖ SHA-256(context) ‖ shareP ‖ shareV. */
export function pairingProofPayload(aad: Uint8Array, shareP: Uint8Array, shareV: Uint8Array): Uint8Array {
  return concatBytes(utf8(LABEL_PROOF), aad, shareP, shareV);
}

/** A pairing verifier record (what a factory prints beside the code, or what openPairingWindow makes). */
export interface PairingRecordMsg {
  salt: Uint8Array;
  logN: number;
  r: number;
  p: number;
  w0: Uint8Array;
  L: Uint8Array;
}
/** Schema of {@link PairingRecordMsg}, as stored by the vehicle. */
export const PairingRecordSchema = defineSchema<PairingRecordMsg>('PairingRecord', {
  maxBytes: 160,
  fields: {
    ...PAIRING_KDF_FIELDS,
    w0: { key: 4, type: t.bytes({ len: 32 }) },
    L: { key: 5, type: t.bytes({ len: SHARE_BYTES }) },
  },
});
