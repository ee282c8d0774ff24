/**
 * A CryptoProvider wrapper that adds up the time spent inside each primitive. The bench uses it
 * to validate the Link-window method (docs/BENCHMARKS.md §Validation): the crypto time that
 * falls inside a side's windows must be most of that window, and the rest — CBOR, store,
 * audit, promise hops — must be small and stable.
 */
import type { CryptoProvider } from '../../src/crypto/provider.js';

/** Methods whose time is counted. `group` and `name` pass through untouched. */
const TIMED = [
  'randomBytes',
  'generateKeyPair',
  'publicKeyFromPrivate',
  'validatePublicKey',
  'uncompressPublicKey',
  'ecdh',
  'sign',
  'verify',
  'sha256',
  'hmacSha256',
  'hkdfSha256',
  'aeadSeal',
  'aeadOpen',
  'scrypt',
] as const;

/** A provider and its running totals. */
export interface TimedCrypto {
  readonly crypto: CryptoProvider;
  /** Total ms spent in the provider so far. */
  totalMs(): number;
  /** Calls and ms per method so far. */
  readonly perMethod: Record<string, { calls: number; ms: number }>;
}

/** Wraps `inner` so every call is timed with performance.now(). */
export function timeCrypto(inner: CryptoProvider): TimedCrypto {
  let total = 0;
  const perMethod: Record<string, { calls: number; ms: number }> = {};
  const wrapped: Record<string, unknown> = { name: inner.name, group: inner.group };
  for (const method of TIMED) {
    const fn = (inner[method] as (...args: unknown[]) => unknown).bind(inner);
    const slot = (perMethod[method] = { calls: 0, ms: 0 });
    wrapped[method] = (...args: unknown[]) => {
      const t0 = performance.now();
      try {
        return fn(...args);
      } finally {
        const dt = performance.now() - t0;
        total += dt;
        slot.calls += 1;
        slot.ms += dt;
      }
    };
  }
  return { crypto: Object.freeze(wrapped) as unknown as CryptoProvider, totalMs: () => total, perMethod };
}
