/**
 * Proves the node:crypto provider's hot paths (sign, verify, ECDH, key validation, hashing,
 * AEAD) never call into @noble: every function and Point method reachable from noble's p256 is
 * wrapped with a counter, and the counter must stay at zero across those calls.
 */
import { describe, expect, it, vi } from 'vitest';

const calls = vi.hoisted(() => ({ count: 0, names: [] as string[] }));

vi.mock('@noble/curves/nist.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('@noble/curves/nist.js')>();
  // noble freezes its objects, so the proxies sit on fresh empty targets (no proxy invariants to
  // honour) and forward every read to the real object, counting function calls on the way.
  const counted = (real: object, path: string, isClass = false): any =>
    new Proxy(isClass ? function () {} : {}, {
      get(_t, prop) {
        const value = Reflect.get(real, prop);
        if (typeof prop === 'symbol' || prop === 'prototype') return value;
        calls.count++;
        calls.names.push(`${path}.${prop}`);
        if (typeof value === 'function') {
          return (...args: unknown[]) => Reflect.apply(value, real, args);
        }
        if (value !== null && typeof value === 'object' && prop !== 'lengths') return counted(value, `${path}.${prop}`);
        return value;
      },
      construct(_t, args) {
        calls.count++;
        return Reflect.construct(real as new (...a: unknown[]) => object, args);
      },
    });
  const p256 = counted({ ...real.p256, Point: counted(real.p256.Point, 'Point', true) }, 'p256');
  return { ...real, p256 };
});

const { createNodeProvider } = await import('../../src/crypto/node.js');
const { createNobleProvider } = await import('../../src/crypto/noble.js');

describe('node provider hot paths', () => {
  it('the counting wrapper sees noble calls (sanity check)', () => {
    const before = calls.count;
    createNobleProvider().generateKeyPair();
    expect(calls.count).toBeGreaterThan(before);
  });

  it('sign, verify, ecdh, key validation, hashing and AEAD make no @noble/curves call', () => {
    const c = createNodeProvider();
    calls.count = 0;
    calls.names.length = 0;
    const a = c.generateKeyPair();
    const b = c.generateKeyPair();
    const msg = new Uint8Array(100);
    const sig = c.sign(a.privateKey, msg);
    for (let i = 0; i < 3; i++) expect(c.verify(a.publicKey, msg, sig)).toBe(true);
    expect(c.verify(c.uncompressPublicKey(a.publicKey), msg, sig)).toBe(true);
    expect(c.ecdh(a.privateKey, b.publicKey)).toEqual(c.ecdh(b.privateKey, a.publicKey));
    c.validatePublicKey(a.publicKey);
    c.publicKeyFromPrivate(a.privateKey);
    c.hkdfSha256(msg, msg, msg, 64);
    const key = c.randomBytes(32);
    const nonce = c.randomBytes(12);
    expect(c.aeadOpen(key, nonce, c.aeadSeal(key, nonce, msg, msg), msg)).toEqual(msg);
    expect(calls.names).toEqual([]);
    expect(calls.count).toBe(0);
  });
});
