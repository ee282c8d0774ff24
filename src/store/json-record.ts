/**
 * Typed records as JSON with hex byte strings, shared by the vehicle and phone stores: small,
 * readable in a hex editor, and the vault already checksums every file. A record that does not
 * parse is corruption and fails closed with StoreError `STORE_CORRUPT`, never a silent reset.
 */
import { StoreError } from '../errors.js';
import { fromHex, utf8, utf8Decode } from '../crypto/bytes.js';

/** A parsed JSON object. */
export type Json = Record<string, unknown>;

/** Encodes a record (undefined fields are left out, as JSON does). */
export function encodeRecord(obj: Json): Uint8Array {
  // JSON.stringify escapes lone surrogates (ES2019), so utf8() cannot refuse its output.
  return utf8(JSON.stringify(obj));
}

/** Parses record `name` with `build`; any failure is STORE_CORRUPT naming the store and record. */
export function parseRecord<T>(bytes: Uint8Array, store: string, name: string, build: (j: Json) => T): T {
  try {
    const json = JSON.parse(utf8Decode(bytes)) as Json;
    if (typeof json !== 'object' || json === null) throw new Error('not an object');
    return build(json);
  } catch (cause) {
    throw new StoreError('STORE_CORRUPT', `${store} store record ${name} is unreadable`, { cause });
  }
}

/** A required hex byte-string field. */
export function hexField(j: Json, k: string): Uint8Array {
  const v = j[k];
  if (typeof v !== 'string') throw new Error(`${k} missing`);
  return fromHex(v);
}

/** An optional hex byte-string field. */
export function optHex(j: Json, k: string): Uint8Array | undefined {
  return j[k] === undefined ? undefined : hexField(j, k);
}

/** A required finite number field. */
export function num(j: Json, k: string): number {
  const v = j[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${k} missing`);
  return v;
}

/** An optional finite number field. */
export function optNum(j: Json, k: string): number | undefined {
  return j[k] === undefined ? undefined : num(j, k);
}

/** A required string field. */
export function str(j: Json, k: string): string {
  const v = j[k];
  if (typeof v !== 'string') throw new Error(`${k} missing`);
  return v;
}

/** An optional list of lowercase hex strings (kept as hex). */
export function optHexList(j: Json, k: string): string[] | undefined {
  const v = j[k];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && /^[0-9a-f]+$/.test(x))) throw new Error(`${k} malformed`);
  return v as string[];
}
