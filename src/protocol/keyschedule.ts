/**
 * Transcript hashes and key schedule of session protocol v1 (docs/PROTOCOL.md §4).
 *
 * Pure functions over the crypto provider. Every derived key has its own HKDF label, and every
 * direction its own key, so no key is ever used for two purposes (domain separation).
 *
 *   h0 = SHA-256("ble-digital-key v1" ‖ vehicleId ‖ vehicleStaticKey)
 *   h1 = SHA-256(h0 ‖ Challenge bytes)                          (versions + vehicle ephemeral)
 *   h2 = SHA-256(h1 ‖ path label ‖ version ‖ phoneEphemeral [‖ ticketId])
 *   ikm = ee ‖ es (full)  or  ee ‖ resumptionSecret (fast)
 *   kAuth = HKDF(ikm, salt h2, auth label, 32), chain = HKDF(ikm, salt h2, chain label, 32)
 *     (computed as one Extract and one Expand per label: the same bytes, fewer HMACs)
 *   h3 = SHA-256(h2 ‖ sealed Auth body)
 *   kV2P, kP2V, next resumption secret, next ticket id = HKDF(chain, salt h3, own label)
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import { hkdfExpand, hkdfExtract } from '../crypto/hkdf.js';
import { LABELS, RESUMPTION_SECRET_BYTES, TICKET_ID_BYTES, KEY_ID_BYTES, AEAD_NONCE_BYTES } from './constants.js';

/** Keys that protect the Auth message (msg 2). `chain` carries entropy into the session keys. */
export interface AuthKeys {
  /** AES-256-GCM key for the sealed part of Auth, nonce 0, AAD h2. */
  kAuth: Uint8Array;
  /** Chaining key, input of the session key derivation. */
  chain: Uint8Array;
}

/** Keys of an established session, plus the next resumption ticket. */
export interface SessionKeys {
  /** Transcript hash h3: AAD of every session frame (binds frames to this session). */
  sessionHash: Uint8Array;
  /** Vehicle → phone AEAD key. */
  kV2P: Uint8Array;
  /** Phone → vehicle AEAD key. */
  kP2V: Uint8Array;
  /** Single-use secret for the next fast-path Auth. */
  resumptionSecret: Uint8Array;
  /** Identifier under which the vehicle files that secret. */
  ticketId: Uint8Array;
}

/** Labels are constants: encode each once, not on every handshake. */
const labelCache = new Map<string, Uint8Array>();
const encoder = (s: string): Uint8Array => {
  let bytes = labelCache.get(s);
  if (!bytes) labelCache.set(s, (bytes = utf8(s)));
  return bytes;
};

/** h0: binds the whole session to one vehicle identity. */
export function initialHash(crypto: CryptoProvider, vehicleId: Uint8Array, vehicleStaticKey: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(encoder(LABELS.protocol), vehicleId, vehicleStaticKey));
}

/** h1: hashes the exact Challenge bytes, so the offered version list is authenticated (downgrade resistance). */
export function challengeHash(crypto: CryptoProvider, h0: Uint8Array, challengeBytes: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(h0, challengeBytes));
}

/** h2 for the full path: the path label fixes the layout, so no length prefixes are needed. */
export function fullAuthHash(crypto: CryptoProvider, h1: Uint8Array, version: number, phoneEphemeral: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(h1, encoder(LABELS.full), Uint8Array.of(version), phoneEphemeral));
}

/** h2 for the fast path: includes the ticket id, so a ticket is bound to this challenge. */
export function fastAuthHash(
  crypto: CryptoProvider,
  h1: Uint8Array,
  version: number,
  phoneEphemeral: Uint8Array,
  ticketId: Uint8Array,
): Uint8Array {
  return crypto.sha256(concatBytes(h1, encoder(LABELS.fast), Uint8Array.of(version), phoneEphemeral, ticketId));
}

/**
 * Auth keys. `secrets` are the DH outputs (full: ee ‖ es) or ee ‖ resumption secret (fast).
 * The input key material is wiped here; callers wipe the components they own.
 */
export function deriveAuthKeys(crypto: CryptoProvider, h2: Uint8Array, path: 'full' | 'fast', ...secrets: Uint8Array[]): AuthKeys {
  const ikm = concatBytes(...secrets);
  const full = path === 'full';
  // One Extract for both labels: HKDF(ikm, h2, label) = Expand(Extract(h2, ikm), label), byte for byte.
  const prk = hkdfExtract(crypto, h2, ikm);
  wipe(ikm);
  const keys = {
    kAuth: hkdfExpand(crypto, prk, encoder(full ? LABELS.authFull : LABELS.authFast), 32),
    chain: hkdfExpand(crypto, prk, encoder(full ? LABELS.chainFull : LABELS.chainFast), 32),
  };
  wipe(prk);
  return keys;
}

/** h3: the transcript through the sealed Auth body. */
export function sessionHash(crypto: CryptoProvider, h2: Uint8Array, sealedAuth: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(h2, sealedAuth));
}

/** Session keys and the next ticket from the chaining key. Wipes `chain`. */
export function deriveSessionKeys(crypto: CryptoProvider, h3: Uint8Array, chain: Uint8Array): SessionKeys {
  // One Extract for the four labels (same outputs as four HKDF calls, see deriveAuthKeys).
  const prk = hkdfExtract(crypto, h3, chain);
  wipe(chain);
  const expand = (label: string, n: number) => hkdfExpand(crypto, prk, encoder(label), n);
  const keys: SessionKeys = {
    sessionHash: h3,
    kV2P: expand(LABELS.vehicleToPhone, 32),
    kP2V: expand(LABELS.phoneToVehicle, 32),
    resumptionSecret: expand(LABELS.resumptionSecret, RESUMPTION_SECRET_BYTES),
    ticketId: expand(LABELS.ticketId, TICKET_ID_BYTES),
  };
  wipe(prk);
  return keys;
}

/** Key id of a phone public key: SHA-256("DK1 key id" ‖ compressed key), first 8 bytes. */
export function keyIdOf(crypto: CryptoProvider, publicKey: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(encoder(LABELS.keyId), crypto.validatePublicKey(publicKey))).slice(0, KEY_ID_BYTES);
}

/** The bytes a phone signs in a full Auth: label ‖ h2 ‖ key id ‖ encoded command. */
export function phoneSignaturePayload(h2: Uint8Array, keyId: Uint8Array, commandBytes: Uint8Array): Uint8Array {
  return concatBytes(encoder(LABELS.phoneSignature), h2, keyId, commandBytes);
}

/** AEAD nonce for a counter: 4 zero bytes ‖ u64 big-endian counter. Counters are implicit (never sent). */
export function nonceFor(counter: number): Uint8Array {
  const n = new Uint8Array(AEAD_NONCE_BYTES);
  new DataView(n.buffer).setUint32(8, counter >>> 0);
  new DataView(n.buffer).setUint32(4, Math.floor(counter / 2 ** 32));
  return n;
}
