/** Behaviour of both providers against fixed vectors and algebraic identities. */
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { CryptoError } from '../../src/errors.js';
import { N, PROVIDERS, be32, native, noble, seededBytes, toBig } from './helpers.js';

const G_COMPRESSED = '036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296';
const G_UNCOMPRESSED =
  '046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5';

function expectCryptoError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe(code);
    return;
  }
  throw new Error(`expected CryptoError ${code}`);
}

/** Replaces s by n − s: the other valid signature for the same (r, message, key). */
function flipS(sig: Uint8Array): Uint8Array {
  return concatBytes(sig.subarray(0, 32), be32(N - toBig(sig.subarray(32))));
}

describe.each(PROVIDERS)('%s provider', (name, { provider: c }) => {
  it('has the expected name', () => {
    expect(c.name).toBe(name);
  });

  it('derives G from d = 1 and round-trips point encodings', () => {
    expect(toHex(c.publicKeyFromPrivate(be32(1n)))).toBe(G_COMPRESSED);
    expect(toHex(c.validatePublicKey(fromHex(G_UNCOMPRESSED)))).toBe(G_COMPRESSED);
    expect(toHex(c.uncompressPublicKey(fromHex(G_COMPRESSED)))).toBe(G_UNCOMPRESSED);
    expect(toHex(c.uncompressPublicKey(fromHex(G_UNCOMPRESSED)))).toBe(G_UNCOMPRESSED);
    // (n−1)·G = −G: same x, other y parity.
    expect(toHex(c.publicKeyFromPrivate(be32(N - 1n)))).toBe('02' + G_COMPRESSED.slice(2));
  });

  it('generates valid, distinct key pairs', () => {
    const a = c.generateKeyPair();
    const b = c.generateKeyPair();
    expect(a.privateKey.length).toBe(32);
    expect(a.publicKey.length).toBe(33);
    expect(c.publicKeyFromPrivate(a.privateKey)).toEqual(a.publicKey);
    expect(a.privateKey).not.toEqual(b.privateKey);
    expect(Object.getPrototypeOf(a.privateKey)).toBe(Uint8Array.prototype); // not a Buffer
  });

  it('sign → verify; any change to message, signature or key fails', () => {
    const { privateKey, publicKey } = c.generateKeyPair();
    const msg = utf8('unlock driver door');
    const sig = c.sign(privateKey, msg);
    expect(sig.length).toBe(64);
    expect(c.verify(publicKey, msg, sig)).toBe(true);
    expect(c.verify(c.uncompressPublicKey(publicKey), msg, sig)).toBe(true);
    expect(c.verify(publicKey, utf8('unlock driver doos'), sig)).toBe(false);
    for (const i of [0, 31, 32, 63]) {
      const bad = Uint8Array.from(sig);
      bad[i]! ^= 0x01;
      expect(c.verify(publicKey, msg, bad)).toBe(false);
    }
    expect(c.verify(c.generateKeyPair().publicKey, msg, sig)).toBe(false);
  });

  it('accepts high-S: s replaced by n − s verifies on both providers', () => {
    const { privateKey, publicKey } = c.generateKeyPair();
    const msg = utf8('high-S from a phone keystore');
    const sig = c.sign(privateKey, msg);
    const other = flipS(sig);
    expect(other).not.toEqual(sig);
    const highS = toBig(sig.subarray(32)) > N / 2n ? sig : other;
    expect(toBig(highS.subarray(32)) > N / 2n).toBe(true);
    for (const [, { provider }] of PROVIDERS) {
      expect(provider.verify(publicKey, msg, sig)).toBe(true);
      expect(provider.verify(publicKey, msg, other)).toBe(true);
    }
  });

  it('ECDH is symmetric and returns the 32-byte x coordinate', () => {
    const a = c.generateKeyPair();
    const b = c.generateKeyPair();
    const ab = c.ecdh(a.privateKey, b.publicKey);
    expect(ab.length).toBe(32);
    expect(c.ecdh(b.privateKey, c.uncompressPublicKey(a.publicKey))).toEqual(ab);
    // d·G with d = 1 peer: the secret is the peer key's own x.
    expect(c.ecdh(be32(1n), b.publicKey)).toEqual(b.publicKey.subarray(1));
  });

  it('SHA-256, HMAC-SHA256 (RFC 4231 §4.2) and HKDF (RFC 5869 A.1) known answers', () => {
    expect(toHex(c.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(c.hmacSha256(fromHex('0b'.repeat(20)), utf8('Hi There')))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    const okm = c.hkdfSha256(fromHex('0b'.repeat(22)), fromHex('000102030405060708090a0b0c'), fromHex('f0f1f2f3f4f5f6f7f8f9'), 42);
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    expect(c.hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 0)).toEqual(new Uint8Array(0));
    expect(c.hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(2000), 8160).length).toBe(8160);
  });

  it('AES-256-GCM: round trip; tampering with ciphertext, tag, AAD, nonce or key fails', () => {
    const key = c.randomBytes(32);
    const nonce = c.randomBytes(12);
    const aad = utf8('header');
    const pt = utf8('open trunk');
    const sealed = c.aeadSeal(key, nonce, pt, aad);
    expect(sealed.length).toBe(pt.length + 16);
    expect(c.aeadOpen(key, nonce, sealed, aad)).toEqual(pt);
    for (const i of [0, pt.length - 1, pt.length, sealed.length - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[i]! ^= 0x80;
      expect(c.aeadOpen(key, nonce, bad, aad)).toBeNull();
    }
    expect(c.aeadOpen(key, nonce, sealed, utf8('headex'))).toBeNull();
    expect(c.aeadOpen(key, c.randomBytes(12), sealed, aad)).toBeNull();
    expect(c.aeadOpen(c.randomBytes(32), nonce, sealed, aad)).toBeNull();
    expect(c.aeadOpen(key, nonce, sealed.subarray(0, sealed.length - 1), aad)).toBeNull();
    // Empty plaintext: a bare tag.
    expect(c.aeadOpen(key, nonce, c.aeadSeal(key, nonce, new Uint8Array(0), aad), aad)).toEqual(new Uint8Array(0));
  });

  it('scrypt matches RFC 7914 §12', () => {
    expect(toHex(c.scrypt(new Uint8Array(0), new Uint8Array(0), { N: 16, r: 1, p: 1, dkLen: 64 }))).toBe(
      '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
    );
    expect(toHex(c.scrypt(utf8('password'), utf8('NaCl'), { N: 1024, r: 8, p: 16, dkLen: 64 }))).toBe(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });

  it('randomBytes returns the requested length and differs between calls', () => {
    expect(c.randomBytes(0).length).toBe(0);
    expect(c.randomBytes(65536).length).toBe(65536);
    expect(c.randomBytes(32)).not.toEqual(c.randomBytes(32));
  });
});

describe('P256Group (SPAKE2+ arithmetic)', () => {
  const g = noble.provider.group;
  const P = (k: bigint) => noble.provider.uncompressPublicKey(noble.provider.publicKeyFromPrivate(be32(k)));
  const p = 0x1234567890abcdefn;
  const q = 0xfedcba0987654321n;

  it('both providers expose the same order', () => {
    expect(g.order).toBe(N);
    expect(native.provider.group.order).toBe(N);
  });

  it('reduceScalar reduces any length modulo n', () => {
    expect(g.reduceScalar(be32(N))).toEqual(be32(0n));
    expect(g.reduceScalar(be32(N + 1n))).toEqual(be32(1n));
    expect(g.reduceScalar(new Uint8Array(0))).toEqual(be32(0n));
    const wide = fromHex('ff'.repeat(40)); // RFC 9383 §3.2 reduces a 40-byte (n + 64-bit) value
    expect(toBig(g.reduceScalar(wide))).toBe(toBig(wide) % N);
  });

  it('mulAdd, mul and subMul satisfy the group law', () => {
    const a = 0xabcdefn;
    const b = 0x13579bdfn;
    expect(g.mulAdd(be32(a))).toEqual(P(a));
    expect(g.mulAdd(be32(a), be32(b), P(p))).toEqual(P((a + b * p) % N));
    expect(g.mulAdd(be32(0n), be32(b), P(p))).toEqual(P((b * p) % N));
    expect(g.mulAdd(be32(a), be32(0n), P(p))).toEqual(P(a));
    expect(g.mul(be32(q), P(p))).toEqual(P((q * p) % N));
    expect(g.subMul(P(p), be32(b), P(q))).toEqual(P((((p - b * q) % N) + N) % N));
    expect(g.subMul(P(p), be32(0n), P(q))).toEqual(P(p));
    // compressed input points are accepted; output is always 65 bytes
    expect(g.mul(be32(q), noble.provider.publicKeyFromPrivate(be32(p)))).toEqual(P((q * p) % N));
  });

  it('refuses results at infinity with IDENTITY_POINT', () => {
    expectCryptoError(() => g.mulAdd(be32(0n)), 'IDENTITY_POINT');
    expectCryptoError(() => g.mul(be32(0n), P(p)), 'IDENTITY_POINT');
    expectCryptoError(() => g.subMul(P(p), be32(1n), P(p)), 'IDENTITY_POINT');
    expectCryptoError(() => g.mulAdd(be32(1n), be32(N - 1n), P(1n)), 'IDENTITY_POINT');
  });

  it('isValidPoint', () => {
    expect(g.isValidPoint(P(p))).toBe(true);
    expect(g.isValidPoint(fromHex(G_COMPRESSED))).toBe(true);
    expect(g.isValidPoint(new Uint8Array([0]))).toBe(false);
    const off = P(p);
    off[64]! ^= 1;
    expect(g.isValidPoint(off)).toBe(false);
  });
});

describe('injected randomness', () => {
  it('makes noble keys and signatures reproducible', () => {
    const a = createNobleProvider({ randomBytes: seededBytes(42) });
    const b = createNobleProvider({ randomBytes: seededBytes(42) });
    const ka = a.generateKeyPair();
    expect(b.generateKeyPair()).toEqual(ka);
    const msg = utf8('same');
    expect(a.sign(ka.privateKey, msg)).toEqual(b.sign(ka.privateKey, msg));
    expect(a.randomBytes(16)).toEqual(b.randomBytes(16));
  });

  it('signing is hedged: a different RNG state gives a different valid signature', () => {
    const c = createNobleProvider({ randomBytes: seededBytes(7) });
    const { privateKey, publicKey } = c.generateKeyPair();
    const msg = utf8('m');
    const s1 = c.sign(privateKey, msg);
    const s2 = c.sign(privateKey, msg);
    expect(s1).not.toEqual(s2);
    expect(c.verify(publicKey, msg, s1) && c.verify(publicKey, msg, s2)).toBe(true);
  });

  it('noble signs low-S', () => {
    const c = noble.provider;
    const { privateKey } = c.generateKeyPair();
    for (let i = 0; i < 16; i++) expect(toBig(c.sign(privateKey, Uint8Array.of(i)).subarray(32)) <= N / 2n).toBe(true);
  });
});

describe('native provider public-key cache', () => {
  it('stays correct past its bound and never caches a rejected key', () => {
    const c = native.provider;
    const msg = utf8('cache');
    const signers = Array.from({ length: 200 }, () => c.generateKeyPair());
    const sigs = signers.map((k) => c.sign(k.privateKey, msg));
    for (let round = 0; round < 2; round++) {
      signers.forEach((k, i) => {
        expect(c.verify(k.publicKey, msg, sigs[i]!)).toBe(true);
        expect(c.verify(k.publicKey, msg, sigs[(i + 1) % sigs.length]!)).toBe(false);
      });
    }
    const off = c.uncompressPublicKey(signers[0]!.publicKey);
    off[64]! ^= 1;
    for (let i = 0; i < 3; i++) expect(c.verify(off, msg, sigs[0]!)).toBe(false);
  });
});
