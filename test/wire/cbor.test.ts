import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decoder, Encoder } from 'cbor-x';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { CodecError, DigitalKeyError, UsageError } from '../../src/errors.js';
import { type CborValue, decodeCbor, encodeCbor, requireCanonical } from '../../src/wire/cbor.js';
import { scanStrict } from '../../src/wire/scan.js';
import { isWellFormedUtf8, utf8Length } from '../../src/wire/utf8.js';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

function codeOf(fn: () => unknown): { cls: string; code: string } | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof DigitalKeyError)) throw err;
    return { cls: err.constructor.name, code: err.code };
  }
}

describe('encodeCbor: deterministic encoding (RFC 8949 §4.2.1)', () => {
  it.each<[string, CborValue, string]>([
    ['0', 0, '00'],
    ['23', 23, '17'],
    ['24', 24, '1818'],
    ['255', 255, '18ff'],
    ['256', 256, '190100'],
    ['65535', 65535, '19ffff'],
    ['65536', 65536, '1a00010000'],
    ['2^32-1', 0xffff_ffff, '1affffffff'],
    ['2^32 as an 8-byte int, not a float', 2 ** 32, '1b0000000100000000'],
    ['2^53-1', Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    ['false', false, 'f4'],
    ['true', true, 'f5'],
    ['empty bytes', new Uint8Array(0), '40'],
    ['bytes without tag 64', new Uint8Array([1, 2]), '420102'],
    ['Buffer as plain bytes', Buffer.from([1, 2]), '420102'],
    ['subarray view', new Uint8Array([9, 1, 2, 3]).subarray(1), '43010203'],
    ['empty text', '', '60'],
    ['text', 'hé', '6368c3a9'],
    ['24-byte text', 'a'.repeat(24), '7818' + '61'.repeat(24)],
    ['empty array', [], '80'],
    ['empty map', new Map(), 'a0'],
    ['map without tag 259, keys sorted', new Map<number, CborValue>([[24, 1], [2, 2], [0, 3], [23, 4]]), 'a4 0003 0202 1704 181801'.replace(/ /g, '')],
    ['nested', new Map<number, CborValue>([[0, [new Map<number, CborValue>([[1, true]])]]]), 'a10081a101f5'],
  ])('%s', (_name, value, expected) => {
    expect(toHex(encodeCbor(value))).toBe(expected);
  });

  it('returns fresh buffers (cbor-x reuses its own)', () => {
    const a = encodeCbor(1);
    const b = encodeCbor(2);
    expect(a.buffer).not.toBe(b.buffer);
    expect(toHex(a)).toBe('01');
    expect(Object.getPrototypeOf(a)).toBe(Uint8Array.prototype);
  });

  const cyclic: CborValue[] = [];
  cyclic.push(cyclic);
  it.each<[string, unknown, string]>([
    ['negative', -1, 'CODEC_TYPE'],
    ['fraction', 1.5, 'CODEC_TYPE'],
    ['NaN', Number.NaN, 'CODEC_TYPE'],
    ['2^53', 2 ** 53, 'CODEC_TYPE'],
    ['null', null, 'CODEC_TYPE'],
    ['undefined', undefined, 'CODEC_TYPE'],
    ['object', { a: 1 }, 'CODEC_TYPE'],
    ['bigint', 1n, 'CODEC_TYPE'],
    ['Uint16Array', new Uint16Array(1), 'CODEC_TYPE'],
    ['Date', new Date(0), 'CODEC_TYPE'],
    ['lone surrogate', 'a\ud800', 'CODEC_TYPE'],
    ['leading BOM', '\ufeffx', 'CODEC_TYPE'],
    ['text map key', new Map([['a', 1]]), 'CODEC_MAP_KEY'],
    ['negative map key', new Map([[-1, 1]]), 'CODEC_MAP_KEY'],
    ['too deep', [[[[[0]]]]], 'CODEC_DEPTH'],
    ['cyclic', cyclic, 'CODEC_DEPTH'],
  ])('rejects %s with UsageError', (_name, value, code) => {
    expect(codeOf(() => encodeCbor(value as CborValue))).toEqual({ cls: 'UsageError', code });
  });
});

/** Hostile inputs: [name, hex, code]. Every rejection rule of docs/WIRE.md §Rejections. */
const HOSTILE: Array<[string, string, string]> = [
  ['empty input', '', 'CODEC_TRUNCATED'],
  // Tags (major 6) never reach cbor-x: 27 = RegExp/Error constructors, 28/29 = shared refs,
  // 105 = records compiled with new Function, 64 = typed array, 259 = explicit map, 55799 = magic.
  ['tag 0 date', 'c0 74 323031332d30332d32315432303a30343a30305a', 'CODEC_TAG'],
  ['tag 27 RegExp', 'd81b 82 66' + ascii('RegExp') + '62' + ascii('.*'), 'CODEC_TAG'],
  ['tag 27 Error', 'd81b 83 65' + ascii('Error') + '62' + ascii('hi') + 'a0', 'CODEC_TAG'],
  ['tag 28 shareable', 'd81c a1 00 d81d 00', 'CODEC_TAG'],
  ['tag 29 shared ref', 'd81d 00', 'CODEC_TAG'],
  ['tag 105 record definition', 'd869 83 63' + ascii('abc') + '82 61' + ascii('a') + '61' + ascii('b') + '00', 'CODEC_TAG'],
  ['tag 64 typed array', 'd840 42 0102', 'CODEC_TAG'],
  ['tag 259 map', 'd90103 a1 00 00', 'CODEC_TAG'],
  ['tag 55799 self-describe', 'd9d9f7 00', 'CODEC_TAG'],
  ['tag inside a map value', 'a1 00 d81b 80', 'CODEC_TAG'],
  ['tag inside an array', '82 00 c1 00', 'CODEC_TAG'],
  ['indefinite byte string', '5f 41 00 ff', 'CODEC_INDEFINITE'],
  ['indefinite text', '7f 61 61 ff', 'CODEC_INDEFINITE'],
  ['indefinite array', '9f 00 ff', 'CODEC_INDEFINITE'],
  ['indefinite map', 'bf 00 00 ff', 'CODEC_INDEFINITE'],
  ['stray break', 'ff', 'CODEC_INDEFINITE'],
  ['uint with AI 31', '1f', 'CODEC_MALFORMED'],
  ['reserved AI 28', '1c', 'CODEC_MALFORMED'],
  ['reserved AI 29 on bytes', '5d', 'CODEC_MALFORMED'],
  ['reserved AI 30 on map', 'be', 'CODEC_MALFORMED'],
  ['half float', 'f9 3c00', 'CODEC_FLOAT'],
  ['single float', 'fa 3f800000', 'CODEC_FLOAT'],
  ['double float', 'fb 3ff0000000000000', 'CODEC_FLOAT'],
  ['null', 'f6', 'CODEC_SIMPLE'],
  ['undefined', 'f7', 'CODEC_SIMPLE'],
  ['simple 16', 'f0', 'CODEC_SIMPLE'],
  ['simple 32 (two bytes)', 'f8 20', 'CODEC_SIMPLE'],
  ['reserved simple AI 28', 'fc', 'CODEC_SIMPLE'],
  ['negative -1', '20', 'CODEC_NEGATIVE'],
  ['negative -256', '38 ff', 'CODEC_NEGATIVE'],
  ['negative in a map', 'a1 00 20', 'CODEC_NEGATIVE'],
  ['uint 23 in 1 byte', '18 17', 'CODEC_NON_CANONICAL'],
  ['uint 255 in 2 bytes', '19 00ff', 'CODEC_NON_CANONICAL'],
  ['uint 65535 in 4 bytes', '1a 0000ffff', 'CODEC_NON_CANONICAL'],
  ['uint 2^32-1 in 8 bytes', '1b 00000000ffffffff', 'CODEC_NON_CANONICAL'],
  ['byte string length not shortest', '58 01 00', 'CODEC_NON_CANONICAL'],
  ['text length not shortest', '78 01 61', 'CODEC_NON_CANONICAL'],
  ['array count not shortest', '98 01 00', 'CODEC_NON_CANONICAL'],
  ['map count not shortest', 'b8 01 00 00', 'CODEC_NON_CANONICAL'],
  ['map key not shortest', 'a1 18 01 00', 'CODEC_NON_CANONICAL'],
  ['uint 2^53', '1b 0020000000000000', 'CODEC_INT_RANGE'],
  ['uint 2^64-1', '1b ffffffffffffffff', 'CODEC_INT_RANGE'],
  ['truncated 1-byte argument', '18', 'CODEC_TRUNCATED'],
  ['truncated 2-byte argument', '19 01', 'CODEC_TRUNCATED'],
  ['truncated 8-byte argument', '1b 00000001', 'CODEC_TRUNCATED'],
  ['truncated byte string', '42 00', 'CODEC_TRUNCATED'],
  ['truncated text', '63 6161', 'CODEC_TRUNCATED'],
  ['truncated array', '82 00', 'CODEC_TRUNCATED'],
  ['truncated map value', 'a1 00', 'CODEC_TRUNCATED'],
  ['truncated second entry', 'a2 00 00 01', 'CODEC_TRUNCATED'],
  ['byte string declaring 4 GiB', '5a ffffffff 00', 'CODEC_TRUNCATED'],
  ['byte string declaring 2^32 (8-byte length)', '5b 0000000100000000 00', 'CODEC_TRUNCATED'],
  ['byte string declaring 2^64-1', '5b ffffffffffffffff', 'CODEC_TRUNCATED'],
  ['text declaring 65535 bytes', '79 ffff 61', 'CODEC_TRUNCATED'],
  ['array declaring 2^32-1 items', '9a ffffffff 00', 'CODEC_TRUNCATED'],
  ['array declaring 2^53-1 items', '9b 001fffffffffffff', 'CODEC_TRUNCATED'],
  ['map declaring 2^32-1 entries', 'ba ffffffff 00 00', 'CODEC_TRUNCATED'],
  ['map declaring more entries than bytes/2', 'a3 00 00 01 00', 'CODEC_TRUNCATED'],
  ['trailing byte', '00 00', 'CODEC_TRAILING_BYTES'],
  ['two maps', 'a0 a0', 'CODEC_TRAILING_BYTES'],
  ['five nested arrays', '81 81 81 81 81 00', 'CODEC_DEPTH'],
  ['five nested maps', 'a1 00 a1 00 a1 00 a1 00 a1 00 00', 'CODEC_DEPTH'],
  ['4,000 nested arrays', '81'.repeat(4_000) + '00', 'CODEC_DEPTH'],
  ['4,000 nested maps', 'a100'.repeat(2_000) + '00', 'CODEC_DEPTH'],
  ['text map key', 'a1 61 61 00', 'CODEC_MAP_KEY'],
  ['__proto__ map key', 'a1 69' + ascii('__proto__') + 'a1 68' + ascii('polluted') + 'f5', 'CODEC_MAP_KEY'],
  ['byte-string map key', 'a1 40 00', 'CODEC_MAP_KEY'],
  ['boolean map key', 'a1 f5 00', 'CODEC_MAP_KEY'],
  ['array map key', 'a1 80 00', 'CODEC_MAP_KEY'],
  ['negative map key', 'a1 20 00', 'CODEC_NEGATIVE'],
  ['float map key', 'a1 fa 00000000 00', 'CODEC_FLOAT'],
  ['duplicate key', 'a2 00 00 00 01', 'CODEC_DUPLICATE_KEY'],
  ['duplicate key 24', 'a2 1818 00 1818 01', 'CODEC_DUPLICATE_KEY'],
  ['unsorted keys', 'a2 01 00 00 00', 'CODEC_UNSORTED_KEYS'],
  ['unsorted 24 before 23', 'a2 1818 00 17 00', 'CODEC_UNSORTED_KEYS'],
  ['UTF-8 lone continuation byte', '61 80', 'CODEC_UTF8'],
  ['UTF-8 0xff', '61 ff', 'CODEC_UTF8'],
  ['UTF-8 overlong NUL', '62 c080', 'CODEC_UTF8'],
  ['UTF-8 overlong 3-byte', '63 e08080', 'CODEC_UTF8'],
  ['UTF-8 overlong 4-byte', '64 f0808080', 'CODEC_UTF8'],
  ['UTF-8 surrogate D800', '63 eda080', 'CODEC_UTF8'],
  ['UTF-8 above U+10FFFF', '64 f4908080', 'CODEC_UTF8'],
  ['UTF-8 F5 lead', '64 f5808080', 'CODEC_UTF8'],
  ['UTF-8 truncated sequence', '62 e282', 'CODEC_UTF8'],
  ['UTF-8 sequence cut by the string end', '62 61 e2 82ac', 'CODEC_UTF8'],
  ['text starting with U+FEFF', '63 efbbbf', 'CODEC_UTF8'],
];

describe('decodeCbor: hostile inputs', () => {
  it.each(HOSTILE.map(([name, h, code]) => ({ name, h, code })))('$name → $code', ({ h, code }) => {
    const got = codeOf(() => decodeCbor(hex(h)));
    expect(got).toEqual({ cls: 'CodecError', code: code });
  });

  it('checks the size cap before scanning', () => {
    const garbage = new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0xff);
    expect(codeOf(() => decodeCbor(garbage))).toEqual({ cls: 'CodecError', code: 'CODEC_TOO_LARGE' });
    expect(codeOf(() => decodeCbor(hex('ffff'), { maxBytes: 1 }))).toEqual({ cls: 'CodecError', code: 'CODEC_TOO_LARGE' });
    // A larger maxBytes never raises the global cap.
    expect(codeOf(() => decodeCbor(garbage, { maxBytes: 1e6 }))).toEqual({ cls: 'CodecError', code: 'CODEC_TOO_LARGE' });
  });

  it('honours a smaller maxDepth', () => {
    expect(decodeCbor(hex('8100'), { maxDepth: 1 })).toEqual([0]);
    expect(codeOf(() => decodeCbor(hex('818100'), { maxDepth: 1 }))).toEqual({ cls: 'CodecError', code: 'CODEC_DEPTH' });
  });

  it('rejects bad arguments with UsageError', () => {
    expect(codeOf(() => decodeCbor([0] as unknown as Uint8Array))).toEqual({ cls: 'UsageError', code: 'CODEC_BAD_INPUT' });
    expect(codeOf(() => decodeCbor(hex('00'), { maxDepth: 9 }))).toEqual({ cls: 'UsageError', code: 'CODEC_BAD_OPTIONS' });
    expect(codeOf(() => decodeCbor(hex('00'), { maxBytes: 0 }))).toEqual({ cls: 'UsageError', code: 'CODEC_BAD_OPTIONS' });
  });
});

describe('decodeCbor: accepted inputs', () => {
  it.each<[string, string, CborValue]>([
    ['uint 0', '00', 0],
    ['uint 24', '1818', 24],
    ['uint 2^53-1', '1b001fffffffffffff', Number.MAX_SAFE_INTEGER],
    ['true', 'f5', true],
    ['bytes', '420102', new Uint8Array([1, 2])],
    ['text with BOM not at the start', '6461efbbbf', 'a\ufeff'],
    ['4-byte UTF-8', '64f09f9880', '😀'],
    ['U+10FFFF', '64f48fbfbf', '\u{10ffff}'],
    ['four nested arrays', '8181818100', [[[[0]]]]],
    ['map', 'a200f5181840', new Map<number, CborValue>([[0, true], [24, new Uint8Array(0)]])],
  ])('%s', (_name, h, expected) => {
    const got = decodeCbor(hex(h));
    expect(got).toEqual(expected);
  });

  it('returns fresh plain values, not cbor-x Buffers or views of the input', () => {
    const input = hex('a1 00 42 0102');
    const got = decodeCbor(input) as Map<number, Uint8Array>;
    const b = got.get(0)!;
    expect(Object.getPrototypeOf(b)).toBe(Uint8Array.prototype);
    input[3] = 0xee;
    expect(Array.from(b)).toEqual([1, 2]);
  });

  it('leaves the input untouched (cbor-x caches a dataView property on what it decodes)', () => {
    const input = hex('a1 00 42 0102');
    decodeCbor(input);
    expect(Object.keys(input)).toEqual(['0', '1', '2', '3', '4']);
    expect('dataView' in input).toBe(false);
  });

  it('ignores a stale dataView property on the input', () => {
    const input = hex('a1 00 42 0102') as Uint8Array & { dataView?: DataView };
    input.dataView = new DataView(new Uint8Array([0xa1, 0x00, 0x42, 0xff, 0xff, 0x00]).buffer);
    expect(decodeCbor(input)).toEqual(new Map([[0, new Uint8Array([1, 2])]]));
  });

  it('requireCanonical compares byte for byte', () => {
    expect(() => requireCanonical(hex('0102'), hex('0102'))).not.toThrow();
    expect(codeOf(() => requireCanonical(hex('0102'), hex('0103')))).toEqual({ cls: 'CodecError', code: 'CODEC_NON_CANONICAL' });
    expect(codeOf(() => requireCanonical(hex('01'), hex('0102')))).toEqual({ cls: 'CodecError', code: 'CODEC_NON_CANONICAL' });
  });
});

describe('cbor-x behaviour we rely on or guard against (documented in docs/WIRE.md)', () => {
  it('default Encoder in Node tags Uint8Array with tag 64; ours does not', () => {
    expect(toHex(new Encoder().encode(new Uint8Array([1])))).toBe('d8404101');
    expect(toHex(encodeCbor(new Uint8Array([1])))).toBe('4101');
  });
  it('cbor-x writes numbers above 2^32-1 as float64; ours writes 8-byte integers', () => {
    expect(toHex(new Encoder({ useRecords: false }).encode(2 ** 32))).toBe('fb41f0000000000000');
    expect(toHex(encodeCbor(2 ** 32))).toBe('1b0000000100000000');
  });
  it('cbor-x object mode renames a __proto__ key to __proto_ (and we never use object mode)', () => {
    const input = hex('a1 69' + ascii('__proto__') + 'a1 68' + ascii('polluted') + 'f5');
    const obj = new Decoder({ mapsAsObjects: true }).decode(input) as Record<string, unknown>;
    expect(Object.keys(obj)).toEqual(['__proto_']);
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('cbor-x decodes tag 28/29 and tag 27 unless stopped; the scan stops them first', () => {
    // Shared references build a cyclic object graph in cbor-x.
    const cyclic = new Decoder({ mapsAsObjects: true }).decode(hex('d81c 81 d81d 00')) as unknown[];
    expect(cyclic[0]).toBe(cyclic);
    expect(codeOf(() => decodeCbor(hex('d81c 81 d81d 00')))).toEqual({ cls: 'CodecError', code: 'CODEC_TAG' });
  });
});

describe('prototype pollution', () => {
  const probes = [
    'a1 69' + ascii('__proto__') + 'a1 68' + ascii('polluted') + 'f5',
    'a1 6b' + ascii('constructor') + 'a1 69' + ascii('prototype') + 'a1 68' + ascii('polluted') + 'f5',
    'd81b 82 66' + ascii('Object') + 'a1 68' + ascii('polluted') + 'f5',
    'd869 83 69' + ascii('__proto__') + '81 68' + ascii('polluted') + 'f5',
  ];
  it.each(probes.map((h, i) => ({ i, h })))('Object.prototype unchanged after probe $i', ({ h }) => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    expect(codeOf(() => decodeCbor(hex(h)))?.cls).toBe('CodecError');
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** Subset values up to depth 4, with map keys that need 1, 2 and 3 bytes. */
const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ v0: CborValue; v1: CborValue; v2: CborValue; v3: CborValue; v4: CborValue }>((tie) => {
  const scalar = fc.oneof(
    fc.oneof(fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER), fc.maxSafeNat()),
    fc.boolean(),
    fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => s.charCodeAt(0) !== 0xfeff),
    fc.uint8Array({ maxLength: 40 }),
  );
  const level = (inner: fc.Arbitrary<CborValue>): fc.Arbitrary<CborValue> =>
    fc.oneof(
      { weight: 3, arbitrary: scalar },
      { weight: 1, arbitrary: fc.array(inner, { maxLength: 5 }) },
      {
        weight: 1,
        arbitrary: fc
          .array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 70_000 })), inner), { maxLength: 5 })
          .map((entries) => new Map(entries)),
      },
    );
  return { v0: scalar, v1: level(tie('v0')), v2: level(tie('v1')), v3: level(tie('v2')), v4: level(tie('v3')) };
}).v4;

describe('properties', () => {
  it('encode → strict scan → decode round-trips every subset value', () => {
    fc.assert(
      fc.property(cborValue, (value) => {
        const bytes = encodeCbor(value);
        scanStrict(bytes);
        expect(decodeCbor(bytes)).toEqual(value);
      }),
      { numRuns: 2000, seed: 42 },
    );
  });

  it('random bytes: either a typed error, or a value that re-encodes to exactly those bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let value: CborValue;
        try {
          value = decodeCbor(bytes);
        } catch (err) {
          return err instanceof CodecError;
        }
        return toHex(encodeCbor(value)) === toHex(bytes);
      }),
      { numRuns: 20_000, seed: 7 },
    );
  });

  it('one-byte mutations of valid encodings never escape as untyped errors', () => {
    fc.assert(
      fc.property(cborValue, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
        const bytes = encodeCbor(value);
        bytes[at % bytes.length] = byte;
        try {
          expect(toHex(encodeCbor(decodeCbor(bytes)))).toBe(toHex(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 3000, seed: 9 },
    );
  });
});

describe('utf8', () => {
  it('agrees with a fatal TextDecoder on random bytes', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let ok = true;
        try {
          fatal.decode(bytes);
        } catch {
          ok = false;
        }
        return isWellFormedUtf8(bytes, 0, bytes.length) === ok;
      }),
      { numRuns: 20_000, seed: 3 },
    );
  });
  it('utf8Length matches TextEncoder for well-formed strings and flags lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => utf8Length(s) === new TextEncoder().encode(s).length),
      { numRuns: 2000, seed: 5 },
    );
    expect(utf8Length('\ud800')).toBe(-1);
    expect(utf8Length('\udc00a')).toBe(-1);
    expect(utf8Length('a\ud83d')).toBe(-1);
    expect(utf8Length('\ud83d\ude00')).toBe(4);
  });
});

describe('errors are typed', () => {
  it('UsageError and CodecError are DigitalKeyErrors', () => {
    expect(new UsageError('X', 'y')).toBeInstanceOf(DigitalKeyError);
    expect(new CodecError('X', 'y')).toBeInstanceOf(DigitalKeyError);
  });
});
