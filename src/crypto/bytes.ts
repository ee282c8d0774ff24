/**
 * Small byte helpers every area uses: concatenation, constant-time comparison, hex, base64url,
 * UTF-8 and big-endian integers.
 *
 * Pure TypeScript on Uint8Array (no Buffer) so it runs unchanged in React Native, browsers and
 * Node. Every malformed argument raises a {@link UsageError} with a stable code, never a raw
 * TypeError/RangeError.
 */
import { UsageError } from '../errors.js';
import { isWellFormedUtf8, utf8Length } from '../wire/utf8.js';

/** Throws UsageError `INVALID_ARGUMENT` unless `value` is a Uint8Array (of `length` bytes, if given). */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new UsageError('INVALID_ARGUMENT', `"${name}" must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new UsageError('INVALID_ARGUMENT', `"${name}" must be ${length} bytes, got ${value.length}`);
  }
}

/** Whether `value` is a Uint8Array (Buffer included: it is a subclass). */
export function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const [i, p] of parts.entries()) {
    assertBytes(p, `parts[${i}]`);
    total += p.length;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compares two byte arrays. For equal lengths the time taken depends only on the length, not on
 * where the arrays differ (MACs, tags and key confirmations must not leak a prefix-match oracle).
 * Arrays of different lengths are unequal; lengths are public in every use we make of this.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const HEX_DIGITS = '0123456789abcdef';

/** Lower-case hex encoding. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 15]!;
  return out;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** Decodes hex (either case, even length, no prefix or separators). Throws UsageError `INVALID_HEX`. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new UsageError('INVALID_HEX', '"hex" must be a string');
  if (hex.length % 2 !== 0) throw new UsageError('INVALID_HEX', 'hex string has odd length');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new UsageError('INVALID_HEX', `invalid hex character at ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/**
 * UTF-8 encoding of a string. Lone surrogates are rejected (UsageError `INVALID_UTF8`) rather
 * than silently replaced with U+FFFD, so two different strings never encode to the same bytes.
 * Written out (RFC 3629 §3) instead of using TextEncoder: Hermes before React Native 0.85 has
 * none, and a module-level `new TextEncoder()` would make the whole library fail at import.
 */
export function utf8(str: string): Uint8Array {
  if (typeof str !== 'string') throw new UsageError('INVALID_ARGUMENT', '"str" must be a string');
  const length = utf8Length(str);
  if (length < 0) throw new UsageError('INVALID_UTF8', 'string contains a lone surrogate');
  const out = new Uint8Array(length);
  let o = 0;
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) c = 0x10000 + ((c - 0xd800) << 10) + (str.charCodeAt(++i) - 0xdc00);
    if (c < 0x80) out[o++] = c;
    else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    } else {
      out[o++] = 0xf0 | (c >> 18);
      out[o++] = 0x80 | ((c >> 12) & 63);
      out[o++] = 0x80 | ((c >> 6) & 63);
      out[o++] = 0x80 | (c & 63);
    }
  }
  return out;
}

/**
 * Strict UTF-8 decoding (RFC 3629 §4 well-formed sequences only: no overlongs, surrogates or
 * truncation; a leading BOM is kept, not stripped). Throws UsageError `INVALID_UTF8`. Like
 * {@link utf8}, it needs no TextDecoder.
 */
export function utf8Decode(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  if (!isWellFormedUtf8(bytes, 0, bytes.length)) throw new UsageError('INVALID_UTF8', 'bytes are not well-formed UTF-8');
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const b0 = bytes[i]!;
    const n = b0 < 0x80 ? 1 : b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
    let c = n === 1 ? b0 : b0 & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) c = (c << 6) | (bytes[i + k]! & 63);
    out += String.fromCodePoint(c);
    i += n;
  }
  return out;
}

function assertUint(n: number, bits: number, name: string): void {
  const max = bits === 64 ? Number.MAX_SAFE_INTEGER : 2 ** bits - 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) {
    throw new UsageError('INVALID_ARGUMENT', `"${name}" must be an integer in [0, ${max}]`);
  }
}

/** 2-byte big-endian encoding of an integer in [0, 65535]. */
export function u16be(n: number): Uint8Array {
  assertUint(n, 16, 'n');
  return Uint8Array.of(n >>> 8, n & 0xff);
}

/** 4-byte big-endian encoding of an integer in [0, 2^32 − 1]. */
export function u32be(n: number): Uint8Array {
  assertUint(n, 32, 'n');
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** 8-byte big-endian encoding of an integer in [0, 2^53 − 1] (a JS safe integer, e.g. a counter). */
export function u64be(n: number): Uint8Array {
  assertUint(n, 64, 'n');
  const hi = Math.floor(n / 2 ** 32);
  const lo = n >>> 0;
  return concatBytes(u32be(hi), u32be(lo));
}

function assertReadable(bytes: Uint8Array, offset: number, size: number): void {
  assertBytes(bytes, 'bytes');
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw new UsageError('INVALID_ARGUMENT', `cannot read ${size} bytes at offset ${offset} of ${bytes.length}`);
  }
}

/** Reads a big-endian uint16 at `offset`. */
export function readU16be(bytes: Uint8Array, offset = 0): number {
  assertReadable(bytes, offset, 2);
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Reads a big-endian uint32 at `offset`. */
export function readU32be(bytes: Uint8Array, offset = 0): number {
  assertReadable(bytes, offset, 4);
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}

/** Reads a big-endian uint64 at `offset`; throws UsageError if it exceeds 2^53 − 1. */
export function readU64be(bytes: Uint8Array, offset = 0): number {
  assertReadable(bytes, offset, 8);
  const hi = readU32be(bytes, offset);
  if (hi > 0x1fffff) throw new UsageError('INVALID_ARGUMENT', 'uint64 exceeds Number.MAX_SAFE_INTEGER');
  return hi * 2 ** 32 + readU32be(bytes, offset + 4);
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_LOOKUP = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < B64URL.length; i++) t[B64URL.charCodeAt(i)] = i;
  return t;
})();

/** base64url without padding (RFC 4648 §5), as used in share links and QR codes. */
export function base64urlEncode(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[v >> 18]! + B64URL[(v >> 12) & 63]! + B64URL[(v >> 6) & 63]! + B64URL[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += B64URL[v >> 18]! + B64URL[(v >> 12) & 63]!;
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[v >> 18]! + B64URL[(v >> 12) & 63]! + B64URL[(v >> 6) & 63]!;
  }
  return out;
}

/**
 * Strict base64url decoding (RFC 4648 §5, §3.5): no padding, no whitespace, only the URL-safe
 * alphabet, and the unused low bits of the last character must be zero, so every byte string
 * has exactly one accepted encoding. Throws UsageError `INVALID_BASE64URL`.
 */
export function base64urlDecode(str: string): Uint8Array {
  if (typeof str !== 'string') throw new UsageError('INVALID_BASE64URL', '"str" must be a string');
  if (str.length % 4 === 1) throw new UsageError('INVALID_BASE64URL', 'impossible base64url length');
  const out = new Uint8Array(Math.floor((str.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    const v = c < 128 ? B64URL_LOOKUP[c]! : -1;
    if (v < 0) throw new UsageError('INVALID_BASE64URL', `invalid base64url character at ${i}`);
    acc = ((acc << 6) | v) & 0xffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // RFC 4648 §3.5: leftover pad bits must be zero (canonical encoding).
  if ((acc & ((1 << bits) - 1)) !== 0) throw new UsageError('INVALID_BASE64URL', 'non-canonical base64url');
  return out;
}
