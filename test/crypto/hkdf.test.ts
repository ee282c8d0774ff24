import { describe, expect, it } from 'vitest';
import { hkdfExpand, hkdfExtract } from '../../src/crypto/hkdf.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { native, noble } from './helpers.js';

describe.each([
  ['noble', noble.provider],
  ['native', native.provider],
])('HKDF split into Extract and Expand (%s)', (_name, crypto) => {
  it('RFC 5869 A.1: PRK and OKM', () => {
    const ikm = fromHex('0b'.repeat(22));
    const salt = fromHex('000102030405060708090a0b0c');
    const info = fromHex('f0f1f2f3f4f5f6f7f8f9');
    const prk = hkdfExtract(crypto, salt, ikm);
    expect(prk).toEqual(fromHex('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5'));
    expect(hkdfExpand(crypto, prk, info, 42)).toEqual(
      fromHex('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'),
    );
  });

  it('one Extract, several Expands: byte for byte the provider HKDF of every label and length', () => {
    const ikm = crypto.randomBytes(64);
    const salt = crypto.randomBytes(32);
    const prk = hkdfExtract(crypto, salt, ikm);
    for (const info of ['auth', 'chain', 'v2p', 'p2v', ''].map((s) => new TextEncoder().encode(s))) {
      for (const length of [0, 1, 16, 31, 32, 33, 64, 100]) {
        expect(hkdfExpand(crypto, prk, info, length)).toEqual(crypto.hkdfSha256(ikm, salt, info, length));
      }
    }
  });

  it('refuses a length outside [0, 8160]', () => {
    const prk = new Uint8Array(32);
    for (const bad of [-1, 1.5, 255 * 32 + 1, Number.NaN]) expect(() => hkdfExpand(crypto, prk, new Uint8Array(0), bad)).toThrow(/length/);
  });
});
