/**
 * A vector-only ECDSA signer: RFC 6979 deterministic `k` with NO extra entropy (RFC 6979 §3.2),
 * SHA-256 of the message hashed once, low-S normalised, r ‖ s. Given the private key and the
 * message, anyone reproduces the signature byte for byte, which the test vectors need
 * (docs/PROTOCOL.md §12). Production signing stays hedged (docs/CRYPTO.md §3): a hedged
 * signature survives a fault or a bad RNG on the signer, a vector does not need to.
 */
import { p256 } from '@noble/curves/nist.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { Signer } from '../../src/crypto/provider.js';

/** Signs like the library's signers, but deterministically (RFC 6979, no extra entropy). */
export function createDeterministicSigner(privateKey: Uint8Array): Signer {
  const secret = Uint8Array.from(privateKey);
  const publicKey = createNobleProvider().publicKeyFromPrivate(secret);
  return Object.freeze({
    publicKey,
    async sign(message: Uint8Array): Promise<Uint8Array> {
      return p256.sign(message, secret, { prehash: true, lowS: true, extraEntropy: false, format: 'compact' });
    },
  });
}
