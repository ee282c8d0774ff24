/**
 * The vehicle identity's derived secrets, computed once per identity (docs/STORAGE.md §Secrets,
 * docs/BLE.md §Advertising key):
 *
 * - the advertising key, from its own 32-byte secret (not from the identity key), so it can be
 *   rotated without re-keying the car, to stop past key holders from tracking it;
 * - the ticket-sealing key, from ECDH(identity key, W) where W is a public point made at identity
 *   creation whose scalar was wiped: only the holder of the identity key (its handle) can derive
 *   it, so a dump of the store holds no usable ticket secret.
 *
 * Pure: everything through the crypto provider and the key-agreement handle.
 */
import type { VehicleKeyAgreement } from '../crypto/key-agreement.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { ADVERTISING_KEY_LABEL, AEAD_NONCE_BYTES, RESUMPTION_SECRET_BYTES, TICKET_SEAL_LABEL, VEHICLE_ID_BYTES } from '../protocol/constants.js';
import type { StoredIdentity } from './store.js';

/** A fresh public identity for a key-agreement handle: random vehicle id, advertising secret and W. */
export function newStoredIdentity(crypto: CryptoProvider, keyAgreement: VehicleKeyAgreement): StoredIdentity {
  const w = crypto.generateKeyPair();
  wipe(w.privateKey);
  return {
    vehicleId: crypto.randomBytes(VEHICLE_ID_BYTES),
    publicKey: crypto.validatePublicKey(keyAgreement.publicKey),
    advertisingSecret: crypto.randomBytes(32),
    ticketSealPublicKey: w.publicKey,
  };
}

/** The advertising-pseudonym key: HKDF(advertisingSecret, salt = vehicleId, info = label). */
export function deriveAdvertisingKey(crypto: CryptoProvider, identity: StoredIdentity): Uint8Array {
  return crypto.hkdfSha256(identity.advertisingSecret, identity.vehicleId, utf8(ADVERTISING_KEY_LABEL), 32);
}

/** The ticket-sealing key: HKDF(ECDH(s_V, W), salt = vehicleId, info = label). */
export function deriveTicketSealKey(crypto: CryptoProvider, identity: StoredIdentity, keyAgreement: VehicleKeyAgreement): Uint8Array {
  const z = keyAgreement.ecdh(identity.ticketSealPublicKey);
  try {
    return crypto.hkdfSha256(z, identity.vehicleId, utf8(TICKET_SEAL_LABEL), 32);
  } finally {
    wipe(z);
  }
}

/**
 * Seals a resumption secret for the store: nonce ‖ AES-GCM(secret [‖ u64be issuedAtMs]), bound to
 * ticket and key ids. The issue time (vehicle clock) rides inside the seal, so the store cannot
 * forge it: the resume path's freshness window (docs/PROTOCOL.md §14) is judged against it.
 */
export function sealTicketSecret(crypto: CryptoProvider, sealKey: Uint8Array, ticketId: Uint8Array, keyId: Uint8Array, secret: Uint8Array, issuedAtMs?: number): Uint8Array {
  const nonce = crypto.randomBytes(AEAD_NONCE_BYTES);
  const plain = issuedAtMs === undefined ? secret : concatBytes(secret, u64be(issuedAtMs));
  const sealed = concatBytes(nonce, crypto.aeadSeal(sealKey, nonce, plain, concatBytes(ticketId, keyId)));
  if (plain !== secret) wipe(plain);
  return sealed;
}

/** A ticket's opened seal: its secret, and its issue time when it was filed with one. */
export interface UnsealedTicket {
  secret: Uint8Array;
  issuedAtMs?: number;
}

/** Opens a sealed ticket, or null if it was not sealed by this vehicle for this ticket. */
export function unsealTicket(crypto: CryptoProvider, sealKey: Uint8Array, ticketId: Uint8Array, keyId: Uint8Array, sealed: Uint8Array): UnsealedTicket | null {
  if (sealed.length <= AEAD_NONCE_BYTES) return null;
  const plain = crypto.aeadOpen(sealKey, sealed.subarray(0, AEAD_NONCE_BYTES), sealed.subarray(AEAD_NONCE_BYTES), concatBytes(ticketId, keyId));
  if (plain === null) return null;
  if (plain.length === RESUMPTION_SECRET_BYTES) return { secret: plain };
  if (plain.length !== RESUMPTION_SECRET_BYTES + 8) {
    wipe(plain);
    return null;
  }
  const view = new DataView(plain.buffer, plain.byteOffset + RESUMPTION_SECRET_BYTES, 8);
  const issuedAtMs = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
  return { secret: plain.subarray(0, RESUMPTION_SECRET_BYTES), issuedAtMs };
}

/** Opens a sealed resumption secret, or null if it was not sealed by this vehicle for this ticket. */
export function unsealTicketSecret(crypto: CryptoProvider, sealKey: Uint8Array, ticketId: Uint8Array, keyId: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  return unsealTicket(crypto, sealKey, ticketId, keyId, sealed)?.secret ?? null;
}

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 2 ** 32));
  view.setUint32(4, n >>> 0);
  return out;
}
