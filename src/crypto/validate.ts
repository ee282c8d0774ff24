/**
 * Argument checks shared by both providers, so the noble and node:crypto implementations reject
 * exactly the same inputs with exactly the same error codes (test/crypto/differential.test.ts
 * holds them to it). Internal to src/crypto; not re-exported.
 *
 * Error codes (docs/CRYPTO.md §Errors):
 * - UsageError `INVALID_ARGUMENT`: wrong type, or a length/count parameter out of range.
 * - CryptoError `INVALID_PRIVATE_KEY`: not 32 bytes, or not in [1, n−1].
 * - CryptoError `INVALID_PUBLIC_KEY`: bad SEC1 encoding, off the curve, or the identity.
 * - CryptoError `INVALID_SCALAR`: a group scalar that is not 32 bytes or not below n.
 * - CryptoError `IDENTITY_POINT`: a group operation produced the point at infinity.
 * - CryptoError `INVALID_AEAD_KEY` / `INVALID_AEAD_NONCE`: AES-256-GCM key ≠ 32 or nonce ≠ 12 bytes.
 * - CryptoError `INVALID_SCRYPT_PARAMS`: N not a power of two > 1, r/p/dkLen out of range.
 */
import { CryptoError, UsageError } from '../errors.js';
import { assertBytes } from './bytes.js';
import type { ScryptParams } from './provider.js';

/** P-256 group order n (SEC 2 §2.4.2, FIPS 186-4 D.1.2.3). */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
/** P-256 field prime p. */
export const P256_PRIME = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
/** Bytes in a P-256 scalar or field element. */
export const P256_SCALAR_BYTES = 32;
/** Bytes in a SEC1 compressed P-256 point. */
export const P256_COMPRESSED_BYTES = 33;
/** Bytes in a SEC1 uncompressed P-256 point. */
export const P256_UNCOMPRESSED_BYTES = 65;
/** Bytes in an IEEE P1363 r‖s P-256 signature. */
export const P256_SIGNATURE_BYTES = 64;
/** AES-256-GCM key, nonce and tag sizes fixed by the provider contract. */
export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
/** HKDF-SHA256 output limit, RFC 5869 §2.3: L ≤ 255·HashLen. */
export const HKDF_SHA256_MAX_BYTES = 255 * 32;
/** Memory ceiling for scrypt (128·N·r·p plus 128·r·(N+2) working space), in bytes. */
export const SCRYPT_MAX_MEMORY_BYTES = 512 * 1024 * 1024;

/** Big-endian bytes to bigint. */
export function bytesToBigint(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** bigint in [0, 2^256) to 32 big-endian bytes. */
export function bigintToBytes32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Checks a private key: 32 bytes, 1 ≤ d ≤ n−1 (SEC 1 §3.2.1). Throws CryptoError
 * `INVALID_PRIVATE_KEY` (UsageError if not bytes at all).
 */
export function checkPrivateKey(privateKey: unknown, name = 'privateKey'): asserts privateKey is Uint8Array {
  assertBytes(privateKey, name);
  if (privateKey.length !== P256_SCALAR_BYTES) {
    throw new CryptoError('INVALID_PRIVATE_KEY', `"${name}" must be 32 bytes, got ${privateKey.length}`);
  }
  const d = bytesToBigint(privateKey);
  if (d === 0n || d >= P256_ORDER) {
    throw new CryptoError('INVALID_PRIVATE_KEY', `"${name}" is not in [1, n-1]`);
  }
}

/**
 * Checks the SEC1 framing of a public key before any decoder sees it (SEC 1 §2.3.4): 33 bytes
 * with prefix 02/03, or 65 bytes with prefix 04. This rejects the one-byte identity encoding
 * `00` and the hybrid forms 06/07, both of which OpenSSL would otherwise accept. Curve membership
 * is checked by the provider.
 */
export function checkPublicKeyFraming(publicKey: unknown, name = 'publicKey'): asserts publicKey is Uint8Array {
  assertBytes(publicKey, name);
  const prefix = publicKey[0];
  const ok =
    (publicKey.length === P256_COMPRESSED_BYTES && (prefix === 0x02 || prefix === 0x03)) ||
    (publicKey.length === P256_UNCOMPRESSED_BYTES && prefix === 0x04);
  if (!ok) throw invalidPublicKey(name);
}

/** The CryptoError for a public key that failed validation. No detail: it is attacker input. */
export function invalidPublicKey(name = 'publicKey', cause?: unknown): CryptoError {
  return new CryptoError('INVALID_PUBLIC_KEY', `"${name}" is not a valid P-256 point`, cause === undefined ? {} : { cause });
}

/** Checks a group scalar: 32 bytes, 0 ≤ k < n (zero allowed; callers decide what zero means). */
export function checkScalar(scalar: unknown, name: string): bigint {
  assertBytes(scalar, name);
  if (scalar.length !== P256_SCALAR_BYTES) {
    throw new CryptoError('INVALID_SCALAR', `"${name}" must be 32 bytes, got ${scalar.length}`);
  }
  const k = bytesToBigint(scalar);
  if (k >= P256_ORDER) throw new CryptoError('INVALID_SCALAR', `"${name}" is not below the group order`);
  return k;
}

/** Checks an AES-256-GCM key and nonce against the provider contract. */
export function checkAeadKeyNonce(key: unknown, nonce: unknown): asserts key is Uint8Array {
  assertBytes(key, 'key');
  assertBytes(nonce, 'nonce');
  if (key.length !== AEAD_KEY_BYTES) throw new CryptoError('INVALID_AEAD_KEY', `"key" must be 32 bytes, got ${key.length}`);
  if (nonce.length !== AEAD_NONCE_BYTES) {
    throw new CryptoError('INVALID_AEAD_NONCE', `"nonce" must be 12 bytes, got ${nonce.length}`);
  }
}

/** Whether an AEAD open call has well-formed arguments (open returns null instead of throwing). */
export function aeadOpenArgsOk(key: unknown, nonce: unknown, sealed: unknown, aad: unknown): boolean {
  return (
    key instanceof Uint8Array &&
    key.length === AEAD_KEY_BYTES &&
    nonce instanceof Uint8Array &&
    nonce.length === AEAD_NONCE_BYTES &&
    sealed instanceof Uint8Array &&
    sealed.length >= AEAD_TAG_BYTES &&
    aad instanceof Uint8Array
  );
}

/** Checks `n` for randomBytes: a safe non-negative integer no larger than 64 KiB per call. */
export function checkRandomLength(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65536) {
    throw new UsageError('INVALID_ARGUMENT', '"n" must be an integer in [0, 65536]');
  }
}

/** Checks an HKDF output length: integer in [0, 255·32] (RFC 5869 §2.3). */
export function checkHkdfLength(length: unknown): asserts length is number {
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0 || length > HKDF_SHA256_MAX_BYTES) {
    throw new UsageError('INVALID_ARGUMENT', `"length" must be an integer in [0, ${HKDF_SHA256_MAX_BYTES}]`);
  }
}

function isPositiveInt(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= max;
}

/**
 * Checks scrypt parameters (RFC 7914 §2): N a power of two greater than 1, r and p positive with
 * p ≤ (2^32−1)·32/(128·r), dkLen in [1, 2^16], and memory within {@link SCRYPT_MAX_MEMORY_BYTES}.
 * Both providers use this so they accept and refuse the same parameter sets.
 */
export function checkScryptParams(params: unknown): asserts params is ScryptParams {
  if (typeof params !== 'object' || params === null) {
    throw new UsageError('INVALID_ARGUMENT', '"params" must be an object');
  }
  const { N, r, p, dkLen } = params as Record<string, unknown>;
  const bad = (why: string): CryptoError => new CryptoError('INVALID_SCRYPT_PARAMS', `scrypt: ${why}`);
  if (!isPositiveInt(N, 2 ** 30) || N < 2 || (N & (N - 1)) !== 0) throw bad('N must be a power of two in [2, 2^30]');
  if (!isPositiveInt(r, 2 ** 20)) throw bad('r must be a positive integer');
  if (!isPositiveInt(p, 2 ** 20) || p > ((2 ** 32 - 1) * 32) / (128 * r)) throw bad('p out of range');
  if (!isPositiveInt(dkLen, 65536)) throw bad('dkLen must be in [1, 65536]');
  if (scryptMemoryBytes(N, r, p) > SCRYPT_MAX_MEMORY_BYTES) throw bad('parameters exceed the memory limit');
}

/** Working memory scrypt needs, in bytes (V is 128·N·r, B is 128·r·p, XY is 256·r). */
export function scryptMemoryBytes(N: number, r: number, p: number): number {
  return 128 * N * r + 128 * r * p + 256 * r;
}
