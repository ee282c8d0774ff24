/**
 * Deterministic CBOR over cbor-x, restricted to the strict subset of docs/WIRE.md: unsigned
 * integers, byte strings, text strings, false/true, arrays, and maps with unsigned integer keys.
 *
 * Encoding (RFC 8949 §4.2.1 core deterministic encoding): shortest-form integers and lengths,
 * definite lengths, map keys sorted (bytewise order of shortest-form unsigned integers is numeric
 * order). cbor-x is configured so that Uint8Array is a plain byte string (no tag 64), maps carry
 * no tag 259, and integers above 2^32−1 are written as 8-byte integers (cbor-x would write a
 * float64 for a large `number`, so we hand it a bigint). Every encoding is re-scanned strictly.
 *
 * Decoding untrusted bytes: size cap, then {@link scanStrict} over the raw bytes (so no tag,
 * indefinite length or oversize count ever reaches cbor-x), then cbor-x inside try/catch, then a
 * copy into fresh values ({@link CborValue}), then re-encoding and byte comparison with the input.
 * Nothing cbor-x returns escapes: byte strings are copied out of its Buffers, maps rebuilt.
 */

import { Decoder, Encoder } from 'cbor-x';
import { MAX_CBOR_DEPTH, MAX_MESSAGE_BYTES } from '../constants.js';
import { CodecError, UsageError } from '../errors.js';
import { scanStrict } from './scan.js';
import { utf8Length } from './utf8.js';

/** A value in the strict subset: what {@link encodeCbor} takes and {@link decodeCbor} returns. */
export type CborValue = number | boolean | string | Uint8Array | CborValue[] | CborMap;
/** A CBOR map with unsigned integer keys. */
export type CborMap = Map<number, CborValue>;

/** Options of {@link decodeCbor}. */
export interface DecodeCborOptions {
  /** Largest input accepted, in bytes (default and ceiling MAX_MESSAGE_BYTES). */
  maxBytes?: number;
  /** Deepest container nesting accepted (default MAX_CBOR_DEPTH; top-level container = 1). */
  maxDepth?: number;
}

/** Largest integer in the subset, 2^53 − 1. */
const MAX_UINT = Number.MAX_SAFE_INTEGER;
/** Largest integer cbor-x writes as an integer from a `number`; above it we pass a bigint. */
const MAX_UINT32 = 0xffff_ffff;

/** cbor-x settings that keep it inside the subset; spelled out rather than relying on defaults. */
const CBOR_X_OPTIONS = {
  mapsAsObjects: false, // maps decode to Map, never to objects (no `__proto__` keys on objects)
  useRecords: false, // no tag-105 records (decoded through `new Function`)
  structuredClone: false, // no tag-28/29 shared references
  tagUint8Array: false, // Uint8Array as a plain byte string, not tag 64
  useTag259ForMaps: false, // no tag 259 around maps
  pack: false, // no packed-value tags
  bundleStrings: false, // no string bundling tag
  variableMapSize: false,
  useFloat32: 0, // never write float32
  alwaysUseFloat: false,
  largeBigIntToFloat: false,
  int64AsNumber: true, // 8-byte integers decode as numbers (the scan bounds them to 2^53−1)
  sequential: false,
  copyBuffers: true,
} as const;

const encoder = new Encoder(CBOR_X_OPTIONS as ConstructorParameters<typeof Encoder>[0]);
const decoder = new Decoder(CBOR_X_OPTIONS as ConstructorParameters<typeof Decoder>[0]);

function usage(code: string, message: string): never {
  throw new UsageError(code, message);
}

function codec(code: string, message: string): never {
  throw new CodecError(code, message);
}

/**
 * Copies a caller's value into what cbor-x will encode canonically: maps rebuilt with sorted
 * keys, bytes as plain Uint8Array views, large integers as bigint.
 */
function toEncodable(value: unknown, path: string, depth: number): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value) || value < 0) {
        usage('CODEC_TYPE', `${path}: numbers must be integers in [0, 2^53-1]`);
      }
      return value > MAX_UINT32 ? BigInt(value) : value;
    case 'boolean':
      return value;
    case 'string':
      if (utf8Length(value) < 0) usage('CODEC_TYPE', `${path}: text holds a lone surrogate`);
      if (value.charCodeAt(0) === 0xfeff) usage('CODEC_TYPE', `${path}: text must not start with U+FEFF`);
      return value;
    default:
  }
  if (value instanceof Uint8Array) {
    // A plain Uint8Array view: cbor-x tags other constructors (and Buffer subclasses differ).
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (Array.isArray(value) || value instanceof Map) {
    // Same limit as the decoder, so everything we encode decodes (top-level container = 1).
    if (depth > MAX_CBOR_DEPTH) usage('CODEC_DEPTH', `${path}: nesting too deep`);
  }
  if (Array.isArray(value)) {
    return value.map((item, i) => toEncodable(item, `${path}[${i}]`, depth + 1));
  }
  if (value instanceof Map) {
    const keys = [...value.keys()];
    for (const key of keys) {
      if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 0) {
        usage('CODEC_MAP_KEY', `${path}: map keys must be integers in [0, 2^53-1]`);
      }
    }
    (keys as number[]).sort((a, b) => a - b);
    const out = new Map<unknown, unknown>();
    for (const key of keys as number[]) {
      out.set(key > MAX_UINT32 ? BigInt(key) : key, toEncodable(value.get(key), `${path}{${key}}`, depth + 1));
    }
    return out;
  }
  return usage('CODEC_TYPE', `${path}: not a CBOR subset value`);
}

/**
 * Encodes a value of the strict subset deterministically (RFC 8949 §4.2.1). Returns a fresh buffer.
 *
 * @throws UsageError if the value is outside the subset (negative or non-integer number, null,
 *   undefined, object, lone surrogate, map key not an unsigned integer, nesting too deep).
 */
export function encodeCbor(value: CborValue): Uint8Array {
  const encodable = toEncodable(value, '$', 1);
  let out: Uint8Array;
  try {
    // cbor-x returns a view of a buffer it reuses: copy it.
    out = new Uint8Array(encoder.encode(encodable));
  } catch (err) {
    throw new UsageError('CODEC_ENCODE', 'cbor-x could not encode the value', { cause: err });
  }
  try {
    scanStrict(out, MAX_CBOR_DEPTH);
  } catch (err) {
    // Our own encoder left the subset: a bug here or a cbor-x behaviour change, never the caller's.
    throw new CodecError('CODEC_INTERNAL', 'encoder output is not in the strict subset', { cause: err });
  }
  return out;
}

/** Copies cbor-x output into fresh subset values, rejecting anything else it might produce. */
function fromDecoded(value: unknown): CborValue {
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value) || value < 0 || value > MAX_UINT) codec('CODEC_MALFORMED', 'unexpected number');
      return value;
    case 'boolean':
    case 'string':
      return value;
    default:
  }
  if (value instanceof Uint8Array) return new Uint8Array(value); // copies, and drops Buffer
  if (Array.isArray(value)) return value.map(fromDecoded);
  if (value instanceof Map) {
    const out: CborMap = new Map();
    for (const [key, item] of value) {
      if (typeof key !== 'number') codec('CODEC_MALFORMED', 'unexpected map key');
      out.set(key, fromDecoded(item));
    }
    return out;
  }
  return codec('CODEC_MALFORMED', 'unexpected decoded value');
}

/** Resolves and checks the size cap: never above MAX_MESSAGE_BYTES. */
function capOf(maxBytes: number | undefined): number {
  if (maxBytes === undefined) return MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) usage('CODEC_BAD_OPTIONS', '"maxBytes" must be a positive integer');
  return Math.min(maxBytes, MAX_MESSAGE_BYTES);
}

/**
 * Parses untrusted bytes into subset values without the canonical re-encoding check (callers run
 * it on their own result, see {@link requireCanonical}). Size cap, strict scan, then cbor-x.
 *
 * @internal shared with schema.ts; use {@link decodeCbor}.
 */
export function parseStrict(bytes: Uint8Array, maxBytes: number, maxDepth: number): CborValue {
  if (!(bytes instanceof Uint8Array)) usage('CODEC_BAD_INPUT', '"bytes" must be a Uint8Array');
  // Size cap before anything else looks at the bytes (docs/WIRE.md §Size caps).
  if (bytes.length > maxBytes) codec('CODEC_TOO_LARGE', `input larger than ${maxBytes} bytes`);
  if (bytes.length === 0) codec('CODEC_TRUNCATED', 'empty input');
  scanStrict(bytes, maxDepth);
  let decoded: unknown;
  try {
    // A fresh view: cbor-x caches a DataView as a `dataView` property on the object it decodes
    // (mutating the caller's buffer) and reuses one it finds there.
    decoded = decoder.decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    // Unreachable after the scan unless cbor-x changes; never let its raw error out.
    throw new CodecError('CODEC_MALFORMED', 'cbor-x rejected scanned input', { cause: err });
  }
  return fromDecoded(decoded);
}

/**
 * Requires that `encoded` (our canonical re-encoding of what was decoded) equals `input` byte for
 * byte: the input was in canonical form and decoding lost nothing.
 *
 * @internal shared with schema.ts.
 */
export function requireCanonical(input: Uint8Array, encoded: Uint8Array): void {
  if (input.length !== encoded.length) codec('CODEC_NON_CANONICAL', 'input is not in canonical form');
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== encoded[i]) codec('CODEC_NON_CANONICAL', 'input is not in canonical form');
  }
}

/**
 * Decodes untrusted bytes holding exactly one item of the strict subset, in canonical form.
 * Returned values are fresh (maps are new Maps, byte strings new Uint8Arrays).
 *
 * @throws CodecError (see docs/WIRE.md §Rejections for the codes).
 * @throws UsageError if `bytes` is not a Uint8Array or an option is invalid.
 */
export function decodeCbor(bytes: Uint8Array, options: DecodeCborOptions = {}): CborValue {
  const maxBytes = capOf(options.maxBytes);
  const maxDepth = options.maxDepth ?? MAX_CBOR_DEPTH;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_CBOR_DEPTH) {
    usage('CODEC_BAD_OPTIONS', `"maxDepth" must be an integer in [1, ${MAX_CBOR_DEPTH}]`);
  }
  const value = parseStrict(bytes, maxBytes, maxDepth);
  let encoded: Uint8Array;
  try {
    encoded = encodeCbor(value);
  } catch (err) {
    throw new CodecError('CODEC_NON_CANONICAL', 'decoded value does not re-encode', { cause: err });
  }
  requireCanonical(bytes, encoded);
  return value;
}
