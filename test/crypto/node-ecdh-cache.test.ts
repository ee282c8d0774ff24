import { describe, expect, it } from 'vitest';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createNobleProvider } from '../../src/crypto/noble.js';

describe('node provider: cached ECDH handles', () => {
  const node = createNodeProvider();
  const noble = createNobleProvider();

  it('a key pair from generateKeyPair agrees with noble, call after call', () => {
    const a = node.generateKeyPair();
    const peer = noble.generateKeyPair();
    const expected = noble.ecdh(peer.privateKey, a.publicKey);
    expect(node.ecdh(a.privateKey, peer.publicKey)).toEqual(expected);
    expect(node.ecdh(a.privateKey, peer.publicKey)).toEqual(expected);
  });

  it('a buffer changed after use never reaches the stale cached key', () => {
    const a = node.generateKeyPair();
    const b = noble.generateKeyPair();
    const peer = noble.generateKeyPair();
    node.ecdh(a.privateKey, peer.publicKey);
    a.privateKey.set(b.privateKey); // the caller reuses the buffer for another key
    expect(node.ecdh(a.privateKey, peer.publicKey)).toEqual(noble.ecdh(b.privateKey, peer.publicKey));
  });

  it('a wiped buffer is refused, not answered with the old key', () => {
    const a = node.generateKeyPair();
    const peer = noble.generateKeyPair();
    node.ecdh(a.privateKey, peer.publicKey);
    a.privateKey.fill(0);
    expect(() => node.ecdh(a.privateKey, peer.publicKey)).toThrow();
  });
});
