/**
 * The portable CryptoProvider: pure TypeScript on @noble/curves, @noble/hashes and
 * @noble/ciphers (audited, no native code), for React Native, browsers and anywhere else.
 * On Node, `createNodeProvider()` from the package's `./node` entry is ~50× faster for P-256.
 *
 * noble v2 pitfalls handled here (docs/CRYPTO.md §Providers):
 * - `p256.verify` rejects high-S signatures by default (`lowS: true`); we pass `lowS: false`
 *   because OpenSSL, WebCrypto and phone keystores emit high-S half the time.
 * - `p256.sign`/`verify` hash the message with SHA-256 themselves (`prehash: true`); we pass raw
 *   messages and never pre-hash, so the signature is ECDSA over SHA-256(message) exactly once.
 *   The Wycheproof ECDSA vectors (test/crypto/wycheproof.test.ts) prove it.
 * - `getSharedSecret` returns a 33-byte point; the contract wants the 32-byte x coordinate, so
 *   ECDH multiplies the validated point directly and returns x only.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError, DigitalKeyError, UsageError } from '../errors.js';
import { assertBytes } from './bytes.js';
import { type CryptoProvider, type KeyPair, type P256Group, type ScryptParams, wipe } from './provider.js';
import {
  AEAD_TAG_BYTES,
  P256_ORDER,
  P256_SIGNATURE_BYTES,
  SCRYPT_MAX_MEMORY_BYTES,
  aeadOpenArgsOk,
  bigintToBytes32,
  bytesToBigint,
  checkAeadKeyNonce,
  checkHkdfLength,
  checkPrivateKey,
  checkPublicKeyFraming,
  checkRandomLength,
  checkScalar,
  checkScryptParams,
  invalidPublicKey,
} from './validate.js';

type Point = typeof p256.Point.BASE;
const Point = p256.Point;

/** Options for {@link createNobleProvider}. */
export interface NobleProviderOptions {
  /**
   * Source of randomness (default: `crypto.getRandomValues`). Inject a seeded generator in
   * tests for reproducible keys and signatures. Must return exactly `n` fresh bytes.
   */
  randomBytes?: (n: number) => Uint8Array;
}

/** Code of the UsageError raised when the platform has no `crypto.getRandomValues`. */
export const NO_RANDOM_SOURCE = 'NO_RANDOM_SOURCE';

/** Largest request `getRandomValues` must serve in one call (WebCrypto §10.1.1). */
const GET_RANDOM_VALUES_MAX_BYTES = 65_536;

/**
 * `n` bytes from the platform's `crypto.getRandomValues`, looked up at each call so a polyfill
 * imported after this module still counts. React Native (Hermes) has no `crypto` at all: say
 * how to fix that in one sentence rather than failing later with a plain Error.
 */
export function systemRandomBytes(n: number): Uint8Array {
  const cr = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof cr?.getRandomValues !== 'function') {
    throw new UsageError(
      NO_RANDOM_SOURCE,
      'crypto.getRandomValues is missing: on React Native, install react-native-get-random-values and import it first in your entry file, before ble-digital-key',
    );
  }
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += GET_RANDOM_VALUES_MAX_BYTES) cr.getRandomValues(out.subarray(at, Math.min(n, at + GET_RANDOM_VALUES_MAX_BYTES)));
  return out;
}

/** Runs a noble call, turning any untyped error into a CryptoError with `code`. */
function guard<T>(code: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DigitalKeyError) throw err;
    throw new CryptoError(code, `${what} failed`, { cause: err });
  }
}

/**
 * Decodes and validates a SEC1 point (SEC 1 §3.2.2.1 partial validation, which is full validation
 * on a cofactor-1 curve): framing, coordinates below p, on the curve, not the identity.
 */
function decodePoint(bytes: unknown, name: string): Point {
  checkPublicKeyFraming(bytes, name);
  let P: Point;
  try {
    P = Point.fromBytes(bytes);
    P.assertValidity();
  } catch (err) {
    throw invalidPublicKey(name, err);
  }
  if (P.is0()) throw invalidPublicKey(name);
  return P;
}

/** a point that must not be the identity, encoded uncompressed (RFC 9383 encodes points so). */
function encodeNonIdentity(P: Point): Uint8Array {
  if (P.is0()) throw new CryptoError('IDENTITY_POINT', 'group operation produced the identity');
  return P.toBytes(false);
}

/** k·G for 0 ≤ k < n; `multiply` (constant-time ladder) refuses 0, so zero is handled apart. */
function mulBase(k: bigint): Point {
  return k === 0n ? Point.ZERO : Point.BASE.multiply(k);
}

/** k·P for 0 ≤ k < n, constant-time for non-zero k. */
function mulPoint(P: Point, k: bigint): Point {
  return k === 0n ? Point.ZERO : P.multiply(k);
}

/**
 * P-256 group arithmetic for SPAKE2+ (RFC 9383 §3.3–3.4) on noble. Stateless; also used by the
 * node:crypto provider, since node:crypto exposes no point arithmetic.
 */
export const nobleP256Group: P256Group = Object.freeze({
  order: P256_ORDER,

  reduceScalar(bytes: Uint8Array): Uint8Array {
    assertBytes(bytes, 'bytes');
    return bigintToBytes32(bytesToBigint(bytes) % P256_ORDER);
  },

  mulAdd(a: Uint8Array, b?: Uint8Array, point?: Uint8Array): Uint8Array {
    const ka = checkScalar(a, 'a');
    if ((b === undefined) !== (point === undefined)) {
      throw new UsageError('INVALID_ARGUMENT', '"b" and "point" must be given together');
    }
    let R = mulBase(ka);
    if (b !== undefined && point !== undefined) {
      const kb = checkScalar(b, 'b');
      R = R.add(mulPoint(decodePoint(point, 'point'), kb));
    }
    return encodeNonIdentity(R);
  },

  mul(k: Uint8Array, point: Uint8Array): Uint8Array {
    const kk = checkScalar(k, 'k');
    return encodeNonIdentity(mulPoint(decodePoint(point, 'point'), kk));
  },

  subMul(point: Uint8Array, k: Uint8Array, q: Uint8Array): Uint8Array {
    const P = decodePoint(point, 'point');
    const kk = checkScalar(k, 'k');
    const Q = decodePoint(q, 'q');
    return encodeNonIdentity(P.subtract(mulPoint(Q, kk)));
  },

  isValidPoint(point: Uint8Array): boolean {
    try {
      decodePoint(point, 'point');
      return true;
    } catch {
      return false;
    }
  },
});

/**
 * AES-GCM seal with any AES key size (16/24/32) and any IV length noble supports (≥ 8 bytes).
 * Internal test hook so Wycheproof's full AES-GCM file can run; protocol code uses `aeadSeal`.
 */
export function aesGcmSealRaw(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  for (const [v, n] of [[key, 'key'], [iv, 'iv'], [plaintext, 'plaintext'], [aad, 'aad']] as const) assertBytes(v, n);
  return guard('AEAD_FAILED', 'AES-GCM seal', () => gcm(key, iv, aad).encrypt(plaintext));
}

/** AES-GCM open counterpart of {@link aesGcmSealRaw}; null if the tag or any argument is bad. */
export function aesGcmOpenRaw(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  try {
    if (!(sealed instanceof Uint8Array) || sealed.length < AEAD_TAG_BYTES) return null;
    return gcm(key, iv, aad).decrypt(sealed);
  } catch {
    return null;
  }
}

/**
 * Creates the pure-JS provider. Pass `randomBytes` to make key generation and signing
 * reproducible in tests (signatures are RFC 6979 deterministic, hedged with 32 fresh random
 * bytes per RFC 6979 §3.6 so a fault or a bad RNG alone cannot leak the key).
 */
export function createNobleProvider(options: NobleProviderOptions = {}): CryptoProvider {
  const rng = options.randomBytes ?? systemRandomBytes;

  function randomBytes(n: number): Uint8Array {
    checkRandomLength(n);
    const out = rng(n);
    if (!(out instanceof Uint8Array) || out.length !== n) {
      throw new UsageError('INVALID_ARGUMENT', `randomBytes source returned the wrong length for ${n}`);
    }
    return out;
  }

  return Object.freeze({
    name: 'noble',
    randomBytes,
    group: nobleP256Group,

    generateKeyPair(): KeyPair {
      // randomSecretKey maps a 48-byte seed to [1, n-1] with bias < 2^-128 (FIPS 186-5 A.2.1).
      const seed = randomBytes(p256.lengths.seed ?? 48);
      const privateKey = guard('KEYGEN_FAILED', 'key generation', () => p256.utils.randomSecretKey(seed));
      wipe(seed);
      return { privateKey, publicKey: p256.getPublicKey(privateKey, true) };
    },

    publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      return p256.getPublicKey(privateKey, true);
    },

    validatePublicKey(publicKey: Uint8Array): Uint8Array {
      return decodePoint(publicKey, 'publicKey').toBytes(true);
    },

    uncompressPublicKey(publicKey: Uint8Array): Uint8Array {
      return decodePoint(publicKey, 'publicKey').toBytes(false);
    },

    ecdh(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      const P = decodePoint(peerPublicKey, 'peerPublicKey');
      const S = P.multiply(bytesToBigint(privateKey));
      // Cannot happen on a prime-order curve with a valid point and d in [1, n-1]; kept as a guard.
      if (S.is0()) throw new CryptoError('IDENTITY_POINT', 'ECDH produced the identity');
      return bigintToBytes32(S.toAffine().x);
    },

    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      assertBytes(message, 'message');
      const extraEntropy = randomBytes(32);
      // prehash: true ⇒ noble computes SHA-256(message) once; format 'compact' is r‖s.
      try {
        return guard('SIGN_FAILED', 'ECDSA sign', () =>
          p256.sign(message, privateKey, { prehash: true, lowS: true, extraEntropy, format: 'compact' }),
        );
      } finally {
        wipe(extraEntropy);
      }
    },

    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      try {
        if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
        if (signature.length !== P256_SIGNATURE_BYTES) return false;
        checkPublicKeyFraming(publicKey);
        // lowS: false accepts high-S (OpenSSL/WebCrypto/keystores); r, s ∈ [1, n−1] still enforced.
        return p256.verify(signature, message, publicKey, { prehash: true, lowS: false, format: 'compact' });
      } catch {
        return false;
      }
    },

    sha256(data: Uint8Array): Uint8Array {
      assertBytes(data, 'data');
      return sha256(data);
    },

    hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
      assertBytes(key, 'key');
      assertBytes(data, 'data');
      return hmac(sha256, key, data);
    },

    hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      assertBytes(ikm, 'ikm');
      assertBytes(salt, 'salt');
      assertBytes(info, 'info');
      checkHkdfLength(length);
      if (length === 0) return new Uint8Array(0);
      return hkdf(sha256, ikm, salt, info, length);
    },

    aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
      checkAeadKeyNonce(key, nonce);
      assertBytes(plaintext, 'plaintext');
      assertBytes(aad, 'aad');
      return guard('AEAD_FAILED', 'AES-GCM seal', () => gcm(key, nonce, aad).encrypt(plaintext));
    },

    aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
      if (!aeadOpenArgsOk(key, nonce, sealed, aad)) return null;
      try {
        return gcm(key, nonce, aad).decrypt(sealed);
      } catch {
        return null;
      }
    },

    scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Uint8Array {
      assertBytes(password, 'password');
      assertBytes(salt, 'salt');
      checkScryptParams(params);
      const { N, r, p, dkLen } = params;
      // Our own limit is checked above; noble's maxmem is set above it so the two never disagree.
      return guard('SCRYPT_FAILED', 'scrypt', () =>
        scrypt(password, salt, { N, r, p, dkLen, maxmem: 2 * SCRYPT_MAX_MEMORY_BYTES }),
      );
    },
  });
}

/** The default pure-JS provider, using the platform's `crypto.getRandomValues`. */
export const nobleCrypto: CryptoProvider = createNobleProvider();
