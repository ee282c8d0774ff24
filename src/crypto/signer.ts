/**
 * Software {@link Signer}: a long-term P-256 key held in memory, for the vehicle's key module on
 * Node, the examples and tests.
 *
 * On phones the device key should never be software: implement `Signer` over the platform
 * keystore instead — iOS `SecKeyCreateSignature(key, .ecdsaSignatureMessageX962SHA256, msg)` on a
 * Secure Enclave key, Android Keystore `Signature.getInstance("SHA256withECDSA")` on a
 * StrongBox/TEE key. Both hash the message themselves (pass the raw message, not a digest) and
 * both return DER: convert with `signatureFromDer` from `./der.js` before returning. Their public
 * keys come as X9.63 uncompressed points (iOS `SecKeyCopyExternalRepresentation`) or SPKI
 * (Android `getEncoded()`, the last 65 bytes): pass them through
 * `CryptoProvider.validatePublicKey` to get the 33-byte compressed form.
 */
import { assertBytes } from './bytes.js';
import type { CryptoProvider, Signer } from './provider.js';

/** A Signer whose private key is in memory and can be exported (for persistence by the caller). */
export interface SoftwareSigner extends Signer {
  /** A copy of the 32-byte private scalar. A secret: store it encrypted, wipe copies after use. */
  exportPrivateKey(): Uint8Array;
}

/**
 * Creates a software signer over `provider`. With no `privateKey` a fresh key is generated; a
 * given key is validated (CryptoError `INVALID_PRIVATE_KEY`) and copied, so the caller may wipe
 * its own buffer.
 */
export function createSoftwareSigner(provider: CryptoProvider, privateKey?: Uint8Array): SoftwareSigner {
  let secret: Uint8Array;
  let publicKey: Uint8Array;
  if (privateKey === undefined) {
    ({ privateKey: secret, publicKey } = provider.generateKeyPair());
  } else {
    assertBytes(privateKey, 'privateKey');
    secret = Uint8Array.from(privateKey);
    publicKey = provider.publicKeyFromPrivate(secret);
  }
  return Object.freeze({
    publicKey,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return provider.sign(secret, message);
    },
    exportPrivateKey(): Uint8Array {
      return Uint8Array.from(secret);
    },
  });
}
