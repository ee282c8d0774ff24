import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CodecError, DigitalKeyError } from '../../src/errors.js';
import { encodeCbor } from '../../src/wire/cbor.js';
import { scanStrict } from '../../src/wire/scan.js';
import { type Infer, type Schema, decodeMessage, defineSchema, encodeMessage, t } from '../../src/wire/schema.js';
import { AllTypes, Challenge, type ChallengeMsg, Deep, Empty, Inner, arbitraries } from './sample-schemas.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function codeOf(fn: () => unknown): { cls: string; code: string } | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof DigitalKeyError)) throw err;
    return { cls: err.constructor.name, code: err.code };
  }
}

const usage = (code: string) => ({ cls: 'UsageError', code });
const codec = (code: string) => ({ cls: 'CodecError', code });

/** Worked example (docs/WIRE.md §Worked example): a Challenge with every field. */
const EXAMPLE: ChallengeMsg = {
  versions: [1, 24],
  ephemeral: new Uint8Array(33).fill(0x02),
  signature: new Uint8Array(64).fill(0xaa),
  note: 'hé',
  inner: { id: 300, flag: true },
};
const EXAMPLE_HEX =
  'a5' +
  '00 82 01 1818' +
  '01 5821' + '02'.repeat(33) +
  '02 5840' + 'aa'.repeat(64) +
  '03 63 68c3a9' +
  '04 a2 00 19012c 01 f5';

describe('schema: encode and decode the worked example', () => {
  it('encodes to the documented bytes', () => {
    expect(toHex(encodeMessage(Challenge, EXAMPLE))).toBe(EXAMPLE_HEX.replace(/\s+/g, ''));
  });
  it('decodes the documented bytes to fresh plain objects', () => {
    const input = hex(EXAMPLE_HEX);
    const msg = decodeMessage(Challenge, input);
    expect(msg).toEqual(EXAMPLE);
    expect(Object.getPrototypeOf(msg)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(msg.inner)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(msg.ephemeral)).toBe(Uint8Array.prototype);
    expect(Object.keys(msg)).toEqual(['versions', 'ephemeral', 'signature', 'note', 'inner']);
    input.fill(0);
    expect(msg.ephemeral[0]).toBe(2); // no aliasing of the input
  });
  it('omits absent optional fields (never null/undefined on the wire or in the object)', () => {
    const minimal: ChallengeMsg = { versions: [1], ephemeral: EXAMPLE.ephemeral, signature: EXAMPLE.signature };
    const bytes = encodeMessage(Challenge, { ...minimal, note: undefined, inner: undefined });
    expect(bytes[0]).toBe(0xa3);
    const msg = decodeMessage(Challenge, bytes);
    expect('note' in msg).toBe(false);
    expect('inner' in msg).toBe(false);
    expect(msg).toEqual(minimal);
  });
  it('does not mutate the value it encodes or the bytes it decodes', () => {
    const value: ChallengeMsg = { versions: [3, 2, 1], ephemeral: new Uint8Array(33), signature: new Uint8Array(64), inner: { id: 1 } };
    const snapshot = structuredClone(value);
    const bytes = encodeMessage(Challenge, value);
    expect(value).toEqual(snapshot);
    expect(Object.keys(value.ephemeral)).toHaveLength(33);
    expect(value.versions).toEqual([3, 2, 1]);
    const copy = bytes.slice();
    decodeMessage(Challenge, bytes);
    expect(bytes).toEqual(copy);
    expect(Object.keys(bytes)).toHaveLength(bytes.length);
  });
  it('an empty schema is the empty map', () => {
    expect(toHex(encodeMessage(Empty, {}))).toBe('a0');
    expect(decodeMessage(Empty, hex('a0'))).toEqual({});
  });
  it('accepts Buffer input and key 23 (the largest 1-byte key)', () => {
    const value = { big: 0, small: 10, blob: new Uint8Array(0), name: 'x', on: false, list: [], items: [], z23: true };
    const bytes = encodeMessage(AllTypes, value);
    expect(decodeMessage(AllTypes, Buffer.from(bytes))).toEqual(value);
    expect(toHex(bytes).endsWith('17f5')).toBe(true);
  });
});

describe('schema: encodeMessage rejects values that do not match (UsageError)', () => {
  const ok = (): ChallengeMsg => ({ versions: [1], ephemeral: new Uint8Array(33), signature: new Uint8Array(64) });
  it.each<[string, () => unknown, string]>([
    ['missing required field', () => ({ ...ok(), signature: undefined }), 'CODEC_MISSING_KEY'],
    ['unknown field', () => ({ ...ok(), extra: 1 }), 'CODEC_UNKNOWN_KEY'],
    ['null optional field', () => ({ ...ok(), note: null }), 'CODEC_TYPE'],
    ['wrong byte length', () => ({ ...ok(), ephemeral: new Uint8Array(32) }), 'CODEC_LENGTH'],
    ['bytes as array', () => ({ ...ok(), ephemeral: new Array(33).fill(0) }), 'CODEC_TYPE'],
    ['empty versions', () => ({ ...ok(), versions: [] }), 'CODEC_LENGTH'],
    ['too many versions', () => ({ ...ok(), versions: new Array(9).fill(1) }), 'CODEC_LENGTH'],
    ['version above max', () => ({ ...ok(), versions: [256] }), 'CODEC_RANGE'],
    ['negative version', () => ({ ...ok(), versions: [-1] }), 'CODEC_TYPE'],
    ['fractional version', () => ({ ...ok(), versions: [1.5] }), 'CODEC_TYPE'],
    ['string version', () => ({ ...ok(), versions: ['1'] }), 'CODEC_TYPE'],
    ['note too long in UTF-8 bytes', () => ({ ...ok(), note: 'é'.repeat(33) }), 'CODEC_LENGTH'],
    ['note with lone surrogate', () => ({ ...ok(), note: '\ud800' }), 'CODEC_TYPE'],
    ['note with leading BOM', () => ({ ...ok(), note: '\ufeffhi' }), 'CODEC_TYPE'],
    ['inner not an object', () => ({ ...ok(), inner: 5 }), 'CODEC_TYPE'],
    ['inner missing id', () => ({ ...ok(), inner: {} }), 'CODEC_MISSING_KEY'],
    ['inner flag not boolean', () => ({ ...ok(), inner: { id: 1, flag: 1 } }), 'CODEC_TYPE'],
    ['value is null', () => null, 'CODEC_TYPE'],
    ['value is an array', () => [], 'CODEC_TYPE'],
    ['value is a Map', () => new Map(), 'CODEC_TYPE'],
  ])('%s', (_name, make, code) => {
    expect(codeOf(() => encodeMessage(Challenge, make() as ChallengeMsg))).toEqual(usage(code));
  });

  it('rejects an encoding larger than maxBytes', () => {
    const Small = defineSchema('Small', { maxBytes: 16, fields: { b: { key: 0, type: t.bytes({ max: 100 }) } } });
    expect(encodeMessage(Small, { b: new Uint8Array(13) }).length).toBe(16);
    expect(codeOf(() => encodeMessage(Small, { b: new Uint8Array(14) }))).toEqual(usage('CODEC_TOO_LARGE'));
  });

  it('rejects a schema not made by defineSchema', () => {
    expect(codeOf(() => encodeMessage({} as Schema<object>, {}))).toEqual(usage('CODEC_BAD_SCHEMA'));
    expect(codeOf(() => decodeMessage({} as Schema<object>, hex('a0')))).toEqual(usage('CODEC_BAD_SCHEMA'));
  });
});

describe('schema: decodeMessage rejects hostile input (CodecError)', () => {
  const e33 = '5821' + '00'.repeat(33);
  const s64 = '5840' + '00'.repeat(64);
  const cases: Array<[string, string, string]> = [
    ['top-level array', '83 8101' + e33 + s64, 'CODEC_TYPE'],
    ['top-level uint', '00', 'CODEC_TYPE'],
    ['unknown key 5', 'a4 00 8101 01' + e33 + '02' + s64 + '05 00', 'CODEC_UNKNOWN_KEY'],
    ['unknown key 24', 'a4 00 8101 01' + e33 + '02' + s64 + '1818 00', 'CODEC_UNKNOWN_KEY'],
    ['missing signature', 'a2 00 8101 01' + e33, 'CODEC_MISSING_KEY'],
    ['missing everything', 'a0', 'CODEC_MISSING_KEY'],
    ['versions as bytes', 'a3 00 4101 01' + e33 + '02' + s64, 'CODEC_TYPE'],
    ['versions empty', 'a3 00 80 01' + e33 + '02' + s64, 'CODEC_LENGTH'],
    ['version 256', 'a3 00 81 190100 01' + e33 + '02' + s64, 'CODEC_RANGE'],
    ['ephemeral 32 bytes', 'a3 00 8101 01 5820' + '00'.repeat(32) + '02' + s64, 'CODEC_LENGTH'],
    ['ephemeral as text', 'a3 00 8101 01 7821' + '61'.repeat(33) + '02' + s64, 'CODEC_TYPE'],
    ['note as bytes', 'a4 00 8101 01' + e33 + '02' + s64 + '03 4161', 'CODEC_TYPE'],
    ['note too long', 'a4 00 8101 01' + e33 + '02' + s64 + '03 7841' + '61'.repeat(65), 'CODEC_LENGTH'],
    ['inner as array', 'a4 00 8101 01' + e33 + '02' + s64 + '04 80', 'CODEC_TYPE'],
    ['inner unknown key', 'a4 00 8101 01' + e33 + '02' + s64 + '04 a2 00 00 02 f5', 'CODEC_UNKNOWN_KEY'],
    ['inner flag as uint', 'a4 00 8101 01' + e33 + '02' + s64 + '04 a2 00 00 01 01', 'CODEC_TYPE'],
    ['inner keys unsorted', 'a4 00 8101 01' + e33 + '02' + s64 + '04 a2 01 f5 00 00', 'CODEC_UNSORTED_KEYS'],
    ['inner duplicate key', 'a4 00 8101 01' + e33 + '02' + s64 + '04 a2 00 00 00 01', 'CODEC_DUPLICATE_KEY'],
    ['version not shortest', 'a3 00 81 1801 01' + e33 + '02' + s64, 'CODEC_NON_CANONICAL'],
    ['top keys unsorted', 'a3 01' + e33 + '00 8101 02' + s64, 'CODEC_UNSORTED_KEYS'],
    ['tag 27 as a field', 'a3 00 d81b 80 01' + e33 + '02' + s64, 'CODEC_TAG'],
    ['tag 28/29 as a field', 'a3 00 d81c 81 d81d 00 01' + e33 + '02' + s64, 'CODEC_TAG'],
    ['tag 105 as a field', 'a3 00 d869 80 01' + e33 + '02' + s64, 'CODEC_TAG'],
    ['null optional field', 'a4 00 8101 01' + e33 + '02' + s64 + '03 f6', 'CODEC_SIMPLE'],
    ['undefined optional field', 'a4 00 8101 01' + e33 + '02' + s64 + '03 f7', 'CODEC_SIMPLE'],
    ['float version', 'a3 00 81 f93c00 01' + e33 + '02' + s64, 'CODEC_FLOAT'],
    ['__proto__ key', 'a1 69' + Buffer.from('__proto__').toString('hex') + 'a0', 'CODEC_MAP_KEY'],
    ['trailing byte', 'a3 00 8101 01' + e33 + '02' + s64 + '00', 'CODEC_TRAILING_BYTES'],
    ['truncated signature', 'a3 00 8101 01' + e33 + '02 5840' + '00'.repeat(63), 'CODEC_TRUNCATED'],
    ['huge declared signature', 'a3 00 8101 01' + e33 + '02 5b 00000001 00000000', 'CODEC_TRUNCATED'],
    ['empty input', '', 'CODEC_TRUNCATED'],
  ];
  it.each(cases.map(([name, h, code]) => ({ name, h, code })))('$name → $code', ({ h, code }) => {
    expect(codeOf(() => decodeMessage(Challenge, hex(h)))).toEqual(codec(code));
  });

  it('checks the schema size cap before looking at the bytes', () => {
    expect(codeOf(() => decodeMessage(Challenge, new Uint8Array(257).fill(0xff)))).toEqual(codec('CODEC_TOO_LARGE'));
    expect(codeOf(() => decodeMessage(Challenge, new Uint8Array(256).fill(0xff)))).toEqual(codec('CODEC_INDEFINITE'));
  });

  it('rejects deep nesting', () => {
    // Deep allows map → map → array → array; one more level is CODEC_DEPTH.
    expect(decodeMessage(Deep, hex('a1 00 a1 05 81 81 00'))).toEqual({ level2: { grid: [[0]] } });
    expect(codeOf(() => decodeMessage(Deep, hex('a1 00 a1 05 81 81 81 00')))).toEqual(codec('CODEC_DEPTH'));
  });

  it('leaves Object.prototype untouched on attacker input', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const proto = Buffer.from('__proto__').toString('hex');
    for (const h of ['a1 69' + proto + 'a1 00 f5', 'a1 04 a1 69' + proto + 'f5', 'd81b 82 66' + Buffer.from('Object').toString('hex') + 'a0']) {
      expect(codeOf(() => decodeMessage(Challenge, hex(h)))?.cls).toBe('CodecError');
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('schema: definition checks (UsageError SCHEMA_INVALID)', () => {
  const bad = (fn: () => unknown) => expect(codeOf(fn)).toEqual(usage('SCHEMA_INVALID'));
  const f = (spec: unknown) => () => defineSchema('X', spec as never);
  it.each<[string, () => unknown]>([
    ['key 24', f({ fields: { a: { key: 24, type: t.bool() } } })],
    ['key -1', f({ fields: { a: { key: -1, type: t.bool() } } })],
    ['key 1.5', f({ fields: { a: { key: 1.5, type: t.bool() } } })],
    ['key as string', f({ fields: { a: { key: '1', type: t.bool() } } })],
    ['duplicate key', f({ fields: { a: { key: 1, type: t.bool() }, b: { key: 1, type: t.bool() } } })],
    ['type not from t', f({ fields: { a: { key: 1, type: { kind: 'uint' } } } })],
    ['optional not boolean', f({ fields: { a: { key: 1, type: t.bool(), optional: 'yes' } } })],
    ['__proto__ field name', f({ fields: JSON.parse('{"__proto__": {"key": 0}}') })],
    ['maxBytes 0', f({ maxBytes: 0, fields: {} })],
    ['maxBytes above MAX_MESSAGE_BYTES', f({ maxBytes: 4097, fields: {} })],
    ['no fields', f({})],
    ['empty name', () => defineSchema('', { fields: {} })],
    ['nesting 5 deep', f({ fields: { a: { key: 0, type: t.map(Deep) } } })],
    ['uint min > max', () => t.uint({ min: 5, max: 4 })],
    ['uint max 2^53', () => t.uint({ max: 2 ** 53 })],
    ['bytes len -1', () => t.bytes({ len: -1 })],
    ['bytes max above cap', () => t.bytes({ max: 5000 })],
    ['text without options', () => t.text(undefined as never)],
    ['text max 1.5', () => t.text({ max: 1.5 })],
    ['array of non-type', () => t.array({} as never)],
    ['map of non-schema', () => t.map({} as never)],
  ])('%s', (_name, fn) => bad(fn));

  it('type-checks fields against the declared message type', () => {
    interface M {
      a: number;
      b?: string;
    }
    defineSchema<M>('M', { fields: { a: { key: 0, type: t.uint() }, b: { key: 1, type: t.text({ max: 4 }), optional: true } } });
    // @ts-expect-error b is optional in M, so it must be declared optional
    defineSchema<M>('M', { fields: { a: { key: 0, type: t.uint() }, b: { key: 1, type: t.text({ max: 4 }) } } });
    // @ts-expect-error a is a number, not text
    defineSchema<M>('M', { fields: { a: { key: 0, type: t.text({ max: 4 }) }, b: { key: 1, type: t.text({ max: 4 }), optional: true } } });
    // @ts-expect-error a field of M is missing
    defineSchema<M>('M', { fields: { a: { key: 0, type: t.uint() } } });
    const Inferred = defineSchema('I', { fields: { a: { key: 0, type: t.uint() }, b: { key: 1, type: t.bool(), optional: true } } });
    const value: Infer<typeof Inferred> = { a: 1 };
    // @ts-expect-error a is required in the inferred type
    const missing: Infer<typeof Inferred> = { b: true };
    expect(decodeMessage(Inferred, encodeMessage(Inferred, value))).toEqual(value);
    expect(missing).toBeDefined();
  });

  it('exposes fields in key order', () => {
    expect(AllTypes.fields.map((x) => x.key)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 22, 23]);
    expect(Inner.depth).toBe(1);
    expect(Deep.depth).toBe(4);
    expect(Object.isFrozen(Challenge)).toBe(true);
  });
});

describe('schema: properties', () => {
  const targets = [
    { name: 'Challenge', schema: Challenge as Schema<unknown>, arb: arbitraries.challenge as fc.Arbitrary<unknown> },
    { name: 'AllTypes', schema: AllTypes as Schema<unknown>, arb: arbitraries.allTypes as fc.Arbitrary<unknown> },
    { name: 'Deep', schema: Deep as Schema<unknown>, arb: arbitraries.deep as fc.Arbitrary<unknown> },
  ];

  it.each(targets)('$name: encode → decode round-trips, output is canonical', ({ schema, arb }) => {
    fc.assert(
      fc.property(arb, (value) => {
        const bytes = encodeMessage(schema, value);
        scanStrict(bytes);
        expect(bytes.length).toBeLessThanOrEqual(schema.maxBytes);
        const decoded = decodeMessage(schema, bytes);
        expect(decoded).toEqual(value);
        expect(toHex(encodeMessage(schema, decoded))).toBe(toHex(bytes));
      }),
      { numRuns: 1000, seed: 11 },
    );
  });

  it.each(targets)('$name: mutated encodings give CodecError or an exact re-encoding', ({ schema, arb }) => {
    fc.assert(
      fc.property(arb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), (value, edits) => {
        const bytes = encodeMessage(schema, value);
        for (const [at, byte] of edits) bytes[at % bytes.length] = byte;
        try {
          expect(toHex(encodeMessage(schema, decodeMessage(schema, bytes)))).toBe(toHex(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000, seed: 13 },
    );
  });

  it('a generic CBOR value with the right shape decodes the same as its message', () => {
    const generic = new Map<number, Parameters<typeof encodeCbor>[0]>([
      [0, [1, 24]],
      [1, EXAMPLE.ephemeral],
      [2, EXAMPLE.signature],
      [3, 'hé'],
      [4, new Map<number, boolean | number>([[1, true], [0, 300]])],
    ]);
    expect(toHex(encodeCbor(generic))).toBe(EXAMPLE_HEX.replace(/\s+/g, ''));
  });
});
