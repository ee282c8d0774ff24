import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertBytes,
  base64urlDecode,
  base64urlEncode,
  concatBytes,
  equalBytes,
  fromHex,
  readU16be,
  readU32be,
  readU64be,
  toHex,
  u16be,
  u32be,
  u64be,
  utf8,
} from '../../src/crypto/bytes.js';
import { UsageError } from '../../src/errors.js';

function expectUsage(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe(code);
    return;
  }
  throw new Error('expected a UsageError');
}

describe('concatBytes / equalBytes', () => {
  it('concatenates in order and copies', () => {
    const a = Uint8Array.of(1, 2);
    const out = concatBytes(a, new Uint8Array(0), Uint8Array.of(3));
    expect(out).toEqual(Uint8Array.of(1, 2, 3));
    a[0] = 9;
    expect(out[0]).toBe(1);
    expect(concatBytes()).toEqual(new Uint8Array(0));
  });

  it('equalBytes: equal, differing at first/last byte, different lengths', () => {
    expect(equalBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(equalBytes(Uint8Array.of(0, 2, 3), Uint8Array.of(1, 2, 3))).toBe(false);
    expect(equalBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
  });

  it('refuses non-bytes with a typed error', () => {
    expectUsage(() => concatBytes(Uint8Array.of(1), 'x' as never), 'INVALID_ARGUMENT');
    expectUsage(() => equalBytes([1] as never, Uint8Array.of(1)), 'INVALID_ARGUMENT');
    expectUsage(() => assertBytes(null, 'x'), 'INVALID_ARGUMENT');
    expectUsage(() => assertBytes(new Uint8Array(3), 'x', 4), 'INVALID_ARGUMENT');
  });
});

describe('hex', () => {
  it('round-trips and accepts either case', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      expect(fromHex(toHex(b))).toEqual(b);
    }));
    expect(toHex(Uint8Array.of(0, 0xab, 0xff))).toBe('00abff');
    expect(fromHex('00ABff')).toEqual(Uint8Array.of(0, 0xab, 0xff));
  });

  it.each([
    ['odd length', 'abc'],
    ['non-hex char', 'zz'],
    ['0x prefix', '0x00'],
    ['space', 'ab cd'],
    ['non-ASCII digit', '٠١'],
    ['not a string', 12],
  ])('rejects %s', (_, input) => expectUsage(() => fromHex(input as string), 'INVALID_HEX'));
});

describe('utf8', () => {
  it('encodes BMP and astral characters', () => {
    expect(utf8('aé€😀')).toEqual(Uint8Array.of(0x61, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80));
  });
  it.each([['lone high', '\ud800'], ['lone low', 'a\udc00'], ['swapped pair', '\udc00\ud800']])(
    'rejects a %s surrogate',
    (_, s) => expectUsage(() => utf8(s), 'INVALID_UTF8'),
  );
});

describe('big-endian integers', () => {
  it.each([
    [u16be, 0, '0000'],
    [u16be, 0xffff, 'ffff'],
    [u32be, 0x01020304, '01020304'],
    [u32be, 0xffffffff, 'ffffffff'],
    [u64be, 0, '0000000000000000'],
    [u64be, 2 ** 32, '0000000100000000'],
    [u64be, Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
  ] as const)('%o(%d) = %s', (fn, n, hex) => expect(toHex(fn(n))).toBe(hex));

  it.each([
    [u16be, 65536],
    [u16be, -1],
    [u32be, 2 ** 32],
    [u32be, 1.5],
    [u64be, Number.MAX_SAFE_INTEGER + 1],
    [u64be, NaN],
    [u64be, '1' as never],
  ] as const)('%o refuses %s', (fn, n) => expectUsage(() => fn(n), 'INVALID_ARGUMENT'));

  it('readers invert writers and refuse out-of-range reads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(readU64be(u64be(n))).toBe(n);
        expect(readU32be(u32be(n >>> 0))).toBe(n >>> 0);
        expect(readU16be(u16be(n & 0xffff))).toBe(n & 0xffff);
      }),
    );
    expect(readU16be(Uint8Array.of(9, 1, 2), 1)).toBe(0x0102);
    expectUsage(() => readU16be(Uint8Array.of(1), 0), 'INVALID_ARGUMENT');
    expectUsage(() => readU32be(Uint8Array.of(1, 2, 3, 4), 1), 'INVALID_ARGUMENT');
    expectUsage(() => readU32be(Uint8Array.of(1, 2, 3, 4), -1), 'INVALID_ARGUMENT');
    expectUsage(() => readU64be(fromHex('0020000000000000')), 'INVALID_ARGUMENT'); // 2^53
  });
});

describe('base64url', () => {
  it('matches RFC 4648 §10 test vectors (unpadded, URL alphabet)', () => {
    const cases: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, enc] of cases) {
      expect(base64urlEncode(utf8(plain))).toBe(enc);
      expect(base64urlDecode(enc)).toEqual(utf8(plain));
    }
    expect(base64urlEncode(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });

  it('round-trips and agrees with Node base64url', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const s = base64urlEncode(b);
        expect(s).toBe(Buffer.from(b).toString('base64url'));
        expect(base64urlDecode(s)).toEqual(b);
      }),
    );
  });

  it.each([
    ['padding', 'Zg=='],
    ['standard alphabet +', 'a+b'],
    ['standard alphabet /', 'a/b'],
    ['whitespace', 'Zm9v Yg'],
    ['impossible length', 'Zm9vY'],
    ['non-zero pad bits (1 byte)', 'Zh'],
    ['non-zero pad bits (2 bytes)', 'Zm9'],
    ['non-ASCII', 'Zm9vé'],
    ['not a string', 5],
  ])('rejects %s', (_, s) => expectUsage(() => base64urlDecode(s as string), 'INVALID_BASE64URL'));
});
