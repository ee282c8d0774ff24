/**
 * Sample schemas covering every field type, optional fields and nesting, with fast-check
 * arbitraries for their values. Shared by the codec tests and the fuzz targets.
 */

import fc from 'fast-check';
import { defineSchema, t } from '../../src/wire/schema.js';

/** Nested message used inside {@link Challenge}. */
export interface InnerMsg {
  id: number;
  flag?: boolean;
}

export const Inner = defineSchema<InnerMsg>('Inner', {
  fields: {
    id: { key: 0, type: t.uint({ max: 0xffff }) },
    flag: { key: 1, type: t.bool(), optional: true },
  },
});

/** The example from the task brief. */
export interface ChallengeMsg {
  versions: number[];
  ephemeral: Uint8Array;
  signature: Uint8Array;
  note?: string;
  inner?: InnerMsg;
}

export const Challenge = defineSchema<ChallengeMsg>('Challenge', {
  maxBytes: 256,
  fields: {
    versions: { key: 0, type: t.array(t.uint({ max: 255 }), { min: 1, max: 8 }) },
    ephemeral: { key: 1, type: t.bytes({ len: 33 }) },
    signature: { key: 2, type: t.bytes({ len: 64 }) },
    note: { key: 3, type: t.text({ max: 64 }), optional: true },
    inner: { key: 4, type: t.map(Inner), optional: true },
  },
});

/** Every field type, with bounds at the edges of CBOR's argument sizes. */
export interface AllTypesMsg {
  big: number;
  small: number;
  blob: Uint8Array;
  name: string;
  on: boolean;
  list: Uint8Array[];
  items: InnerMsg[];
  maybe?: number;
  later?: string;
  z23?: boolean;
}

export const AllTypes = defineSchema<AllTypesMsg>('AllTypes', {
  maxBytes: 2048,
  fields: {
    big: { key: 0, type: t.uint() },
    small: { key: 1, type: t.uint({ min: 10, max: 300 }) },
    blob: { key: 2, type: t.bytes({ min: 0, max: 300 }) },
    name: { key: 3, type: t.text({ min: 1, max: 100 }) },
    on: { key: 4, type: t.bool() },
    list: { key: 5, type: t.array(t.bytes({ max: 30 }), { max: 10 }) },
    items: { key: 6, type: t.array(t.map(Inner), { max: 4 }) },
    maybe: { key: 7, type: t.uint({ max: 0xffff_ffff }), optional: true },
    later: { key: 22, type: t.text({ max: 30 }), optional: true },
    z23: { key: 23, type: t.bool(), optional: true },
  },
});

/** Deepest nesting allowed: map → map → array → array. */
export const Deep = defineSchema('Deep', {
  maxBytes: 512,
  fields: {
    level2: {
      key: 0,
      type: t.map(
        defineSchema('Level2', {
          fields: { grid: { key: 5, type: t.array(t.array(t.uint({ max: 1000 }), { max: 4 }), { max: 4 }) } },
        }),
      ),
    },
  },
});

/** A message with no fields: encodes as the empty map, 0xa0. */
export const Empty = defineSchema('Empty', { maxBytes: 8, fields: {} });

const inner: fc.Arbitrary<InnerMsg> = fc.record(
  { id: fc.integer({ min: 0, max: 0xffff }), flag: fc.boolean() },
  { requiredKeys: ['id'] },
);

/** Text whose UTF-8 length is at most `maxBytes` and which does not start with U+FEFF. */
function text(minBytes: number, maxBytes: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: fc.oneof(fc.constantFrom('a', 'é', '€', '😀', '\u0000', '\ufeff'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), maxLength: maxBytes })
    .filter((s) => {
      const n = new TextEncoder().encode(s).length;
      return n >= minBytes && n <= maxBytes && s.charCodeAt(0) !== 0xfeff;
    });
}

/** Integers biased to the CBOR argument-size boundaries. */
function uintIn(min: number, max: number): fc.Arbitrary<number> {
  const edges = [0, 23, 24, 255, 256, 65535, 65536, 0xffff_ffff, 0x1_0000_0000, Number.MAX_SAFE_INTEGER].filter(
    (n) => n >= min && n <= max,
  );
  return fc.oneof(fc.constantFrom(min, max, ...edges), fc.integer({ min, max: Math.min(max, 2 ** 31) }), fc.maxSafeNat().filter((n) => n >= min && n <= max));
}

export const arbitraries = {
  challenge: fc.record(
    {
      versions: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }),
      ephemeral: fc.uint8Array({ minLength: 33, maxLength: 33 }),
      signature: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      note: text(0, 64),
      inner,
    },
    { requiredKeys: ['versions', 'ephemeral', 'signature'] },
  ) as fc.Arbitrary<ChallengeMsg>,
  allTypes: fc.record(
    {
      big: uintIn(0, Number.MAX_SAFE_INTEGER),
      small: uintIn(10, 300),
      blob: fc.uint8Array({ maxLength: 300 }),
      name: text(1, 100),
      on: fc.boolean(),
      list: fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 10 }),
      items: fc.array(inner, { maxLength: 4 }),
      maybe: uintIn(0, 0xffff_ffff),
      later: text(0, 30),
      z23: fc.boolean(),
    },
    { requiredKeys: ['big', 'small', 'blob', 'name', 'on', 'list', 'items'] },
  ) as fc.Arbitrary<AllTypesMsg>,
  deep: fc.record({
    level2: fc.record({ grid: fc.array(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 4 }), { maxLength: 4 }) }),
  }),
};
