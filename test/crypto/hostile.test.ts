/**
 * Hostile arguments thrown at every provider method: wrong types, wrong lengths, zero and
 * out-of-range scalars, the identity, off-curve and mis-framed points. Each must produce the
 * documented typed error, or false/null where the contract says so — never a raw error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../../src/crypto/bytes.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { CryptoError, DigitalKeyError, UsageError } from '../../src/errors.js';
import { N, PROVIDERS, be32, toBig } from './helpers.js';

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const G = fromHex(
  '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5',
);
const GC = fromHex('036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296');

/** Values that are not Uint8Array at all. */
const NOT_BYTES: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['string', 'deadbeef'],
  ['number', 42],
  ['array', [1, 2, 3]],
  ['object', {}],
  ['Uint16Array', new Uint16Array(16)],
  ['ArrayBuffer', new ArrayBuffer(32)],
  ['DataView', new DataView(new ArrayBuffer(32))],
];

const BAD_PRIVATE: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['31 bytes', new Uint8Array(31).fill(1)],
  ['33 bytes', new Uint8Array(33).fill(1)],
  ['zero', be32(0n)],
  ['n', be32(N)],
  ['n + 1', be32(N + 1n)],
  ['2^256 − 1', be32(2n ** 256n - 1n)],
];

const offCurve = Uint8Array.from(G);
offCurve[64]! ^= 1;
const BAD_POINTS: Array<[string, Uint8Array]> = [
  ['empty', new Uint8Array(0)],
  ['identity 00', Uint8Array.of(0)],
  ['00 × 33', new Uint8Array(33)],
  ['00 × 65', new Uint8Array(65)],
  ['off-curve uncompressed', offCurve],
  ['hybrid 06', concatBytes(Uint8Array.of(6), G.subarray(1))],
  ['hybrid 07', concatBytes(Uint8Array.of(7), G.subarray(1))],
  ['x = p, compressed', concatBytes(Uint8Array.of(2), be32(P))],
  ['x = 2^256 − 1, compressed', concatBytes(Uint8Array.of(3), be32(2n ** 256n - 1n))],
  ['x = p, uncompressed', concatBytes(Uint8Array.of(4), be32(P), G.subarray(33))],
  ['y + p overflow (x ok, y = p + 1)', concatBytes(G.subarray(0, 33), be32(P + 1n))],
  ['04 prefix, 33 bytes', concatBytes(Uint8Array.of(4), GC.subarray(1))],
  ['02 prefix, 65 bytes', concatBytes(Uint8Array.of(2), G.subarray(1))],
  ['raw x‖y, no prefix', G.subarray(1)],
  ['trailing byte', concatBytes(G, Uint8Array.of(0))],
  ['truncated', G.subarray(0, 64)],
];

type Expect = { error: typeof UsageError | typeof CryptoError; code: string } | false | null;
const usage: Expect = { error: UsageError, code: 'INVALID_ARGUMENT' };
const crypto = (code: string): Expect => ({ error: CryptoError, code });

function check(fn: () => unknown, expected: Expect): void {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    if (expected === false || expected === null) throw new Error(`threw ${String(err)} instead of ${expected}`);
    expect(err).toBeInstanceOf(expected.error);
    expect((err as DigitalKeyError).code).toBe(expected.code);
    return;
  }
  if (expected === false || expected === null) expect(result).toBe(expected);
  else throw new Error(`expected ${expected.error.name} ${expected.code}, returned ${String(result)}`);
}

/** Every method call as a function of one hostile argument slot. */
function table(c: CryptoProvider): Array<[string, () => unknown, Expect]> {
  const { privateKey: sk, publicKey: pk } = c.generateKeyPair();
  const msg = Uint8Array.of(1, 2, 3);
  const sig = c.sign(sk, msg);
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const sealed = c.aeadSeal(key, nonce, msg, msg);
  const ok = new Uint8Array(8);
  const params = { N: 16, r: 1, p: 1, dkLen: 32 };
  const rows: Array<[string, () => unknown, Expect]> = [];
  const add = (label: string, fn: () => unknown, e: Expect) => rows.push([label, fn, e]);

  for (const [n, v] of NOT_BYTES) {
    const x = v as Uint8Array;
    add(`publicKeyFromPrivate(${n})`, () => c.publicKeyFromPrivate(x), usage);
    add(`validatePublicKey(${n})`, () => c.validatePublicKey(x), usage);
    add(`uncompressPublicKey(${n})`, () => c.uncompressPublicKey(x), usage);
    add(`ecdh(${n}, pk)`, () => c.ecdh(x, pk), usage);
    add(`ecdh(sk, ${n})`, () => c.ecdh(sk, x), usage);
    add(`sign(${n}, msg)`, () => c.sign(x, msg), usage);
    add(`sign(sk, ${n})`, () => c.sign(sk, x), usage);
    add(`verify(${n}, msg, sig)`, () => c.verify(x, msg, sig), false);
    add(`verify(pk, ${n}, sig)`, () => c.verify(pk, x, sig), false);
    add(`verify(pk, msg, ${n})`, () => c.verify(pk, msg, x), false);
    add(`sha256(${n})`, () => c.sha256(x), usage);
    add(`hmacSha256(${n}, data)`, () => c.hmacSha256(x, ok), usage);
    add(`hmacSha256(key, ${n})`, () => c.hmacSha256(ok, x), usage);
    add(`hkdfSha256(${n}, …)`, () => c.hkdfSha256(x, ok, ok, 32), usage);
    add(`hkdfSha256(…, salt ${n}, …)`, () => c.hkdfSha256(ok, x, ok, 32), usage);
    add(`hkdfSha256(…, info ${n}, …)`, () => c.hkdfSha256(ok, ok, x, 32), usage);
    add(`aeadSeal(${n}, …)`, () => c.aeadSeal(x, nonce, msg, msg), usage);
    add(`aeadSeal(key, ${n}, …)`, () => c.aeadSeal(key, x, msg, msg), usage);
    add(`aeadSeal(…, pt ${n}, …)`, () => c.aeadSeal(key, nonce, x, msg), usage);
    add(`aeadSeal(…, aad ${n})`, () => c.aeadSeal(key, nonce, msg, x), usage);
    add(`aeadOpen(${n}, …)`, () => c.aeadOpen(x, nonce, sealed, msg), null);
    add(`aeadOpen(key, ${n}, …)`, () => c.aeadOpen(key, x, sealed, msg), null);
    add(`aeadOpen(…, sealed ${n}, …)`, () => c.aeadOpen(key, nonce, x, msg), null);
    add(`aeadOpen(…, aad ${n})`, () => c.aeadOpen(key, nonce, sealed, x), null);
    add(`scrypt(${n}, …)`, () => c.scrypt(x, ok, params), usage);
    add(`scrypt(pw, ${n}, …)`, () => c.scrypt(ok, x, params), usage);
    add(`group.reduceScalar(${n})`, () => c.group.reduceScalar(x), usage);
    add(`group.mulAdd(${n})`, () => c.group.mulAdd(x), usage);
    add(`group.mul(k, ${n})`, () => c.group.mul(be32(2n), x), usage);
    add(`group.subMul(${n}, k, G)`, () => c.group.subMul(x, be32(2n), G), usage);
    add(`group.isValidPoint(${n})`, () => c.group.isValidPoint(x), false);
  }

  for (const [n, v] of BAD_PRIVATE) {
    add(`publicKeyFromPrivate(${n})`, () => c.publicKeyFromPrivate(v), crypto('INVALID_PRIVATE_KEY'));
    add(`ecdh(${n}, pk)`, () => c.ecdh(v, pk), crypto('INVALID_PRIVATE_KEY'));
    add(`sign(${n}, msg)`, () => c.sign(v, msg), crypto('INVALID_PRIVATE_KEY'));
  }

  for (const [n, v] of BAD_POINTS) {
    add(`validatePublicKey(${n})`, () => c.validatePublicKey(v), crypto('INVALID_PUBLIC_KEY'));
    add(`uncompressPublicKey(${n})`, () => c.uncompressPublicKey(v), crypto('INVALID_PUBLIC_KEY'));
    add(`ecdh(sk, ${n})`, () => c.ecdh(sk, v), crypto('INVALID_PUBLIC_KEY'));
    add(`verify(${n}, msg, sig)`, () => c.verify(v, msg, sig), false);
    add(`group.mul(k, ${n})`, () => c.group.mul(be32(2n), v), crypto('INVALID_PUBLIC_KEY'));
    add(`group.mulAdd(a, b, ${n})`, () => c.group.mulAdd(be32(1n), be32(2n), v), crypto('INVALID_PUBLIC_KEY'));
    add(`group.subMul(${n}, k, G)`, () => c.group.subMul(v, be32(2n), G), crypto('INVALID_PUBLIC_KEY'));
    add(`group.subMul(G, k, ${n})`, () => c.group.subMul(G, be32(2n), v), crypto('INVALID_PUBLIC_KEY'));
    add(`group.isValidPoint(${n})`, () => c.group.isValidPoint(v), false);
  }

  const r = sig.subarray(0, 32);
  const s = sig.subarray(32);
  const badSigs: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['63 bytes', sig.subarray(0, 63)],
    ['65 bytes', concatBytes(sig, Uint8Array.of(0))],
    ['DER instead of r‖s', fromHex('3006020101020101')],
    ['all zero', new Uint8Array(64)],
    ['r = 0', concatBytes(be32(0n), s)],
    ['s = 0', concatBytes(r, be32(0n))],
    ['r = n', concatBytes(be32(N), s)],
    ['s = n', concatBytes(r, be32(N))],
    ['r = r + n (same r mod n)', concatBytes(be32(toBig(r) + N < 2n ** 256n ? toBig(r) + N : N), s)],
    ['r = 2^256 − 1', concatBytes(be32(2n ** 256n - 1n), s)],
    ['s = 2^256 − 1', concatBytes(r, be32(2n ** 256n - 1n))],
  ];
  for (const [n, v] of badSigs) add(`verify(pk, msg, ${n})`, () => c.verify(pk, msg, v), false);
  add('verify under another key', () => c.verify(c.generateKeyPair().publicKey, msg, sig), false);

  for (const n of [-1, 1.5, NaN, Infinity, 65537, '4', undefined]) {
    add(`randomBytes(${String(n)})`, () => c.randomBytes(n as number), usage);
  }
  for (const n of [-1, 1.5, NaN, 8161, '32', undefined]) {
    add(`hkdfSha256(…, length ${String(n)})`, () => c.hkdfSha256(ok, ok, ok, n as number), usage);
  }
  for (const n of [0, 16, 24, 31, 33]) {
    add(`aeadSeal(${n}-byte key)`, () => c.aeadSeal(new Uint8Array(n), nonce, msg, msg), crypto('INVALID_AEAD_KEY'));
    add(`aeadOpen(${n}-byte key)`, () => c.aeadOpen(new Uint8Array(n), nonce, sealed, msg), null);
  }
  for (const n of [0, 8, 11, 13, 16]) {
    add(`aeadSeal(${n}-byte nonce)`, () => c.aeadSeal(key, new Uint8Array(n), msg, msg), crypto('INVALID_AEAD_NONCE'));
    add(`aeadOpen(${n}-byte nonce)`, () => c.aeadOpen(key, new Uint8Array(n), sealed, msg), null);
  }
  for (const n of [0, 1, 15]) add(`aeadOpen(${n}-byte sealed)`, () => c.aeadOpen(key, nonce, sealed.subarray(0, n), msg), null);

  const badParams: Array<[string, unknown, Expect]> = [
    ['null', null, usage],
    ['string', 'N=16', usage],
    ['empty object', {}, crypto('INVALID_SCRYPT_PARAMS')],
    ['N = 0', { ...params, N: 0 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['N = 1', { ...params, N: 1 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['N = 3', { ...params, N: 3 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['N = 2^31', { ...params, N: 2 ** 31 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['N = 16.5', { ...params, N: 16.5 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['r = 0', { ...params, r: 0 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['p = 0', { ...params, p: 0 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['dkLen = 0', { ...params, dkLen: 0 }, crypto('INVALID_SCRYPT_PARAMS')],
    ['dkLen = "32"', { ...params, dkLen: '32' }, crypto('INVALID_SCRYPT_PARAMS')],
    ['1 GiB of memory', { N: 2 ** 20, r: 8, p: 1, dkLen: 32 }, crypto('INVALID_SCRYPT_PARAMS')],
  ];
  for (const [n, v, e] of badParams) add(`scrypt(params ${n})`, () => c.scrypt(ok, ok, v as never), e);

  const badScalars: Array<[string, Uint8Array]> = [
    ['31 bytes', new Uint8Array(31)],
    ['33 bytes', new Uint8Array(33)],
    ['n', be32(N)],
    ['2^256 − 1', be32(2n ** 256n - 1n)],
  ];
  for (const [n, v] of badScalars) {
    add(`group.mulAdd(${n})`, () => c.group.mulAdd(v), crypto('INVALID_SCALAR'));
    add(`group.mulAdd(1, ${n}, G)`, () => c.group.mulAdd(be32(1n), v, G), crypto('INVALID_SCALAR'));
    add(`group.mul(${n}, G)`, () => c.group.mul(v, G), crypto('INVALID_SCALAR'));
    add(`group.subMul(G, ${n}, G)`, () => c.group.subMul(G, v, G), crypto('INVALID_SCALAR'));
  }
  add('group.mulAdd(a, b) without point', () => c.group.mulAdd(be32(1n), be32(1n)), usage);
  add('group.mulAdd(a, undefined, G)', () => c.group.mulAdd(be32(1n), undefined, G), usage);
  return rows;
}

describe.each(PROVIDERS)('hostile arguments on the %s provider', (_, { provider }) => {
  const rows = table(provider);
  it.each(rows)('%s', (_label, fn, expected) => check(fn, expected));

  it('never throws a raw error for arbitrary values in any argument (property)', () => {
    const methods: Array<(args: unknown[]) => unknown> = [
      ([a]) => provider.randomBytes(a as number),
      ([a]) => provider.publicKeyFromPrivate(a as Uint8Array),
      ([a]) => provider.validatePublicKey(a as Uint8Array),
      ([a]) => provider.uncompressPublicKey(a as Uint8Array),
      ([a, b]) => provider.ecdh(a as Uint8Array, b as Uint8Array),
      ([a, b]) => provider.sign(a as Uint8Array, b as Uint8Array),
      ([a, b, c]) => expect(provider.verify(a as Uint8Array, b as Uint8Array, c as Uint8Array)).toBe(false),
      ([a]) => provider.sha256(a as Uint8Array),
      ([a, b]) => provider.hmacSha256(a as Uint8Array, b as Uint8Array),
      ([a, b, c, d]) => provider.hkdfSha256(a as Uint8Array, b as Uint8Array, c as Uint8Array, d as number),
      ([a, b, c, d]) => provider.aeadSeal(a as Uint8Array, b as Uint8Array, c as Uint8Array, d as Uint8Array),
      ([a, b, c, d]) => expect(provider.aeadOpen(a as Uint8Array, b as Uint8Array, c as Uint8Array, d as Uint8Array)).toBeNull(),
      ([a, b, c]) => provider.scrypt(a as Uint8Array, b as Uint8Array, c as never),
      ([a]) => provider.group.reduceScalar(a as Uint8Array),
      ([a, b, c]) => provider.group.mulAdd(a as Uint8Array, b as Uint8Array, c as Uint8Array),
      ([a, b]) => provider.group.mul(a as Uint8Array, b as Uint8Array),
      ([a, b, c]) => provider.group.subMul(a as Uint8Array, b as Uint8Array, c as Uint8Array),
      ([a]) => provider.group.isValidPoint(a as Uint8Array),
    ];
    const arg = fc.oneof(
      fc.anything(),
      fc.uint8Array({ maxLength: 70 }),
      fc.integer({ min: -2, max: 70 }),
      fc.constantFrom(new Uint8Array(32), be32(N), G, GC, new Uint8Array(12)),
    );
    fc.assert(
      fc.property(fc.nat(methods.length - 1), fc.array(arg, { minLength: 4, maxLength: 4 }), (m, args) => {
        try {
          methods[m]!(args);
        } catch (err) {
          if (err instanceof Error && err.name === 'AssertionError') throw err;
          expect(err).toBeInstanceOf(DigitalKeyError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
