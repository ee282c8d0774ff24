/**
 * The one crypto interface everything in ble-digital-key goes through.
 *
 * Synchronous on purpose: the protocol core is a set of pure create/consume functions, and
 * both implementations (pure JS on @noble/*, and node:crypto) are synchronous. Only the
 * long-term device key is async, behind {@link Signer}, because it may live in a Secure
 * Enclave or Android Keystore.
 *
 * Conventions (docs/CRYPTO.md):
 * - Curve: NIST P-256 only (hardware keystores only do P-256).
 * - Private keys: 32-byte big-endian scalars in [1, n-1].
 * - Public keys: accepted as SEC1 compressed (33 bytes) or uncompressed (65 bytes); every
 *   input point is validated (on the curve, not the identity). Outputs are compressed.
 * - ECDH output: the 32-byte x coordinate (as OpenSSL / WebCrypto), never the full point.
 * - Signatures: ECDSA over SHA-256 of the message, 64-byte r‖s (IEEE P1363). Verification
 *   accepts high-S signatures: phone keystores, WebCrypto and OpenSSL produce them.
 * - AEAD: AES-256-GCM (docs/CRYPTO.md explains the choice), 12-byte nonce, 16-byte tag.
 */
export interface CryptoProvider {
  /** Human-readable implementation name, e.g. `noble` or `native`. */
  readonly name: string;

  /** `n` cryptographically secure random bytes. */
  randomBytes(n: number): Uint8Array;

  /** A fresh P-256 key pair. */
  generateKeyPair(): KeyPair;
  /** The compressed public key of a 32-byte private scalar. Throws CryptoError if out of range. */
  publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array;
  /**
   * Validates a SEC1 public key (compressed or uncompressed): on the curve, not the identity,
   * coordinates in range. Returns the 33-byte compressed form. Throws CryptoError otherwise.
   */
  validatePublicKey(publicKey: Uint8Array): Uint8Array;
  /** Uncompressed (65-byte) SEC1 form of a valid public key. Throws CryptoError if invalid. */
  uncompressPublicKey(publicKey: Uint8Array): Uint8Array;
  /** P-256 ECDH: the 32-byte x coordinate of privateKey·peer. Validates the peer key first. */
  ecdh(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;

  /** ECDSA P-256 / SHA-256 over `message`; returns 64-byte r‖s. */
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * Verifies a 64-byte r‖s ECDSA P-256 / SHA-256 signature. High-S is accepted. Returns false
   * (never throws) on any malformed input: bad key, bad length, r or s out of range.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  /** SHA-256. */
  sha256(data: Uint8Array): Uint8Array;
  /** HMAC-SHA256. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) extract-and-expand. `length` ≤ 255·32. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** AES-256-GCM seal: ciphertext ‖ 16-byte tag. Key 32 bytes, nonce 12 bytes. */
  aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** AES-256-GCM open. Returns null (never throws) if the tag does not verify or input is malformed. */
  aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null;

  /**
   * scrypt (RFC 7914), the memory-hard function that stretches a pairing code into the SPAKE2+
   * secrets w0 and w1 (RFC 9383 §3.2). Parameters are fixed by the pairing spec.
   */
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Uint8Array;

  /** P-256 group operations, needed by SPAKE2+ (RFC 9383). */
  readonly group: P256Group;
}

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
  /** Output length in bytes. */
  dkLen: number;
}

/** A P-256 key pair. The private key is a secret: wipe it with `wipe()` when done. */
export interface KeyPair {
  /** 32-byte big-endian scalar. */
  privateKey: Uint8Array;
  /** 33-byte SEC1 compressed point. */
  publicKey: Uint8Array;
}

/**
 * Minimal P-256 group arithmetic for SPAKE2+. Points are SEC1 bytes (compressed or
 * uncompressed on input, uncompressed 65 bytes on output, as RFC 9383 encodes them);
 * scalars are 32-byte big-endian.
 */
export interface P256Group {
  /** Group order n as a bigint. */
  readonly order: bigint;
  /** Reduce an arbitrary-length big-endian integer modulo n; returns 32 bytes. */
  reduceScalar(bytes: Uint8Array): Uint8Array;
  /** a·G + b·P (either scalar may be zero; b and P may be omitted). Validates P. Returns 65 bytes. */
  mulAdd(a: Uint8Array, b?: Uint8Array, point?: Uint8Array): Uint8Array;
  /** k·P, validating P; throws CryptoError if the result is the identity. Returns 65 bytes. */
  mul(k: Uint8Array, point: Uint8Array): Uint8Array;
  /** P − k·Q (used to strip the SPAKE2+ blinding), validating inputs. Returns 65 bytes. */
  subMul(point: Uint8Array, k: Uint8Array, q: Uint8Array): Uint8Array;
  /** Whether the bytes are a valid point other than the identity. */
  isValidPoint(point: Uint8Array): boolean;
}

/**
 * A long-term signing key that may never leave secure hardware (Secure Enclave, Android
 * Keystore, an HSM). Only the public key and an async sign operation are exposed.
 */
export interface Signer {
  /** 33-byte SEC1 compressed P-256 public key. */
  readonly publicKey: Uint8Array;
  /**
   * ECDSA P-256 / SHA-256 over `message`, 64-byte r‖s. Implementations backed by a keystore
   * may return DER: pass it through `signatureFromDer` before returning.
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Overwrites a secret buffer with zeros. Call it on ephemeral secrets as soon as they are used. */
export function wipe(...buffers: Array<Uint8Array | undefined | null>): void {
  for (const b of buffers) b?.fill(0);
}
