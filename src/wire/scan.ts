/**
 * Strict well-formedness pre-scan of untrusted CBOR, run over the raw bytes BEFORE any general
 * CBOR decoder sees them. docs/WIRE.md §Strict subset.
 *
 * Why a scan of our own: cbor-x decodes tags 27 (RegExp/Error through constructors), 28/29
 * (shared/cyclic references) and 105 (records compiled with `new Function`) whatever its options,
 * accepts indefinite lengths, floats and non-shortest encodings, and allocates from declared
 * lengths. This scan admits only the deterministic subset (RFC 8949 §4.2.1) our messages use:
 *
 * - major 0 unsigned integers up to 2^53−1, shortest form;
 * - major 2 byte strings and major 3 text strings (valid UTF-8, not starting with U+FEFF),
 *   definite length, shortest-form length;
 * - major 4 arrays and major 5 maps, definite length, shortest-form count, nested at most
 *   `maxDepth` deep; map keys are unsigned integers in strictly increasing order;
 * - simple values false (0xf4) and true (0xf5) only.
 *
 * Everything else is rejected with a CodecError whose code names the first rule broken, reading
 * the bytes in order. A declared length or count larger than the bytes left fails before any
 * allocation; the scan allocates nothing and runs in time linear in the input.
 */

import { MAX_CBOR_DEPTH } from '../constants.js';
import { CodecError } from '../errors.js';
import { isWellFormedUtf8 } from './utf8.js';

/** CBOR major types (RFC 8949 §3.1). */
const MAJOR_UINT = 0;
const MAJOR_NINT = 1;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_MAP = 5;
const MAJOR_TAG = 6;
const MAJOR_SIMPLE = 7;

/** Additional-information values (RFC 8949 §3). */
const AI_ONE_BYTE = 24;
const AI_EIGHT_BYTES = 27;
const AI_INDEFINITE = 31;

/** Initial bytes of the only simple values allowed (RFC 8949 §3.3). */
const SIMPLE_FALSE = 0xf4;
const SIMPLE_TRUE = 0xf5;

/** Smallest argument that needs 1, 2, 4 and 8 argument bytes: the shortest-form rule, RFC 8949 §4.2.1. */
const SHORTEST_MIN = [24, 0x100, 0x10000, 0x1_0000_0000] as const;

/** High 32 bits of the largest allowed integer, 2^53 − 1. */
const MAX_SAFE_HIGH_WORD = 0x1f_ffff;

/** The first byte of a UTF-8 byte-order mark, U+FEFF = EF BB BF. */
const BOM = [0xef, 0xbb, 0xbf] as const;

function fail(code: string, message: string): never {
  throw new CodecError(code, message);
}

/** Cursor over the input; `major` and `arg` hold the last head read. */
class Scanner {
  pos = 0;
  major = 0;
  arg = 0;

  constructor(
    readonly bytes: Uint8Array,
    readonly maxDepth: number,
  ) {}

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /**
   * Reads one item head (RFC 8949 §3): sets `major` and `arg`. Rejects tags, negative integers,
   * every simple value but false/true, floats, reserved and indefinite additional information,
   * non-shortest arguments and integers above 2^53−1.
   */
  readHead(): void {
    const bytes = this.bytes;
    if (this.pos >= bytes.length) fail('CODEC_TRUNCATED', 'input ends inside an item');
    const initial = bytes[this.pos] ?? 0;
    const major = initial >>> 5;
    const ai = initial & 0x1f;
    if (major === MAJOR_TAG) fail('CODEC_TAG', 'tags are not allowed');
    if (major === MAJOR_NINT) fail('CODEC_NEGATIVE', 'negative integers are not allowed');
    if (major === MAJOR_SIMPLE) {
      if (initial === SIMPLE_FALSE || initial === SIMPLE_TRUE) {
        this.major = major;
        this.arg = initial - SIMPLE_FALSE;
        this.pos += 1;
        return;
      }
      if (ai === AI_INDEFINITE) fail('CODEC_INDEFINITE', 'break outside an indefinite-length item');
      if (ai >= 25 && ai <= 27) fail('CODEC_FLOAT', 'floating-point numbers are not allowed');
      fail('CODEC_SIMPLE', 'only the simple values false and true are allowed');
    }
    if (ai === AI_INDEFINITE) {
      if (major === MAJOR_UINT) fail('CODEC_MALFORMED', 'reserved additional information');
      fail('CODEC_INDEFINITE', 'indefinite lengths are not allowed');
    }
    if (ai > AI_EIGHT_BYTES) fail('CODEC_MALFORMED', 'reserved additional information');
    this.major = major;
    if (ai < AI_ONE_BYTE) {
      this.arg = ai;
      this.pos += 1;
      return;
    }
    this.readArgument(ai - AI_ONE_BYTE);
  }

  /** Reads a 1/2/4/8-byte big-endian argument (`sizeIndex` 0..3) and checks it is shortest. */
  readArgument(sizeIndex: number): void {
    const bytes = this.bytes;
    const size = 1 << sizeIndex;
    const start = this.pos + 1;
    if (start + size > bytes.length) fail('CODEC_TRUNCATED', 'input ends inside an item head');
    let value = 0;
    if (size === 8) {
      const high = readUint32(bytes, start);
      // An 8-byte argument above 2^53−1 is no JS number; as a length it exceeds any input anyway.
      if (high > MAX_SAFE_HIGH_WORD) {
        fail(this.major === MAJOR_UINT ? 'CODEC_INT_RANGE' : 'CODEC_TRUNCATED', 'argument above 2^53-1');
      }
      value = high * 0x1_0000_0000 + readUint32(bytes, start + 4);
    } else {
      for (let k = 0; k < size; k++) value = value * 256 + (bytes[start + k] ?? 0);
    }
    if (value < (SHORTEST_MIN[sizeIndex] ?? 0)) {
      fail('CODEC_NON_CANONICAL', 'integer or length not in shortest form');
    }
    this.arg = value;
    this.pos = start + size;
  }

  /** Scans one whole item at `depth` (1 for the top level). */
  item(depth: number): void {
    this.readHead();
    switch (this.major) {
      case MAJOR_BYTES:
      case MAJOR_TEXT:
        this.string();
        return;
      case MAJOR_ARRAY:
        this.array(depth);
        return;
      case MAJOR_MAP:
        this.map(depth);
        return;
      default:
        return; // unsigned integer or false/true: the head was the whole item
    }
  }

  /** Skips a byte or text string body; checks text is valid UTF-8 without a leading BOM. */
  string(): void {
    const length = this.arg;
    if (length > this.remaining) fail('CODEC_TRUNCATED', 'string longer than the input left');
    const start = this.pos;
    const end = start + length;
    if (this.major === MAJOR_TEXT) {
      if (!isWellFormedUtf8(this.bytes, start, end)) fail('CODEC_UTF8', 'text is not valid UTF-8');
      // JS TextDecoder strips a leading BOM, so such text would not survive a round trip.
      if (length >= 3 && this.bytes[start] === BOM[0] && this.bytes[start + 1] === BOM[1] && this.bytes[start + 2] === BOM[2]) {
        fail('CODEC_UTF8', 'text must not start with U+FEFF');
      }
    }
    this.pos = end;
  }

  /** Scans an array's elements. Each element takes at least one byte, which bounds the count. */
  array(depth: number): void {
    if (depth > this.maxDepth) fail('CODEC_DEPTH', 'nesting too deep');
    const count = this.arg;
    if (count > this.remaining) fail('CODEC_TRUNCATED', 'array count larger than the input left');
    for (let i = 0; i < count; i++) this.item(depth + 1);
  }

  /**
   * Scans a map. Keys must be unsigned integers in strictly increasing order: for shortest-form
   * unsigned integers, bytewise order of the encodings (RFC 8949 §4.2.1) is numeric order.
   */
  map(depth: number): void {
    if (depth > this.maxDepth) fail('CODEC_DEPTH', 'nesting too deep');
    const count = this.arg;
    if (count * 2 > this.remaining) fail('CODEC_TRUNCATED', 'map count larger than the input left');
    let previous = -1;
    for (let i = 0; i < count; i++) {
      this.readHead();
      if (this.major !== MAJOR_UINT) fail('CODEC_MAP_KEY', 'map keys must be unsigned integers');
      if (this.arg === previous) fail('CODEC_DUPLICATE_KEY', 'duplicate map key');
      if (this.arg < previous) fail('CODEC_UNSORTED_KEYS', 'map keys not in ascending order');
      previous = this.arg;
      this.item(depth + 1);
    }
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    (bytes[at] ?? 0) * 0x100_0000 + (((bytes[at + 1] ?? 0) << 16) | ((bytes[at + 2] ?? 0) << 8) | (bytes[at + 3] ?? 0))
  );
}

/**
 * Checks that `bytes` is exactly one CBOR item of the strict subset (see the module comment),
 * with containers nested at most `maxDepth` deep (the top-level container is depth 1).
 *
 * @throws CodecError with the code of the first rule broken.
 */
export function scanStrict(bytes: Uint8Array, maxDepth: number = MAX_CBOR_DEPTH): void {
  const scanner = new Scanner(bytes, maxDepth);
  scanner.item(1);
  if (scanner.pos !== bytes.length) fail('CODEC_TRAILING_BYTES', 'bytes after the item');
}
