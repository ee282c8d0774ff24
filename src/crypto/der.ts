/**
 * Strict DER codec for ECDSA signatures (`ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`,
 * RFC 3279 §2.2.3, SEC 1 §C.8), for the platforms that only speak DER: iOS Secure Enclave
 * (SecKeyCreateSignature with ecdsaSignatureMessageX962SHA256), Android Keystore
 * (Signature "SHA256withECDSA"), and OpenSSL's default output. The protocol itself only carries
 * 64-byte r‖s.
 *
 * Strict means X.690 DER (§8.1.3, §8.3, §10.1), not BER: definite short-form lengths only (a P-256
 * signature is at most 72 bytes, so a long form would be non-minimal), minimal two's-complement
 * integers, no negative values, no trailing bytes. Range (1 ≤ r, s < n) is `verify`'s job.
 */
import { CryptoError } from '../errors.js';
import { assertBytes } from './bytes.js';
import { P256_SCALAR_BYTES, P256_SIGNATURE_BYTES } from './validate.js';

const TAG_SEQUENCE = 0x30;
const TAG_INTEGER = 0x02;

function invalidDer(why: string): CryptoError {
  return new CryptoError('INVALID_SIGNATURE_DER', `invalid DER signature: ${why}`);
}

/** Reads one INTEGER at `offset` into a 32-byte big-endian slot; returns the offset after it. */
function readInteger(der: Uint8Array, offset: number, out: Uint8Array): number {
  if (der[offset] !== TAG_INTEGER) throw invalidDer('expected INTEGER');
  const len = der[offset + 1];
  if (len === undefined) throw invalidDer('truncated');
  if (len >= 0x80) throw invalidDer('non-minimal or long-form length'); // X.690 §10.1
  if (len === 0) throw invalidDer('empty INTEGER'); // X.690 §8.3.1
  const start = offset + 2;
  const end = start + len;
  if (end > der.length) throw invalidDer('truncated');
  const first = der[start]!;
  if (first & 0x80) throw invalidDer('negative INTEGER');
  // X.690 §8.3.2: a leading 0x00 is allowed only to clear the sign bit of the next byte.
  if (first === 0 && len > 1 && (der[start + 1]! & 0x80) === 0) throw invalidDer('non-minimal INTEGER');
  let value = der.subarray(start, end);
  if (value[0] === 0 && value.length > 1) value = value.subarray(1);
  if (value.length > P256_SCALAR_BYTES) throw invalidDer('INTEGER too large');
  out.set(value, P256_SCALAR_BYTES - value.length);
  return end;
}

/**
 * Parses a strict DER ECDSA signature into 64-byte r‖s. Throws CryptoError
 * `INVALID_SIGNATURE_DER` on any deviation from DER.
 */
export function signatureFromDer(der: Uint8Array): Uint8Array {
  assertBytes(der, 'der');
  if (der.length < 8 || der.length > 2 + 2 * (2 + P256_SCALAR_BYTES + 1)) throw invalidDer('bad length');
  if (der[0] !== TAG_SEQUENCE) throw invalidDer('expected SEQUENCE');
  const seqLen = der[1]!;
  if (seqLen >= 0x80) throw invalidDer('non-minimal or long-form length');
  if (seqLen + 2 !== der.length) throw invalidDer('SEQUENCE length does not match (trailing or missing bytes)');
  const sig = new Uint8Array(P256_SIGNATURE_BYTES);
  const afterR = readInteger(der, 2, sig.subarray(0, P256_SCALAR_BYTES));
  const afterS = readInteger(der, afterR, sig.subarray(P256_SCALAR_BYTES));
  if (afterS !== der.length) throw invalidDer('trailing bytes inside SEQUENCE');
  return sig;
}

/** Minimal DER INTEGER for a 32-byte unsigned big-endian value. */
function encodeInteger(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  const body = value.subarray(i);
  const pad = body[0]! & 0x80 ? 1 : 0; // keep it non-negative
  const out = new Uint8Array(2 + pad + body.length);
  out[0] = TAG_INTEGER;
  out[1] = pad + body.length;
  out.set(body, 2 + pad);
  return out;
}

/**
 * Encodes a 64-byte r‖s signature as DER (for WebCrypto-less verifiers, OpenSSL tooling, or
 * keystore APIs that only accept DER). Throws CryptoError `INVALID_SIGNATURE_LENGTH` if the
 * input is not 64 bytes.
 */
export function signatureToDer(signature: Uint8Array): Uint8Array {
  assertBytes(signature, 'signature');
  if (signature.length !== P256_SIGNATURE_BYTES) {
    throw new CryptoError('INVALID_SIGNATURE_LENGTH', `"signature" must be 64 bytes, got ${signature.length}`);
  }
  const r = encodeInteger(signature.subarray(0, P256_SCALAR_BYTES));
  const s = encodeInteger(signature.subarray(P256_SCALAR_BYTES));
  const out = new Uint8Array(2 + r.length + s.length);
  out[0] = TAG_SEQUENCE;
  out[1] = r.length + s.length;
  out.set(r, 2);
  out.set(s, 2 + r.length);
  return out;
}
