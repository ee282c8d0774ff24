import { sign as nodeSign, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { signatureFromDer, signatureToDer } from '../../src/crypto/der.js';
import { CryptoError, UsageError } from '../../src/errors.js';

const R = '00'.repeat(31) + '01';
const HIGH = 'ff' + '11'.repeat(31);

function expectDerError(hex: string): void {
  try {
    signatureFromDer(fromHex(hex));
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('INVALID_SIGNATURE_DER');
    return;
  }
  throw new Error(`accepted ${hex}`);
}

describe('signatureFromDer', () => {
  it('parses minimal integers, padding to 32 bytes, and a leading 00 before a high bit', () => {
    expect(toHex(signatureFromDer(fromHex('3006020101020102')))).toBe(R + '00'.repeat(31) + '02');
    const der = '3046022100' + HIGH + '022100' + HIGH;
    expect(toHex(signatureFromDer(fromHex(der)))).toBe(HIGH + HIGH);
  });

  it('parses what OpenSSL emits (default DER output)', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    for (let i = 0; i < 20; i++) {
      const msg = Uint8Array.of(i);
      const der = nodeSign('sha256', msg, privateKey);
      const p1363 = nodeSign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      // Different random k, so compare by re-encoding instead.
      expect(signatureToDer(signatureFromDer(der))).toEqual(Uint8Array.from(der));
      expect(signatureFromDer(signatureToDer(p1363))).toEqual(Uint8Array.from(p1363));
    }
  });

  it.each([
    ['empty', ''],
    ['wrong outer tag', '3106020101020101'],
    ['long-form sequence length', '308106020101020101'],
    ['sequence length too long', '3007020101020101'],
    ['sequence length too short', '3005020101020101'],
    ['trailing byte after sequence', '300602010102010100'],
    ['trailing byte inside sequence', '30070201010201010000'.slice(0, 18)],
    ['third integer', '3009020101020101020101'],
    ['wrong integer tag', '3006030101020101'],
    ['empty integer', '30050200020101'],
    ['negative r', '3006020181020101'],
    ['negative s', '3006020101020181'],
    ['non-minimal r (00 before low byte)', '300702020001020101'],
    ['non-minimal s (00 00 prefix)', '3008020101020300' + '0081'],
    ['long-form integer length', '30070281010102 0101'.replace(' ', '')],
    ['r longer than 32 bytes', '3027022101' + '00'.repeat(32) + '020101'],
    ['r of 33 bytes without sign padding', '3027022101' + '11'.repeat(32) + '020101'],
    ['integer running past the end', '3006020501020101'],
    ['only r', '3003020101'],
  ])('rejects %s', (_, hex) => expectDerError(hex));

  it('refuses non-bytes with UsageError', () => {
    expect(() => signatureFromDer('3006' as never)).toThrow(UsageError);
  });

  it('round-trips every 64-byte signature (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (sig) => {
        const der = signatureToDer(sig);
        expect(signatureFromDer(der)).toEqual(sig);
        expect(der.length).toBeLessThanOrEqual(72);
      }),
    );
  });

  it('never throws an untyped error on garbage (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        try {
          const sig = signatureFromDer(bytes);
          expect(signatureToDer(sig)).toEqual(bytes); // anything accepted is canonical DER
        } catch (err) {
          expect(err).toBeInstanceOf(CryptoError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('signatureToDer', () => {
  it('encodes zero and high-bit integers minimally', () => {
    expect(toHex(signatureToDer(new Uint8Array(64)))).toBe('3006020100020100');
    expect(toHex(signatureToDer(fromHex(HIGH + R)))).toBe('3026022100' + HIGH + '020101');
  });

  it.each([63, 65, 0])('refuses a %d-byte signature', (n) => {
    try {
      signatureToDer(new Uint8Array(n));
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(CryptoError);
      expect((err as CryptoError).code).toBe('INVALID_SIGNATURE_LENGTH');
    }
  });
});
