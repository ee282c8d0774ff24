/**
 * The wire layer: strict deterministic CBOR messages and BLE framing. docs/WIRE.md.
 */

export { Reassembler, type ReassemblerOptions, chunkCount, fragment, framedSize } from './framing.js';
export { type CborMap, type CborValue, type DecodeCborOptions, decodeCbor, encodeCbor } from './cbor.js';
export {
  type ArrayOptions,
  type BytesOptions,
  type AnyFieldSpec,
  type FieldKind,
  FieldType,
  type FieldSpec,
  type Infer,
  type InferFields,
  MAX_FIELD_KEY,
  Schema,
  type SchemaField,
  type SchemaSpec,
  type TextOptions,
  type UintOptions,
  decodeMessage,
  defineSchema,
  encodeMessage,
  t,
} from './schema.js';
