/**
 * Standard base64 (RFC 4648 §4, with padding) on Uint8Array, for react-native-ble-plx, which
 * passes every characteristic value as a base64 string. No Buffer, no atob: neither exists on
 * every React Native engine.
 *
 * Pure.
 */

import { CodecError } from '../errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Character code → 6-bit value, or -1. */
const LOOKUP = /* @__PURE__ */ (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Encodes `bytes` as padded base64. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const n = (a << 16) | (b << 8) | c;
    out += ALPHABET[(n >>> 18) & 63]! + ALPHABET[(n >>> 12) & 63]!;
    out += i + 1 < bytes.length ? ALPHABET[(n >>> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63]! : '=';
  }
  return out;
}

/**
 * Decodes padded or unpadded base64. Values come from the peer through the platform, so anything
 * malformed is a typed error, never a guess.
 *
 * @throws CodecError `BASE64_INVALID` on a character outside the alphabet, a bad length or bad padding.
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string') throw new CodecError('BASE64_INVALID', 'base64 value must be a string');
  let end = text.length;
  if (end % 4 === 0 && end > 0 && text[end - 1] === '=') end -= text[end - 2] === '=' ? 2 : 1;
  if (end % 4 === 1) throw new CodecError('BASE64_INVALID', 'base64 value has a bad length');
  const out = new Uint8Array(Math.floor((end * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (LOOKUP[code] ?? -1) : -1;
    if (v < 0) throw new CodecError('BASE64_INVALID', 'base64 value has a character outside the alphabet');
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  // Leftover bits must be zero: a canonical encoding only.
  if ((acc & ((1 << bits) - 1)) !== 0) throw new CodecError('BASE64_INVALID', 'base64 value has non-zero padding bits');
  return out;
}
