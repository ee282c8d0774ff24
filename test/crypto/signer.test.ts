import { describe, expect, it } from 'vitest';
import { signatureFromDer, signatureToDer } from '../../src/crypto/der.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { CryptoError, UsageError } from '../../src/errors.js';
import { N, PROVIDERS, be32 } from './helpers.js';

describe.each(PROVIDERS)('createSoftwareSigner on %s', (_, { provider }) => {
  it('generates a key when none is given and signs verifiably', async () => {
    const signer = createSoftwareSigner(provider);
    expect(signer.publicKey.length).toBe(33);
    const msg = Uint8Array.of(1, 2, 3);
    const sig = await signer.sign(msg);
    expect(sig.length).toBe(64);
    for (const [, { provider: other }] of PROVIDERS) expect(other.verify(signer.publicKey, msg, sig)).toBe(true);
    expect(provider.publicKeyFromPrivate(signer.exportPrivateKey())).toEqual(signer.publicKey);
  });

  it('copies the given key: wiping the caller’s buffer or the export does not affect it', async () => {
    const key = be32(0x1234n);
    const signer = createSoftwareSigner(provider, key);
    expect(signer.publicKey).toEqual(provider.publicKeyFromPrivate(be32(0x1234n)));
    key.fill(0);
    signer.exportPrivateKey().fill(0);
    const msg = Uint8Array.of(9);
    expect(provider.verify(signer.publicKey, msg, await signer.sign(msg))).toBe(true);
    expect(signer.exportPrivateKey()).toEqual(be32(0x1234n));
  });

  it('refuses invalid keys with typed errors', () => {
    expect(() => createSoftwareSigner(provider, be32(0n))).toThrow(CryptoError);
    expect(() => createSoftwareSigner(provider, be32(N))).toThrow(CryptoError);
    expect(() => createSoftwareSigner(provider, new Uint8Array(31))).toThrow(CryptoError);
    expect(() => createSoftwareSigner(provider, 'key' as never)).toThrow(UsageError);
  });

  it('a keystore-style signer that returns DER is normalised with signatureFromDer', async () => {
    const software = createSoftwareSigner(provider);
    // Model of a Secure Enclave / Android Keystore wrapper: the platform returns DER.
    const keystore = {
      publicKey: software.publicKey,
      sign: async (m: Uint8Array) => signatureFromDer(signatureToDer(await software.sign(m))),
    };
    const msg = Uint8Array.of(7);
    expect(provider.verify(keystore.publicKey, msg, await keystore.sign(msg))).toBe(true);
  });
});
