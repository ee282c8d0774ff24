import { describe, expect, it } from 'vitest';
import { createNodeProvider } from '../../src/crypto/node.js';

describe('node provider: public KeyObjects kept per key buffer', () => {
  it('a buffer overwritten in place is verified with its new bytes, never a stale key', () => {
    const c = createNodeProvider();
    const one = c.generateKeyPair();
    const two = c.generateKeyPair();
    const msg = new Uint8Array([1, 2, 3]);
    const sigOne = c.sign(one.privateKey, msg);
    const sigTwo = c.sign(two.privateKey, msg);
    const held = one.publicKey.slice();
    expect(c.verify(held, msg, sigOne)).toBe(true);
    held.set(two.publicKey);
    expect(c.verify(held, msg, sigOne)).toBe(false);
    expect(c.verify(held, msg, sigTwo)).toBe(true);
  });

  it('more keys than the LRU holds still verify, and a held buffer keeps verifying', () => {
    const c = createNodeProvider();
    const msg = new Uint8Array(32);
    const keys = Array.from({ length: 300 }, () => c.generateKeyPair());
    const sigs = keys.map((k) => c.sign(k.privateKey, msg));
    for (let round = 0; round < 2; round++) keys.forEach((k, i) => expect(c.verify(k.publicKey, msg, sigs[i]!)).toBe(true));
    expect(c.verify(keys[0]!.publicKey, msg, sigs[1]!)).toBe(false);
  });
});
