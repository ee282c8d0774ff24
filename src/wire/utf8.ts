/**
 * Strict UTF-8 checks for CBOR text strings (RFC 8949 §3.1 major type 3 requires valid UTF-8;
 * RFC 3629 §4 gives the well-formed byte sequences). Written out by hand rather than with
 * `TextDecoder({ fatal: true })` because not every JS runtime we target ships a fatal decoder,
 * and so firmware can follow the same table (docs/WIRE.md §Text).
 */

/**
 * Whether `bytes[start..end)` is well-formed UTF-8 per RFC 3629 §4: no overlong forms, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence.
 */
export function isWellFormedUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    const b0 = bytes[i] ?? 0;
    if (b0 < 0x80) {
      i += 1;
      continue;
    }
    // [lo, hi] range of the second byte, and the total sequence length (RFC 3629 §4 table).
    let lo = 0x80;
    let hi = 0xbf;
    let n: number;
    if (b0 >= 0xc2 && b0 <= 0xdf) n = 2;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      n = 3;
      if (b0 === 0xe0) lo = 0xa0; // overlong
      if (b0 === 0xed) hi = 0x9f; // surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      n = 4;
      if (b0 === 0xf0) lo = 0x90; // overlong
      if (b0 === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return false; // 0x80..0xC1 and 0xF5..0xFF never start a sequence
    if (i + n > end) return false;
    const b1 = bytes[i + 1] ?? 0;
    if (b1 < lo || b1 > hi) return false;
    for (let k = 2; k < n; k++) {
      const b = bytes[i + k] ?? 0;
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += n;
  }
  return true;
}

/**
 * UTF-8 length of a JS string in bytes, or -1 if the string holds a lone surrogate (which
 * TextEncoder would silently replace with U+FFFD, changing the value on the wire).
 */
export function utf8Length(s: string): number {
  let length = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) length += 1;
    else if (c < 0x800) length += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1); // NaN past the end
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      length += 4;
      i += 1;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else length += 3;
  }
  return length;
}
