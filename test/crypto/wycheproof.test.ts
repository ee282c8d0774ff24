/**
 * Project Wycheproof vectors (C2SP/wycheproof testvectors_v1, test/vectors/wycheproof/SOURCE.txt)
 * run against both providers. Every "valid" vector must be accepted and every "invalid" one
 * rejected. The only "acceptable" vector in these files is ECDH tcId 2 (a compressed public key):
 * the provider contract accepts compressed keys, so we treat it as valid and check the secret.
 */
import { describe, expect, it } from 'vitest';
import { fromHex, equalBytes, toHex } from '../../src/crypto/bytes.js';
import { signatureFromDer } from '../../src/crypto/der.js';
import { CryptoError, UsageError } from '../../src/errors.js';
import { PROVIDERS, be32, loadWycheproof } from './helpers.js';

interface Test {
  tcId: number;
  result: 'valid' | 'invalid' | 'acceptable';
  flags: string[];
  comment: string;
}
interface EcdsaGroup {
  publicKey: { uncompressed: string };
  sha: string;
  tests: Array<Test & { msg: string; sig: string }>;
}
interface EcdhGroup {
  curve: string;
  tests: Array<Test & { public: string; private: string; shared: string }>;
}
interface HkdfGroup {
  tests: Array<Test & { ikm: string; salt: string; info: string; size: number; okm: string }>;
}
interface MacGroup {
  tagSize: number;
  tests: Array<Test & { key: string; msg: string; tag: string }>;
}
interface AeadGroup {
  ivSize: number;
  keySize: number;
  tagSize: number;
  tests: Array<Test & { key: string; iv: string; aad: string; msg: string; ct: string; tag: string }>;
}

/** Wycheproof private keys are signed big-endian integers (may carry a 00 byte or be short). */
function privateScalar(hex: string): Uint8Array {
  return be32(BigInt('0x' + (hex || '0')));
}

function tally(): { accepted: number; rejected: number; failures: string[] } {
  return { accepted: 0, rejected: 0, failures: [] };
}

describe.each(PROVIDERS)('Wycheproof on the %s provider', (name, { provider, aesGcmSealRaw, aesGcmOpenRaw, minGcmIvBytes, maxGcmIvBytes }) => {
  it('ecdsa_secp256r1_sha256_p1363_test.json: r‖s verify, uncompressed and compressed keys', () => {
    const file = loadWycheproof<EcdsaGroup>('ecdsa_secp256r1_sha256_p1363_test.json');
    const t = tally();
    let count = 0;
    for (const group of file.testGroups) {
      expect(group.sha).toBe('SHA-256');
      const uncompressed = fromHex(group.publicKey.uncompressed);
      const compressed = provider.validatePublicKey(uncompressed);
      for (const v of group.tests) {
        count++;
        const msg = fromHex(v.msg);
        const sig = fromHex(v.sig);
        const ok = provider.verify(uncompressed, msg, sig);
        if (provider.verify(compressed, msg, sig) !== ok) t.failures.push(`${v.tcId}: key forms disagree`);
        if (ok !== (v.result === 'valid')) t.failures.push(`${v.tcId} (${v.result}, ${v.comment}): got ${ok}`);
        ok ? t.accepted++ : t.rejected++;
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    console.log(`[${name}] ECDSA P1363: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected`);
  });

  it('ecdsa_secp256r1_sha256_test.json: DER through signatureFromDer, then verify', () => {
    const file = loadWycheproof<EcdsaGroup>('ecdsa_secp256r1_sha256_test.json');
    const t = tally();
    let derRejected = 0;
    let count = 0;
    for (const group of file.testGroups) {
      const key = fromHex(group.publicKey.uncompressed);
      for (const v of group.tests) {
        count++;
        let ok: boolean;
        try {
          ok = provider.verify(key, fromHex(v.msg), signatureFromDer(fromHex(v.sig)));
        } catch (err) {
          // A DER parse failure counts as rejected, but it must be the typed DER error.
          expect(err).toBeInstanceOf(CryptoError);
          expect((err as CryptoError).code).toBe('INVALID_SIGNATURE_DER');
          derRejected++;
          ok = false;
        }
        if (ok !== (v.result === 'valid')) t.failures.push(`${v.tcId} (${v.result}, ${v.comment}): got ${ok}`);
        ok ? t.accepted++ : t.rejected++;
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    console.log(
      `[${name}] ECDSA DER: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected (${derRejected} by strict DER)`,
    );
  });

  it('ecdh_secp256r1_ecpoint_test.json: shared x, invalid points refused with INVALID_PUBLIC_KEY', () => {
    const file = loadWycheproof<EcdhGroup>('ecdh_secp256r1_ecpoint_test.json');
    const t = tally();
    let count = 0;
    for (const group of file.testGroups) {
      expect(group.curve).toBe('secp256r1');
      for (const v of group.tests) {
        count++;
        let shared: Uint8Array | null = null;
        try {
          shared = provider.ecdh(privateScalar(v.private), fromHex(v.public));
        } catch (err) {
          expect(err).toBeInstanceOf(CryptoError);
          expect((err as CryptoError).code).toBe('INVALID_PUBLIC_KEY');
        }
        // "acceptable" here is only tcId 2, a compressed point: accepted by contract.
        const shouldAccept = v.result !== 'invalid';
        if (shouldAccept && (shared === null || toHex(shared) !== v.shared)) {
          t.failures.push(`${v.tcId} (${v.result}, ${v.comment}): got ${shared && toHex(shared)}`);
        }
        if (!shouldAccept && shared !== null) t.failures.push(`${v.tcId} (invalid, ${v.comment}): accepted`);
        shared ? t.accepted++ : t.rejected++;
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    console.log(`[${name}] ECDH: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected`);
  });

  it('hkdf_sha256_test.json: okm matches; oversize output refused', () => {
    const file = loadWycheproof<HkdfGroup>('hkdf_sha256_test.json');
    const t = tally();
    let count = 0;
    for (const group of file.testGroups) {
      for (const v of group.tests) {
        count++;
        let okm: Uint8Array | null = null;
        try {
          okm = provider.hkdfSha256(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.size);
        } catch (err) {
          expect(err).toBeInstanceOf(UsageError);
        }
        const ok = okm !== null && toHex(okm) === v.okm;
        if (ok !== (v.result === 'valid')) t.failures.push(`${v.tcId} (${v.result}, ${v.comment})`);
        ok ? t.accepted++ : t.rejected++;
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    console.log(`[${name}] HKDF: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected`);
  });

  it('hmac_sha256_test.json: tag (truncated to the group tagSize) matches', () => {
    const file = loadWycheproof<MacGroup>('hmac_sha256_test.json');
    const t = tally();
    let count = 0;
    for (const group of file.testGroups) {
      for (const v of group.tests) {
        count++;
        const full = provider.hmacSha256(fromHex(v.key), fromHex(v.msg));
        expect(full.length).toBe(32);
        const ok = equalBytes(full.subarray(0, group.tagSize / 8), fromHex(v.tag));
        if (ok !== (v.result === 'valid')) t.failures.push(`${v.tcId} (${v.result}, ${v.comment})`);
        ok ? t.accepted++ : t.rejected++;
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    console.log(`[${name}] HMAC: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected`);
  });

  it('aes_gcm_test.json: raw seal/open on every key and IV size; aeadSeal/aeadOpen on 256/96', () => {
    const file = loadWycheproof<AeadGroup>('aes_gcm_test.json');
    const t = tally();
    let count = 0;
    let viaContract = 0;
    let skipped = 0;
    for (const group of file.testGroups) {
      expect(group.tagSize).toBe(128);
      for (const v of group.tests) {
        count++;
        const [key, iv, aad, msg] = [fromHex(v.key), fromHex(v.iv), fromHex(v.aad), fromHex(v.msg)];
        const sealed = fromHex(v.ct + v.tag);
        if (iv.length < minGcmIvBytes || iv.length > maxGcmIvBytes) {
          // Documented skips (noble: IV < 8 bytes; OpenSSL: IV > 128 bytes). The refusal must
          // still be a typed error on seal and null on open.
          expect(() => aesGcmSealRaw(key, iv, msg, aad)).toThrow(CryptoError);
          expect(aesGcmOpenRaw(key, iv, sealed, aad)).toBeNull();
          if (v.result === 'valid') skipped++;
          else t.rejected++;
          continue;
        }
        const opened = aesGcmOpenRaw(key, iv, sealed, aad);
        let resealed: Uint8Array | null = null;
        try {
          resealed = aesGcmSealRaw(key, iv, msg, aad);
        } catch (err) {
          expect(err).toBeInstanceOf(CryptoError);
        }
        const ok = opened !== null && equalBytes(opened, msg) && resealed !== null && equalBytes(resealed, sealed);
        if (ok !== (v.result === 'valid')) t.failures.push(`${v.tcId} (${v.result}, ${v.comment}, iv ${iv.length})`);
        if (v.result === 'invalid' && opened !== null) t.failures.push(`${v.tcId}: invalid vector opened`);
        ok ? t.accepted++ : t.rejected++;
        if (key.length === 32 && iv.length === 12) {
          viaContract++;
          const o = provider.aeadOpen(key, iv, sealed, aad);
          if ((o !== null && equalBytes(o, msg)) !== (v.result === 'valid')) t.failures.push(`${v.tcId}: aeadOpen`);
          if (v.result === 'valid' && !equalBytes(provider.aeadSeal(key, iv, msg, aad), sealed)) {
            t.failures.push(`${v.tcId}: aeadSeal`);
          }
        }
      }
    }
    expect(count).toBe(file.numberOfTests);
    expect(t.failures).toEqual([]);
    // noble skips the 1-, 2-, 4- and 6-byte IV vectors (2 per key and IV size: 24);
    // OpenSSL skips the three 257-byte IV vectors (one per key size).
    expect(skipped).toBe(name === 'noble' ? 24 : 3);
    console.log(
      `[${name}] AES-GCM: ${count} vectors, ${t.accepted} accepted, ${t.rejected} rejected, ${skipped} valid skipped (IV length unsupported), ${viaContract} also through aeadSeal/aeadOpen`,
    );
  });
});
