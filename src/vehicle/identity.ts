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
import { ADVERTISING_KEY_LABEL, AEAD_NONCE_BYTES, TICKET_SEAL_LABEL, VEHICLE_ID_BYTES } from '../protocol/constants.js';
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

/** Seals a resumption secret for the store: nonce ‖ AES-GCM(secret), bound to ticket and key ids. */
export function sealTicketSecret(crypto: CryptoProvider, sealKey: Uint8Array, ticketId: Uint8Array, keyId: Uint8Array, secret: Uint8Array): Uint8Array {
  const nonce = crypto.randomBytes(AEAD_NONCE_BYTES);
  return concatBytes(nonce, crypto.aeadSeal(sealKey, nonce, secret, concatBytes(ticketId, keyId)));
}

/** Opens a sealed resumption secret, or null if it was not sealed by this vehicle for this ticket. */
export function unsealTicketSecret(crypto: CryptoProvider, sealKey: Uint8Array, ticketId: Uint8Array, keyId: Uint8Array, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length <= AEAD_NONCE_BYTES) return null;
  return crypto.aeadOpen(sealKey, sealed.subarray(0, AEAD_NONCE_BYTES), sealed.subarray(AEAD_NONCE_BYTES), concatBytes(ticketId, keyId));
}
