/**
 * Message schemas: each protocol message is a CBOR map with small unsigned integer keys (0..23,
 * one byte each) and typed values, encoded deterministically. docs/WIRE.md §Schemas.
 *
 * ```ts
 * const Challenge = defineSchema<ChallengeMsg>('Challenge', { maxBytes: 256, fields: {
 *   versions: { key: 0, type: t.array(t.uint({ max: 255 }), { min: 1, max: 8 }) },
 *   ephemeral: { key: 1, type: t.bytes({ len: 33 }) },
 *   note: { key: 3, type: t.text({ max: 64 }), optional: true },
 * }});
 * const bytes = encodeMessage(Challenge, value); // UsageError if value does not match
 * const msg = decodeMessage(Challenge, bytes);   // CodecError on any bad input
 * ```
 *
 * Decoded messages are fresh plain objects built field by field from the schema (names come from
 * the schema, never from the input); byte strings are fresh Uint8Arrays. Optional fields that are
 * absent are left out of the object (never null); on encode, an `undefined` optional field is
 * omitted from the map.
 */

import { MAX_CBOR_DEPTH, MAX_MESSAGE_BYTES } from '../constants.js';
import { CodecError, UsageError } from '../errors.js';
import { type CborMap, type CborValue, encodeCbor, parseStrict, requireCanonical } from './cbor.js';
import { utf8Length } from './utf8.js';

/** Throws the error for one direction: UsageError when encoding, CodecError when decoding. */
type Fail = (code: string, message: string) => never;

const failEncode: Fail = (code, message) => {
  throw new UsageError(code, message);
};
const failDecode: Fail = (code, message) => {
  throw new CodecError(code, message);
};

function invalid(message: string): never {
  throw new UsageError('SCHEMA_INVALID', message);
}

/** Largest map key a field may use: keys 0..23 encode in one byte (RFC 8949 §3). */
export const MAX_FIELD_KEY = 23;

/** The kinds of field type. */
export type FieldKind = 'uint' | 'bytes' | 'text' | 'bool' | 'array' | 'map';

/**
 * A field type made by {@link t}: converts a JS value of type `T` to a CBOR item and back,
 * checking it both ways.
 */
export class FieldType<T> {
  /** @internal */
  constructor(
    /** What kind of value this is. */
    readonly kind: FieldKind,
    /** Human-readable form, e.g. `bytes(len 33)`, used in error messages and docs. */
    readonly description: string,
    /** Container nesting this type adds (0 for scalars), checked against MAX_CBOR_DEPTH. */
    readonly depth: number,
    /** @internal Checks `value` (encoding side, or decoded item) and returns the other side. */
    readonly convert: (value: unknown, path: string, fail: Fail, encoding: boolean) => unknown,
  ) {}

  /** @internal JS value → CBOR item. Throws UsageError naming `path`. */
  toCbor(value: unknown, path: string): CborValue {
    return this.convert(value, path, failEncode, true) as CborValue;
  }

  /** @internal CBOR item → fresh JS value. Throws CodecError naming `path`. */
  fromCbor(item: CborValue, path: string): T {
    return this.convert(item, path, failDecode, false) as T;
  }
}

/** Checks a [min, max] option pair of non-negative integers, with defaults. */
function bounds(name: string, min: number | undefined, max: number | undefined, ceiling: number): [number, number] {
  const lo = min ?? 0;
  const hi = max ?? ceiling;
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 0 || hi > ceiling || lo > hi) {
    invalid(`${name}: bounds must be integers with 0 <= min <= max <= ${ceiling}`);
  }
  return [lo, hi];
}

/** Checks a length against [lo, hi]. */
function checkLength(length: number, lo: number, hi: number, path: string, fail: Fail, unit: string): void {
  if (length < lo || length > hi) {
    fail('CODEC_LENGTH', `${path}: ${length} ${unit}, expected ${lo === hi ? lo : `${lo}..${hi}`}`);
  }
}

/** Options of {@link t.uint}. */
export interface UintOptions {
  /** Smallest value allowed (default 0). */
  min?: number;
  /** Largest value allowed (default 2^53 − 1). */
  max?: number;
}

function uint(options: UintOptions = {}): FieldType<number> {
  const [lo, hi] = bounds('uint', options.min, options.max, Number.MAX_SAFE_INTEGER);
  return new FieldType<number>('uint', `uint(${lo}..${hi})`, 0, (value, path, fail) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      return fail('CODEC_TYPE', `${path}: expected an unsigned integer`);
    }
    if (value < lo || value > hi) fail('CODEC_RANGE', `${path}: ${value} outside ${lo}..${hi}`);
    return value;
  });
}

/** Options of {@link t.bytes}: either an exact `len`, or `min`/`max` bounds. */
export type BytesOptions = { len: number; min?: never; max?: never } | { len?: never; min?: number; max?: number };

function bytes(options: BytesOptions = {}): FieldType<Uint8Array> {
  const [lo, hi] =
    options.len === undefined
      ? bounds('bytes', options.min, options.max, MAX_MESSAGE_BYTES)
      : bounds('bytes', options.len, options.len, MAX_MESSAGE_BYTES);
  const description = lo === hi ? `bytes(len ${lo})` : `bytes(${lo}..${hi})`;
  return new FieldType<Uint8Array>('bytes', description, 0, (value, path, fail) => {
    if (!(value instanceof Uint8Array)) return fail('CODEC_TYPE', `${path}: expected bytes`);
    checkLength(value.length, lo, hi, path, fail, 'bytes');
    // Decoded byte strings are already fresh copies (cbor.ts); encoding only reads this one.
    return value;
  });
}

/** Options of {@link t.text}; lengths count UTF-8 bytes, not characters. */
export interface TextOptions {
  /** Longest text allowed, in UTF-8 bytes. */
  max: number;
  /** Shortest text allowed, in UTF-8 bytes (default 0). */
  min?: number;
}

function text(options: TextOptions): FieldType<string> {
  if (typeof options !== 'object' || options === null) invalid('text: options with "max" are required');
  const [lo, hi] = bounds('text', options.min, options.max, MAX_MESSAGE_BYTES);
  return new FieldType<string>('text', `text(${lo}..${hi} UTF-8 bytes)`, 0, (value, path, fail) => {
    if (typeof value !== 'string') return fail('CODEC_TYPE', `${path}: expected text`);
    const length = utf8Length(value);
    // Lone surrogates cannot be encoded as UTF-8 (RFC 3629 §3); decoded text never has them.
    if (length < 0) return fail('CODEC_TYPE', `${path}: text holds a lone surrogate`);
    checkLength(length, lo, hi, path, fail, 'UTF-8 bytes');
    return value;
  });
}

/**
 * A boolean. `trueOnly`: only `true` may appear, a flag whose absence means false; `false` is
 * refused (CODEC_RANGE) so the value has one encoding (absent), which signed bytes need
 * (docs/WIRE.md §Schemas).
 */
function bool(options: { trueOnly?: boolean } = {}): FieldType<boolean> {
  const trueOnly = options.trueOnly === true;
  return new FieldType<boolean>('bool', trueOnly ? 'true' : 'bool', 0, (value, path, fail) => {
    if (typeof value !== 'boolean') return fail('CODEC_TYPE', `${path}: expected a boolean`);
    if (trueOnly && !value) fail('CODEC_RANGE', `${path}: only true may be encoded (absent means false)`);
    return value;
  });
}

/** Options of {@link t.array}: element count bounds. */
export interface ArrayOptions {
  /** Fewest elements (default 0). */
  min?: number;
  /** Most elements (default MAX_MESSAGE_BYTES, which the size cap makes unreachable anyway). */
  max?: number;
  /**
   * Elements (unsigned integers) must be strictly ascending: a set with one encoding. Unsorted
   * or duplicate elements are refused with CODEC_UNSORTED (docs/WIRE.md §Schemas).
   */
  ascending?: boolean;
}

function array<T>(of: FieldType<T>, options: ArrayOptions = {}): FieldType<T[]> {
  if (!(of instanceof FieldType)) invalid('array: element type must come from t.*');
  const [lo, hi] = bounds('array', options.min, options.max, MAX_MESSAGE_BYTES);
  const ascending = options.ascending === true;
  if (ascending && of.kind !== 'uint') invalid('array: "ascending" needs uint elements');
  const description = `array(${lo}..${hi} of ${of.description}${ascending ? ', strictly ascending' : ''})`;
  return new FieldType<T[]>('array', description, of.depth + 1, (value, path, fail, encoding) => {
    if (!Array.isArray(value)) return fail('CODEC_TYPE', `${path}: expected an array`);
    checkLength(value.length, lo, hi, path, fail, 'elements');
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const element = of.convert(value[i], `${path}[${i}]`, fail, encoding);
      if (ascending && i > 0 && !((element as number) > (out[i - 1] as number))) {
        fail('CODEC_UNSORTED', `${path}[${i}]: elements must be strictly ascending (sorted, no duplicates)`);
      }
      out.push(element);
    }
    return out;
  });
}

function map<T>(schema: Schema<T>): FieldType<T> {
  if (!(schema instanceof Schema)) invalid('map: argument must come from defineSchema');
  return new FieldType<T>('map', `map(${schema.name})`, schema.depth, (value, path, fail, encoding) =>
    encoding ? objectToMap(schema, value, path) : mapToObject(schema, value as CborValue, path, fail),
  );
}

/** Field type constructors. */
export const t = Object.freeze({
  /** Unsigned integer in [min, max] ⊆ [0, 2^53 − 1]; CBOR major type 0. */
  uint,
  /** Byte string of exactly `len` bytes, or `min`..`max` bytes; CBOR major type 2. */
  bytes,
  /** UTF-8 text of at most `max` bytes (valid UTF-8, no leading U+FEFF); CBOR major type 3. */
  text,
  /** false or true; CBOR simple values 20 and 21. `{ trueOnly }`: a flag, only true is encoded. */
  bool,
  /** Array of `min`..`max` elements of one type (`ascending`: a sorted set of uints); CBOR major type 4. */
  array,
  /** Nested message (a map with its own schema); CBOR major type 5. */
  map,
});

/** One field as declared in a schema. Optional exactly when the message type allows undefined. */
export type FieldSpec<V> = undefined extends V
  ? { key: number; type: FieldType<Exclude<V, undefined>>; optional: true }
  : { key: number; type: FieldType<V>; optional?: false };

/** Declaration passed to {@link defineSchema}. */
export interface SchemaSpec<T> {
  /** Largest encoded message, in bytes (default and ceiling MAX_MESSAGE_BYTES). Top level only. */
  maxBytes?: number;
  /** One entry per property of `T`: its map key (0..23), type, and whether it is optional. */
  fields: { [K in keyof T]-?: FieldSpec<T[K]> };
}

/** A field of a defined schema, resolved. */
export interface SchemaField {
  /** Property name in the JS object. */
  readonly name: string;
  /** CBOR map key, 0..23. */
  readonly key: number;
  /** Value type. */
  readonly type: FieldType<unknown>;
  /** Whether the field may be absent. */
  readonly optional: boolean;
}

/** A message schema made by {@link defineSchema}. Immutable. */
export class Schema<T> {
  /** Fields in ascending key order (the canonical order on the wire). */
  readonly fields: readonly SchemaField[];
  /** Container nesting of an encoded message (1 + the deepest field). */
  readonly depth: number;
  readonly #byKey: ReadonlyMap<number, SchemaField>;
  readonly #names: ReadonlySet<string>;
  /** Type-level only: the message type. Never set. */
  declare readonly _type?: T;

  /** @internal Use {@link defineSchema}. */
  constructor(
    /** Message name, used in error messages. */
    readonly name: string,
    /** Largest encoded message, in bytes. */
    readonly maxBytes: number,
    fields: readonly SchemaField[],
  ) {
    this.fields = Object.freeze([...fields].sort((a, b) => a.key - b.key));
    this.depth = 1 + Math.max(0, ...fields.map((f) => f.type.depth));
    this.#byKey = new Map(fields.map((f) => [f.key, f]));
    this.#names = new Set(fields.map((f) => f.name));
    Object.freeze(this);
  }

  /** @internal The field with map key `key`, if any. */
  fieldByKey(key: number): SchemaField | undefined {
    return this.#byKey.get(key);
  }

  /** @internal Whether `name` is a field name. */
  hasName(name: string): boolean {
    return this.#names.has(name);
  }
}

/** The message type of a schema: `Infer<typeof Challenge>`. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Any field declaration, for inferring a message type from the fields alone. */
export interface AnyFieldSpec {
  key: number;
  type: FieldType<unknown>;
  optional?: boolean;
}

type ValueOf<S> = S extends { type: FieldType<infer V> } ? V : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The message type described by a `fields` declaration: optional where `optional: true`. */
export type InferFields<F> = Simplify<
  { -readonly [K in keyof F as F[K] extends { optional: true } ? never : K]: ValueOf<F[K]> } & {
    -readonly [K in keyof F as F[K] extends { optional: true } ? K : never]?: ValueOf<F[K]>;
  }
>;

/** Property names that would touch the prototype when assigned on a plain object. */
const FORBIDDEN_NAMES = new Set(['__proto__']);

/**
 * Defines a message schema, either against a declared message type (`defineSchema<Msg>(…)`, which
 * type-checks every field and its optionality against `Msg`) or inferring the type from the
 * fields (then use `Infer<typeof S>`). Checks the declaration: keys are distinct integers 0..23, types come
 * from {@link t}, `maxBytes` is within MAX_MESSAGE_BYTES, nesting stays within MAX_CBOR_DEPTH.
 *
 * @throws UsageError (code SCHEMA_INVALID) on a bad declaration.
 */
export function defineSchema<const F extends Record<string, AnyFieldSpec>>(
  name: string,
  spec: { maxBytes?: number; fields: F },
): Schema<InferFields<F>>;
export function defineSchema<T>(name: string, spec: SchemaSpec<T>): Schema<T>;
export function defineSchema<T>(name: string, spec: SchemaSpec<T>): Schema<T> {
  if (typeof name !== 'string' || name.length === 0) invalid('schema name must be a non-empty string');
  if (typeof spec !== 'object' || spec === null || typeof spec.fields !== 'object' || spec.fields === null) {
    invalid(`${name}: "fields" is required`);
  }
  const maxBytes = spec.maxBytes ?? MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > MAX_MESSAGE_BYTES) {
    invalid(`${name}: "maxBytes" must be an integer in [1, ${MAX_MESSAGE_BYTES}]`);
  }
  const fields: SchemaField[] = [];
  const keys = new Set<number>();
  for (const [fieldName, raw] of Object.entries(spec.fields as Record<string, unknown>)) {
    const f = raw as { key?: unknown; type?: unknown; optional?: unknown };
    const where = `${name}.${fieldName}`;
    if (FORBIDDEN_NAMES.has(fieldName)) invalid(`${where}: forbidden field name`);
    if (typeof f !== 'object' || f === null) invalid(`${where}: field spec must be an object`);
    const key = f.key;
    if (typeof key !== 'number' || !Number.isInteger(key) || key < 0 || key > MAX_FIELD_KEY) {
      invalid(`${where}: "key" must be an integer in [0, ${MAX_FIELD_KEY}]`);
    }
    if (keys.has(key)) invalid(`${where}: duplicate key ${key}`);
    keys.add(key);
    if (!(f.type instanceof FieldType)) invalid(`${where}: "type" must come from t.*`);
    if (f.optional !== undefined && typeof f.optional !== 'boolean') invalid(`${where}: "optional" must be a boolean`);
    fields.push(Object.freeze({ name: fieldName, key, type: f.type, optional: f.optional === true }));
  }
  const schema = new Schema<T>(name, maxBytes, fields);
  if (schema.depth > MAX_CBOR_DEPTH) invalid(`${name}: nesting deeper than ${MAX_CBOR_DEPTH}`);
  return schema;
}

/** Encoding side of a map field: a JS object → a CBOR map in key order. Throws UsageError. */
function objectToMap<T>(schema: Schema<T>, value: unknown, path: string): CborMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array || value instanceof Map) {
    failEncode('CODEC_TYPE', `${path}: expected an object`);
  }
  const record = value as Record<string, unknown>;
  for (const name of Object.keys(record)) {
    if (!schema.hasName(name) && record[name] !== undefined) failEncode('CODEC_UNKNOWN_KEY', `${path}: unknown field "${name}"`);
  }
  const out: CborMap = new Map();
  for (const field of schema.fields) {
    const item = record[field.name];
    if (item === undefined) {
      if (!field.optional) failEncode('CODEC_MISSING_KEY', `${path}.${field.name}: required field missing`);
      continue; // optional fields are omitted, never encoded as null/undefined
    }
    out.set(field.key, field.type.toCbor(item, `${path}.${field.name}`));
  }
  return out;
}

/** Decoding side of a map field: a CBOR map → a fresh object built from the schema. */
function mapToObject<T>(schema: Schema<T>, item: CborValue, path: string, fail: Fail): T {
  if (!(item instanceof Map)) return fail('CODEC_TYPE', `${path}: expected a map`);
  for (const key of item.keys()) {
    if (schema.fieldByKey(key) === undefined) fail('CODEC_UNKNOWN_KEY', `${path}: unknown key ${key}`);
  }
  const out: Record<string, unknown> = {};
  for (const field of schema.fields) {
    const value = item.get(field.key);
    if (value === undefined) {
      if (!field.optional) fail('CODEC_MISSING_KEY', `${path}.${field.name}: required key ${field.key} missing`);
      continue;
    }
    // Names come from the schema (never "__proto__"), so this assignment cannot touch a prototype.
    out[field.name] = field.type.convert(value, `${path}.${field.name}`, fail, false);
  }
  return out as T;
}

function checkSchema(schema: unknown): asserts schema is Schema<unknown> {
  if (!(schema instanceof Schema)) throw new UsageError('CODEC_BAD_SCHEMA', '"schema" must come from defineSchema');
}

/**
 * Encodes a message deterministically (docs/WIRE.md §Canonical form). Returns a fresh buffer.
 *
 * @throws UsageError if `value` does not match the schema (code names the rule: CODEC_TYPE,
 *   CODEC_RANGE, CODEC_LENGTH, CODEC_UNSORTED, CODEC_MISSING_KEY, CODEC_UNKNOWN_KEY) or the encoding exceeds
 *   `schema.maxBytes` (CODEC_TOO_LARGE).
 */
export function encodeMessage<T>(schema: Schema<T>, value: T): Uint8Array {
  checkSchema(schema);
  const encoded = encodeCbor(objectToMap(schema, value, schema.name));
  if (encoded.length > schema.maxBytes) {
    throw new UsageError('CODEC_TOO_LARGE', `${schema.name}: ${encoded.length} bytes, max ${schema.maxBytes}`);
  }
  return encoded;
}

/**
 * Decodes an untrusted message: size cap, strict scan (docs/WIRE.md §Rejections), cbor-x decode,
 * schema validation (unknown and missing keys, types, ranges, lengths), then re-encodes the
 * result and requires it to equal the input byte for byte.
 *
 * @throws CodecError on any malformed, non-canonical or non-matching input.
 * @throws UsageError only if `schema` or `bytes` is not what the signature says (a caller bug).
 */
export function decodeMessage<T>(schema: Schema<T>, bytes: Uint8Array): T {
  checkSchema(schema);
  const item = parseStrict(bytes, schema.maxBytes, MAX_CBOR_DEPTH);
  const value = mapToObject(schema, item, schema.name, failDecode);
  let reencoded: Uint8Array;
  try {
    reencoded = encodeCbor(objectToMap(schema, value, schema.name));
  } catch (err) {
    throw new CodecError('CODEC_NON_CANONICAL', `${schema.name}: decoded value does not re-encode`, { cause: err });
  }
  requireCanonical(bytes, reencoded);
  return value;
}
