/**
 * The Node-only CryptoProvider on node:crypto (OpenSSL), exposed as the package's `./node` entry
 * for the vehicle's key module. P-256 verify, sign and ECDH run natively, about 50× faster than
 * pure JS; nothing from @noble sits on those paths. The only delegation to noble is the SPAKE2+
 * group arithmetic ({@link P256Group}), because node:crypto exposes no point addition or
 * multiplication by arbitrary points; pairing is rare, so its cost does not matter.
 *
 * OpenSSL quirks handled here (docs/CRYPTO.md §Providers):
 * - It decodes the one-byte identity `00` and the hybrid prefixes 06/07 as valid points; the
 *   shared framing check (validate.ts) refuses them before OpenSSL sees the key.
 * - Its verify accepts high-S signatures (the behaviour the contract wants) and rejects r or s
 *   outside [1, n−1].
 * - `hkdfSync` refuses `info` over 1024 bytes, so HKDF is built on HMAC here (RFC 5869 §2.2–2.3).
 * - Every Buffer it returns is copied into a plain Uint8Array (Buffers may share a pooled
 *   ArrayBuffer), and secret intermediates are zeroed.
 */
import {
  type KeyObject,
  ECDH,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  getRandomValues,
  scryptSync,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { CryptoError, DigitalKeyError } from '../errors.js';
import { assertBytes, concatBytes } from './bytes.js';
import { nobleP256Group } from './noble.js';
import { type CryptoProvider, type KeyPair, type ScryptParams, wipe } from './provider.js';
import {
  AEAD_TAG_BYTES,
  P256_SCALAR_BYTES,
  P256_SIGNATURE_BYTES,
  SCRYPT_MAX_MEMORY_BYTES,
  aeadOpenArgsOk,
  checkAeadKeyNonce,
  checkHkdfLength,
  checkPrivateKey,
  checkPublicKeyFraming,
  checkRandomLength,
  checkScryptParams,
  invalidPublicKey,
} from './validate.js';

const CURVE = 'prime256v1';
/** SubjectPublicKeyInfo header for an uncompressed P-256 key (RFC 5480 §2): id-ecPublicKey, prime256v1. */
const SPKI_P256_UNCOMPRESSED_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
  0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
]);
/** SEC1 ECPrivateKey (RFC 5915 §3) header for a 32-byte scalar, version 1; OpenSSL derives the public key. */
const SEC1_P256_PRIVATE_PREFIX = Uint8Array.from([0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20]);
/** The `[0] prime256v1` parameters that follow the scalar in the SEC1 structure. */
const SEC1_P256_PARAMS_SUFFIX = Uint8Array.from([0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
/** Public KeyObjects kept per provider: the vehicle verifies the same enrolled keys repeatedly. */
const PUBLIC_KEY_CACHE_ENTRIES = 128;

/** Copies a Buffer into a standalone Uint8Array (Buffers can be views into a shared pool). */
function toPlain(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(buf.length);
  out.set(buf);
  return out;
}

/** Copies then zeroes a Buffer holding secret material. */
function takeSecret(buf: Uint8Array): Uint8Array {
  const out = toPlain(buf);
  buf.fill(0);
  return out;
}

/** Left-pads a big-endian scalar to 32 bytes (OpenSSL may drop leading zero bytes). */
function pad32(buf: Uint8Array): Uint8Array {
  const out = new Uint8Array(P256_SCALAR_BYTES);
  out.set(buf, P256_SCALAR_BYTES - buf.length);
  return out;
}

/**
 * ECDH objects of private keys this provider has already loaded, keyed by the caller's buffer.
 * `ECDH.setPrivateKey` recomputes the public key (a full scalar multiplication), which would
 * double the cost of every ECDH; a key pair made by generateKeyPair, or a long-lived identity
 * key, is loaded once. The entry is checked against the buffer's current bytes, so a wiped or
 * reused buffer never reaches a stale key; entries go with their buffer (WeakMap).
 */
const ecdhHandles = new WeakMap<Uint8Array, ECDH>();

function ecdhHandleFor(privateKey: Uint8Array): ECDH {
  const cached = ecdhHandles.get(privateKey);
  if (cached) {
    const current = pad32(takeSecret(cached.getPrivateKey()));
    const same = current.every((b, i) => b === privateKey[i]);
    current.fill(0);
    if (same) return cached;
  }
  const ecdh = createECDH(CURVE);
  guard('INVALID_PRIVATE_KEY', 'private key import', () => ecdh.setPrivateKey(privateKey));
  ecdhHandles.set(privateKey, ecdh);
  return ecdh;
}

function guard<T>(code: string, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof DigitalKeyError) throw err;
    throw new CryptoError(code, `${what} failed`, { cause: err });
  }
}

/**
 * Converts a framed SEC1 key to the requested form; OpenSSL's EC_POINT_oct2point checks the
 * coordinates are below p and the point is on the curve. Identity and hybrid forms are excluded
 * by the framing check first.
 */
function convertPoint(publicKey: unknown, name: string, form: 'compressed' | 'uncompressed'): Uint8Array {
  checkPublicKeyFraming(publicKey, name);
  try {
    return toPlain(ECDH.convertKey(publicKey, CURVE, undefined, undefined, form) as Buffer);
  } catch (err) {
    throw invalidPublicKey(name, err);
  }
}

/**
 * A private KeyObject from a validated scalar, via SEC1 DER without the public key (OpenSSL
 * derives it). DER rather than JWK so the secret never becomes an unwipeable JS string; the
 * temporary DER copy is zeroed.
 */
function privateKeyObject(privateKey: Uint8Array): KeyObject {
  const der = concatBytes(SEC1_P256_PRIVATE_PREFIX, privateKey, SEC1_P256_PARAMS_SUFFIX);
  try {
    return createPrivateKey({ key: der as Buffer, format: 'der', type: 'sec1' });
  } finally {
    wipe(der);
  }
}

function aesGcmAlgorithm(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 24) return 'aes-192-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new CryptoError('INVALID_AEAD_KEY', `AES key must be 16, 24 or 32 bytes, got ${key.length}`);
}

/**
 * AES-GCM seal with any AES key size and any non-empty IV (OpenSSL derives J0 with GHASH for
 * IVs other than 12 bytes). Internal test hook for Wycheproof; protocol code uses `aeadSeal`.
 */
export function aesGcmSealRaw(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  for (const [v, n] of [[key, 'key'], [iv, 'iv'], [plaintext, 'plaintext'], [aad, 'aad']] as const) assertBytes(v, n);
  const algorithm = aesGcmAlgorithm(key);
  return guard('AEAD_FAILED', 'AES-GCM seal', () => {
    const cipher = createCipheriv(algorithm, key, iv, { authTagLength: AEAD_TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    return concatBytes(head, tail, cipher.getAuthTag());
  });
}

/** AES-GCM open counterpart of {@link aesGcmSealRaw}; null if the tag or any argument is bad. */
export function aesGcmOpenRaw(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
  let plain: Buffer | undefined;
  try {
    if (!(sealed instanceof Uint8Array) || sealed.length < AEAD_TAG_BYTES) return null;
    const split = sealed.length - AEAD_TAG_BYTES;
    const decipher = createDecipheriv(aesGcmAlgorithm(key), key, iv, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAuthTag(sealed.subarray(split));
    decipher.setAAD(aad);
    plain = decipher.update(sealed.subarray(0, split));
    decipher.final(); // throws if the tag does not verify
    return concatBytes(plain);
  } catch {
    return null;
  } finally {
    plain?.fill(0); // never let unauthenticated plaintext outlive a failed open
  }
}

/** HKDF-SHA256 extract-then-expand on node's HMAC (RFC 5869 §2.2, §2.3); no limit on `info`. */
function hkdfOnHmac(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const prk = createHmac('sha256', salt).update(ikm).digest();
  const out = new Uint8Array(length);
  let block: Buffer = Buffer.alloc(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    const next = createHmac('sha256', prk).update(block).update(info).update(Uint8Array.of(i)).digest();
    block.fill(0);
    block = next;
    out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
    offset += block.length;
  }
  block.fill(0);
  prk.fill(0);
  return out;
}

/**
 * Creates the node:crypto provider (`name: 'native'`). Each provider keeps public KeyObjects so
 * verifying the same enrolled phone key again skips key import: per key buffer for as long as
 * the buffer lives (a key record), and in a small LRU by value.
 */
export function createNodeProvider(): CryptoProvider {
  const keyCache = new Map<string, KeyObject>();
  /**
   * KeyObjects by the caller's key buffer, with a copy of the bytes they were made from. A
   * vehicle verifies with the public key held in its key record, so the KeyObject lives as long
   * as the record (entries go with their buffer): the cache is as large as the registry, however
   * many phones take turns, where the LRU below would thrash past 128 of them.
   */
  const byBuffer = new WeakMap<Uint8Array, { bytes: Uint8Array; key: KeyObject }>();

  /** A verified public KeyObject for a framed SEC1 key, from the caches when possible. */
  function publicKeyObject(publicKey: Uint8Array): KeyObject {
    const held = byBuffer.get(publicKey);
    // Checked against the buffer's current bytes, so a reused or overwritten buffer never reaches a stale key.
    if (held !== undefined && held.bytes.length === publicKey.length && held.bytes.every((b, i) => b === publicKey[i])) return held.key;
    const key = lruPublicKeyObject(publicKey);
    byBuffer.set(publicKey, { bytes: publicKey.slice(), key });
    return key;
  }

  /** The same, from a small LRU keyed by the bytes (callers that pass a new buffer each time). */
  function lruPublicKeyObject(publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1');
    const hit = keyCache.get(id);
    if (hit !== undefined) {
      keyCache.delete(id); // re-insert: Map iteration order makes this an LRU
      keyCache.set(id, hit);
      return hit;
    }
    const uncompressed = convertPoint(publicKey, 'publicKey', 'uncompressed');
    const spki = concatBytes(SPKI_P256_UNCOMPRESSED_PREFIX, uncompressed);
    const key = createPublicKey({ key: spki as Buffer, format: 'der', type: 'spki' });
    if (keyCache.size >= PUBLIC_KEY_CACHE_ENTRIES) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(id, key);
    return key;
  }

  function randomBytes(n: number): Uint8Array {
    checkRandomLength(n);
    return getRandomValues(new Uint8Array(n));
  }

  return Object.freeze({
    name: 'native',
    randomBytes,
    // node:crypto has no point arithmetic; SPAKE2+ group operations use noble (pairing only).
    group: nobleP256Group,

    generateKeyPair(): KeyPair {
      const ecdh = createECDH(CURVE);
      ecdh.generateKeys();
      const privateKey = pad32(takeSecret(ecdh.getPrivateKey()));
      ecdhHandles.set(privateKey, ecdh);
      return { privateKey, publicKey: toPlain(ecdh.getPublicKey(null, 'compressed')) };
    },

    publicKeyFromPrivate(privateKey: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      const ecdh = createECDH(CURVE);
      guard('INVALID_PRIVATE_KEY', 'private key import', () => ecdh.setPrivateKey(privateKey));
      return toPlain(ecdh.getPublicKey(null, 'compressed'));
    },

    validatePublicKey(publicKey: Uint8Array): Uint8Array {
      return convertPoint(publicKey, 'publicKey', 'compressed');
    },

    uncompressPublicKey(publicKey: Uint8Array): Uint8Array {
      return convertPoint(publicKey, 'publicKey', 'uncompressed');
    },

    ecdh(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      checkPublicKeyFraming(peerPublicKey, 'peerPublicKey');
      const ecdh = ecdhHandleFor(privateKey);
      let shared: Buffer;
      try {
        // computeSecret validates the peer point (on curve, coordinates < p) and returns x only.
        shared = ecdh.computeSecret(peerPublicKey);
      } catch (err) {
        throw invalidPublicKey('peerPublicKey', err);
      }
      return pad32(takeSecret(shared));
    },

    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      checkPrivateKey(privateKey);
      assertBytes(message, 'message');
      const key = guard('INVALID_PRIVATE_KEY', 'private key import', () => privateKeyObject(privateKey));
      return guard('SIGN_FAILED', 'ECDSA sign', () =>
        toPlain(nodeSign('sha256', message, { key, dsaEncoding: 'ieee-p1363' })),
      );
    },

    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      try {
        if (!(message instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
        if (signature.length !== P256_SIGNATURE_BYTES) return false;
        checkPublicKeyFraming(publicKey);
        const key = publicKeyObject(publicKey);
        // OpenSSL ECDSA_do_verify: SHA-256 once, r,s ∈ [1, n−1], no low-S rule.
        return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
      } catch {
        return false;
      }
    },

    sha256(data: Uint8Array): Uint8Array {
      assertBytes(data, 'data');
      return toPlain(createHash('sha256').update(data).digest());
    },

    hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
      assertBytes(key, 'key');
      assertBytes(data, 'data');
      return toPlain(createHmac('sha256', key).update(data).digest());
    },

    hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      assertBytes(ikm, 'ikm');
      assertBytes(salt, 'salt');
      assertBytes(info, 'info');
      checkHkdfLength(length);
      return hkdfOnHmac(ikm, salt, info, length);
    },

    aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
      checkAeadKeyNonce(key, nonce);
      assertBytes(plaintext, 'plaintext');
      assertBytes(aad, 'aad');
      return aesGcmSealRaw(key, nonce, plaintext, aad);
    },

    aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array | null {
      if (!aeadOpenArgsOk(key, nonce, sealed, aad)) return null;
      return aesGcmOpenRaw(key, nonce, sealed, aad);
    },

    scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Uint8Array {
      assertBytes(password, 'password');
      assertBytes(salt, 'salt');
      checkScryptParams(params);
      const { N, r, p, dkLen } = params;
      return guard('SCRYPT_FAILED', 'scrypt', () =>
        takeSecret(scryptSync(password, salt, dkLen, { N, r, p, maxmem: 2 * SCRYPT_MAX_MEMORY_BYTES })),
      );
    },
  });
}
