/**
 * Differential tests: the noble provider and the node:crypto (OpenSSL) provider must agree on
 * random inputs, and cross-verify each other's signatures both ways.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/crypto/bytes.js';
import { DigitalKeyError } from '../../src/errors.js';
import { N, be32, native, noble } from './helpers.js';

const A = noble.provider;
const B = native.provider;
const RUNS = 60;

const scalar = fc.bigInt({ min: 1n, max: N - 1n }).map(be32);
const bytes = (maxLength = 256) => fc.uint8Array({ maxLength });

/** What a provider does with an input: the output bytes, or the error code. */
function outcome(fn: () => Uint8Array): string {
  try {
    return Buffer.from(fn()).toString('hex');
  } catch (err) {
    expect(err).toBeInstanceOf(DigitalKeyError);
    return `error:${(err as DigitalKeyError).code}`;
  }
}

describe('noble ⇄ native', () => {
  it('derive the same public key', () => {
    fc.assert(
      fc.property(scalar, (d) => {
        expect(A.publicKeyFromPrivate(d)).toEqual(B.publicKeyFromPrivate(d));
      }),
      { numRuns: RUNS },
    );
  });

  it('verify each other’s signatures, both ways', () => {
    fc.assert(
      fc.property(scalar, bytes(), (d, msg) => {
        const pub = A.publicKeyFromPrivate(d);
        const sa = A.sign(d, msg);
        const sb = B.sign(d, msg);
        expect(B.verify(pub, msg, sa)).toBe(true);
        expect(A.verify(pub, msg, sb)).toBe(true);
        const tampered = concatBytes(msg, Uint8Array.of(1));
        expect(B.verify(pub, tampered, sa)).toBe(false);
        expect(A.verify(pub, tampered, sb)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('agree on verify for random signatures and mutated valid ones', () => {
    fc.assert(
      fc.property(scalar, bytes(64), fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(511), (d, msg, junk, bit) => {
        const pub = A.publicKeyFromPrivate(d);
        expect(A.verify(pub, msg, junk)).toBe(B.verify(pub, msg, junk));
        const sig = B.sign(d, msg);
        sig[bit >> 3]! ^= 1 << (bit & 7);
        expect(A.verify(pub, msg, sig)).toBe(false);
        expect(B.verify(pub, msg, sig)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('compute the same ECDH secret, and it is symmetric', () => {
    fc.assert(
      fc.property(scalar, scalar, (d1, d2) => {
        const p1 = A.publicKeyFromPrivate(d1);
        const p2 = B.uncompressPublicKey(B.publicKeyFromPrivate(d2));
        const s = A.ecdh(d1, p2);
        expect(B.ecdh(d1, p2)).toEqual(s);
        expect(B.ecdh(d2, p1)).toEqual(s);
        expect(A.ecdh(d2, p1)).toEqual(s);
      }),
      { numRuns: RUNS },
    );
  });

  it('agree on SHA-256, HMAC and HKDF (including info longer than node hkdfSync allows)', () => {
    fc.assert(
      fc.property(bytes(300), bytes(100), bytes(1500), fc.integer({ min: 0, max: 600 }), (ikm, salt, info, len) => {
        expect(A.sha256(ikm)).toEqual(B.sha256(ikm));
        expect(A.hmacSha256(salt, ikm)).toEqual(B.hmacSha256(salt, ikm));
        expect(A.hkdfSha256(ikm, salt, info, len)).toEqual(B.hkdfSha256(ikm, salt, info, len));
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('seal identically and open each other’s AEAD output', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        bytes(600),
        bytes(64),
        (key, nonce, pt, aad) => {
          const sa = A.aeadSeal(key, nonce, pt, aad);
          expect(B.aeadSeal(key, nonce, pt, aad)).toEqual(sa);
          expect(B.aeadOpen(key, nonce, sa, aad)).toEqual(pt);
          expect(A.aeadOpen(key, nonce, sa, aad)).toEqual(pt);
          const junk = concatBytes(sa.subarray(1), Uint8Array.of(sa[0]! ^ 1));
          expect(A.aeadOpen(key, nonce, junk, aad)).toBe(B.aeadOpen(key, nonce, junk, aad));
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  it('agree on scrypt for small parameters', () => {
    fc.assert(
      fc.property(bytes(32), bytes(32), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), (pw, salt, logN, r) => {
        const params = { N: 2 ** logN, r, p: 1, dkLen: 32 };
        expect(A.scrypt(pw, salt, params)).toEqual(B.scrypt(pw, salt, params));
      }),
      { numRuns: 30 },
    );
  });

  it('agree on validatePublicKey / uncompressPublicKey for random and near-valid bytes', () => {
    const candidates = fc.oneof(
      bytes(70),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((x) => concatBytes(Uint8Array.of(2 + (x[0]! & 1)), x)),
      fc.uint8Array({ minLength: 64, maxLength: 64 }).map((xy) => concatBytes(Uint8Array.of(4), xy)),
      fc.tuple(scalar, fc.nat(519), fc.boolean()).map(([d, bit, compressed]) => {
        const p = compressed ? A.publicKeyFromPrivate(d) : A.uncompressPublicKey(A.publicKeyFromPrivate(d));
        p[(bit >> 3) % p.length]! ^= 1 << (bit & 7);
        return p;
      }),
      fc.tuple(scalar, fc.constantFrom(0x00, 0x01, 0x05, 0x06, 0x07)).map(([d, prefix]) => {
        const p = A.uncompressPublicKey(A.publicKeyFromPrivate(d));
        p[0] = prefix;
        return p;
      }),
    );
    let valid = 0;
    fc.assert(
      fc.property(candidates, (pk) => {
        const a = outcome(() => A.validatePublicKey(pk));
        expect(outcome(() => B.validatePublicKey(pk))).toBe(a);
        expect(outcome(() => B.uncompressPublicKey(pk))).toBe(outcome(() => A.uncompressPublicKey(pk)));
        expect(A.group.isValidPoint(pk)).toBe(!a.startsWith('error'));
        if (!a.startsWith('error')) valid++;
        else expect(a).toBe('error:INVALID_PUBLIC_KEY');
      }),
      { numRuns: 1000 },
    );
    expect(valid).toBeGreaterThan(50); // the random compressed candidates are valid half the time
  });

  it('noble group arithmetic matches OpenSSL scalar multiplication', () => {
    const g = A.group;
    fc.assert(
      fc.property(scalar, scalar, (k, d) => {
        expect(g.mulAdd(k)).toEqual(B.uncompressPublicKey(B.publicKeyFromPrivate(k)));
        const P = B.publicKeyFromPrivate(d);
        // x(k·P) is exactly what OpenSSL's ECDH computes.
        expect(g.mul(k, P).subarray(1, 33)).toEqual(B.ecdh(k, P));
        expect(B.group.mul(k, P)).toEqual(g.mul(k, P));
      }),
      { numRuns: 30 },
    );
  });
});
