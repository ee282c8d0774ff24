/** Shared fixtures for the crypto tests: both providers, their raw GCM hooks, vector loading. */
import { readFileSync } from 'node:fs';
import * as nobleMod from '../../src/crypto/noble.js';
import * as nodeMod from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';

/** A provider under test with its raw AES-GCM hooks (any key size / IV length). */
export interface ProviderUnderTest {
  provider: CryptoProvider;
  aesGcmSealRaw: (key: Uint8Array, iv: Uint8Array, pt: Uint8Array, aad: Uint8Array) => Uint8Array;
  aesGcmOpenRaw: (key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array) => Uint8Array | null;
  /** Smallest GCM IV the implementation accepts, in bytes. */
  minGcmIvBytes: number;
  /** Largest GCM IV the implementation accepts, in bytes. */
  maxGcmIvBytes: number;
}

export const noble: ProviderUnderTest = {
  provider: nobleMod.createNobleProvider(),
  aesGcmSealRaw: nobleMod.aesGcmSealRaw,
  aesGcmOpenRaw: nobleMod.aesGcmOpenRaw,
  minGcmIvBytes: 8, // @noble/ciphers refuses GCM nonces under 8 bytes
  maxGcmIvBytes: Number.MAX_SAFE_INTEGER,
};

export const native: ProviderUnderTest = {
  provider: nodeMod.createNodeProvider(),
  aesGcmSealRaw: nodeMod.aesGcmSealRaw,
  aesGcmOpenRaw: nodeMod.aesGcmOpenRaw,
  minGcmIvBytes: 1,
  maxGcmIvBytes: 128, // OpenSSL 3 GCM_IV_MAX_SIZE (1024 bits)
};

/** Both providers, for `describe.each`. */
export const PROVIDERS: Array<[string, ProviderUnderTest]> = [
  ['noble', noble],
  ['native', native],
];

/** Loads a Wycheproof file copied into test/vectors/wycheproof. */
export function loadWycheproof<T>(file: string): { numberOfTests: number; testGroups: T[] } {
  const url = new URL(`../vectors/wycheproof/${file}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as { numberOfTests: number; testGroups: T[] };
}

/** P-256 group order. */
export const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** bigint → 32 big-endian bytes. */
export function be32(v: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(v.toString(16).padStart(64, '0'), 'hex'));
}

/** big-endian bytes → bigint. */
export function toBig(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex'));
}

/** A deterministic byte generator (xorshift32), for reproducible "random" inputs. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}
