/**
 * HKDF-SHA256 split into its two steps (RFC 5869 §2.2 Extract, §2.3 Expand) on the provider's
 * HMAC, so a key schedule that derives several keys from one input key material extracts once and
 * expands each label from the same PRK. The outputs are exactly those of
 * `CryptoProvider.hkdfSha256(ikm, salt, info, length)` for every label: that function is Extract
 * then Expand, and Extract does not depend on `info` (test/crypto/hkdf.test.ts compares both).
 */
import type { CryptoProvider } from './provider.js';
import { wipe } from './provider.js';
import { concatBytes } from './bytes.js';
import { checkHkdfLength } from './validate.js';

/** SHA-256 output size, bytes (HashLen of RFC 5869). */
const HASH_BYTES = 32;

/** PRK = HMAC-SHA256(salt, ikm) (RFC 5869 §2.2). A secret: the caller wipes it. */
export function hkdfExtract(crypto: CryptoProvider, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return crypto.hmacSha256(salt, ikm);
}

/**
 * OKM = T(1) ‖ T(2) ‖ … truncated to `length`, T(i) = HMAC(PRK, T(i−1) ‖ info ‖ i) (RFC 5869 §2.3).
 * One HMAC per 32 bytes of output: the session keys here are one block each.
 */
export function hkdfExpand(crypto: CryptoProvider, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkHkdfLength(length);
  const out = new Uint8Array(length);
  let block: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    const input = concatBytes(block, info, Uint8Array.of(i));
    wipe(block);
    block = crypto.hmacSha256(prk, input);
    wipe(input);
    out.set(block.subarray(0, Math.min(HASH_BYTES, length - offset)), offset);
    offset += HASH_BYTES;
  }
  wipe(block);
  return out;
}
