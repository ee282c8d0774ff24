/** The worked vectors of docs/CRYPTO.md §15, recomputed on both providers and found in the doc. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { signatureFromDer, signatureToDer } from '../../src/crypto/der.js';
import { PROVIDERS, be32 } from './helpers.js';

const V = {
  g: '036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296',
  ecdhD: '0612465c89a023ab17855b0a6bcebfd3febb53aef84138647b5352e02c10c346',
  ecdhQ:
    '0462d5bd3372af75fe85a040715d0f502428e07046868b0bfdfa61d731afe44f26ac333a93a9e70a81cd5a95b5bf8d13990eb741c8c38872b4a07d275a014e30cf',
  ecdhX: '53020d908b0219328b658b525f26780e3ae12bcd952bb25a93bc0895e1714285',
  sigQ: '042927b10512bae3eddcfe467828128bad2903269919f7086069c8c4df6c732838c7787964eaac00e5921fb1498a60f4606766b3d9685001558d1a974e7341513e',
  sigR: '2ba3a8be6b94d5ec80a6d9d1190a436effe50d85a1eee859b8cc6af9bd5c2e18',
  sigS: '4cd60b855d442f5b3c7b11eb6c4e0ae7525fe710fab9aa7c77a67f79e6fadd76',
  sigHighS: 'b329f479a2bbd0a5c384ee1493b1f5186a87139cac5df4087c134b49156847db',
  gcmKey: '92ace3e348cd821092cd921aa3546374299ab46209691bc28b8752d17f123c20',
  gcmNonce: '00112233445566778899aabb',
  gcmAad: '00000000ffffffff',
  gcmPt: '00010203040506070809',
  gcmSealed: 'e27abdd2d2a53d2f136b9a4a2579529301bcfb71c78d4060f52c',
  hmac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  hkdf: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  der: '3006020101020102',
};

describe('docs/CRYPTO.md §15 worked vectors', () => {
  it('every value appears in the doc', () => {
    const doc = readFileSync(new URL('../../docs/CRYPTO.md', import.meta.url), 'utf8');
    const folded = doc.replace(/\n\s+/g, ''); // the long points are wrapped over two lines
    for (const [name, hex] of Object.entries(V)) expect(folded.includes(hex), name).toBe(true);
  });

  it.each(PROVIDERS)('recomputes on %s', (_, { provider: c }) => {
    expect(toHex(c.publicKeyFromPrivate(be32(1n)))).toBe(V.g);
    expect(toHex(c.ecdh(fromHex(V.ecdhD), fromHex(V.ecdhQ)))).toBe(V.ecdhX);
    const msg = utf8('123400');
    expect(c.verify(fromHex(V.sigQ), msg, fromHex(V.sigR + V.sigS))).toBe(true);
    expect(c.verify(fromHex(V.sigQ), msg, fromHex(V.sigR + V.sigHighS))).toBe(true);
    const sealed = c.aeadSeal(fromHex(V.gcmKey), fromHex(V.gcmNonce), fromHex(V.gcmPt), fromHex(V.gcmAad));
    expect(toHex(sealed)).toBe(V.gcmSealed);
    expect(toHex(c.hmacSha256(fromHex('0b'.repeat(20)), utf8('Hi There')))).toBe(V.hmac);
    const okm = c.hkdfSha256(fromHex('0b'.repeat(22)), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe(V.hkdf);
    const rs = concatBytes(be32(1n), be32(2n));
    expect(toHex(signatureToDer(rs))).toBe(V.der);
    expect(signatureFromDer(fromHex(V.der))).toEqual(rs);
  });
});
