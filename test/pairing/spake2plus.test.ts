/**
 * SPAKE2+ (RFC 9383, P256-SHA256-HKDF-SHA256-HMAC-SHA256): the Appendix C vector with both
 * providers, full prover↔verifier runs, wrong codes, hostile shares, single-use states,
 * wiping, registration, and a property test (agreement iff the codes are equal).
 */
import { readFileSync } from 'node:fs';
import { p256 } from '@noble/curves/nist.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../src/crypto/bytes.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { AuthenticationError, CryptoError, DigitalKeyError, ProtocolError, UsageError } from '../../src/errors.js';
import {
  DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS,
  computeVerifier,
  createVerifierRecord,
  deriveSpake2PlusSecrets,
  proverFinish,
  proverStart,
  spake2PlusKeySchedule,
  spake2PlusTranscript,
  verifierFinish,
  verifierRespond,
  type ProverState,
  type Spake2PlusScryptParams,
  type VerifierState,
} from '../../src/pairing/spake2plus.js';
import {
  SPAKE2PLUS_CIPHERSUITE,
  SPAKE2PLUS_M_COMPRESSED_HEX,
  SPAKE2PLUS_M_HEX,
  SPAKE2PLUS_N_COMPRESSED_HEX,
  SPAKE2PLUS_N_HEX,
} from '../../src/pairing/spake2plus-constants.js';

interface Vector {
  ciphersuite: string;
  context: string;
  idProver: string;
  idVerifier: string;
  [field: string]: string;
}

const VECTOR = JSON.parse(
  readFileSync(new URL('../vectors/rfc9383-spake2plus-p256.json', import.meta.url), 'utf8'),
) as Vector;
const vx = (field: string): Uint8Array => fromHex(VECTOR[field]!);

/** Deterministic randomness (SHA-256 counter stream), so every run of the suite is identical. */
function seededRandom(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      const block = sha256(utf8(`${seed}/${counter++}`));
      out.set(block.subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

const PROVIDERS: Array<[string, () => CryptoProvider]> = [
  ['noble', () => createNobleProvider({ randomBytes: seededRandom('noble') })],
  ['node', () => createNodeProvider()],
];

/** Small scrypt cost for tests: the derivation logic is the same, only the cost differs. */
const FAST: Spake2PlusScryptParams = { N: 16, r: 1, p: 1 };
const SALT = fromHex('000102030405060708090a0b0c0d0e0f');
const CONTEXT = utf8('ble-digital-key pairing test');
const ID_P = utf8('phone');
const ID_V = utf8('vehicle');

const n = p256.Point.Fn.ORDER;
const scalarHex = (v: bigint): string => v.toString(16).padStart(64, '0');

/** Runs prover and verifier to the end, prover code `codeP`, verifier registered with `codeV`. */
function run(crypto: CryptoProvider, codeP: string, codeV: string, params = FAST) {
  const secrets = deriveSpake2PlusSecrets(crypto, utf8(codeP), SALT, ID_P, ID_V, params);
  const record = createVerifierRecord(crypto, utf8(codeV), SALT, ID_P, ID_V, params);
  const p = proverStart(crypto, { ...secrets, context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
  const v = verifierRespond(crypto, { ...record, context: CONTEXT, idProver: ID_P, idVerifier: ID_V }, p.shareP);
  return { secrets, record, p, v };
}

/** The confirmP a prover with secrets w0, w1 and scalar x computes (RFC 9383 §3.3-3.4), by hand. */
function confirmPByHand(
  crypto: CryptoProvider,
  secrets: { w0: Uint8Array; w1: Uint8Array },
  x: Uint8Array,
  shareP: Uint8Array,
  shareV: Uint8Array,
): Uint8Array {
  const g = crypto.group;
  const base = g.subMul(shareV, secrets.w0, fromHex(SPAKE2PLUS_N_HEX));
  const tt = spake2PlusTranscript({
    context: CONTEXT,
    idProver: ID_P,
    idVerifier: ID_V,
    shareP,
    shareV,
    Z: g.mul(x, base),
    V: g.mul(secrets.w1, base),
    w0: secrets.w0,
  });
  return spake2PlusKeySchedule(crypto, tt, shareP, shareV).confirmP;
}

function expectCode(fn: () => unknown, type: abstract new (...a: never[]) => DigitalKeyError, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as DigitalKeyError).code).toBe(code);
}

describe('SPAKE2+ constants (RFC 9383 §4)', () => {
  it('match the vector file and the ciphersuite', () => {
    expect(VECTOR.ciphersuite).toBe(SPAKE2PLUS_CIPHERSUITE);
    expect(SPAKE2PLUS_M_COMPRESSED_HEX).toBe(VECTOR.M);
    expect(SPAKE2PLUS_N_COMPRESSED_HEX).toBe(VECTOR.N);
  });

  it.each(PROVIDERS)('uncompressed M and N decompress from the RFC values (%s)', (_name, make) => {
    const crypto = make();
    expect(toHex(crypto.uncompressPublicKey(fromHex(SPAKE2PLUS_M_COMPRESSED_HEX)))).toBe(SPAKE2PLUS_M_HEX);
    expect(toHex(crypto.uncompressPublicKey(fromHex(SPAKE2PLUS_N_COMPRESSED_HEX)))).toBe(SPAKE2PLUS_N_HEX);
  });

  it('the default scrypt parameters are RFC 9383 §3.2 (N = 2^15, r = 8, p = 1)', () => {
    expect(DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS).toEqual({ N: 32768, r: 8, p: 1 });
    expect(Object.isFrozen(DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS)).toBe(true);
  });
});

describe('docs/PAIRING-SPAKE2PLUS.md', () => {
  it('the worked example matches the vector, and M, N match the constants', () => {
    const doc = readFileSync(new URL('../../docs/PAIRING-SPAKE2PLUS.md', import.meta.url), 'utf8');
    const block = doc.split('<!-- worked-example')[1]?.split('```')[1] ?? '';
    const values = new Map(
      [...block.matchAll(/^(\w+)\s*=\s*([0-9a-f]+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect([...values.keys()].sort()).toEqual(
      ['K_confirmP', 'K_confirmV', 'K_main', 'K_shared', 'L', 'V', 'Z', 'confirmP', 'confirmV', 'shareP', 'shareV', 'w0', 'w1', 'x', 'y'].sort(),
    );
    for (const [name, value] of values) expect(value, name).toBe(VECTOR[name]);
    const flat = doc.replace(/\s+/g, ' ');
    expect(flat).toContain(`M (compressed) = ${SPAKE2PLUS_M_COMPRESSED_HEX}`);
    expect(flat).toContain(`N (compressed) = ${SPAKE2PLUS_N_COMPRESSED_HEX}`);
    expect(flat).toContain(`M (uncompressed) = ${SPAKE2PLUS_M_HEX.slice(0, 66)} ${SPAKE2PLUS_M_HEX.slice(66)}`);
    expect(flat).toContain(`N (uncompressed) = ${SPAKE2PLUS_N_HEX.slice(0, 66)} ${SPAKE2PLUS_N_HEX.slice(66)}`);
  });
});

describe.each(PROVIDERS)('RFC 9383 Appendix C vector (%s)', (_name, make) => {
  const crypto = make();
  const context = utf8(VECTOR.context);
  const idProver = utf8(VECTOR.idProver);
  const idVerifier = utf8(VECTOR.idVerifier);

  it('L = w1·G', () => {
    const record = computeVerifier(crypto, vx('w0'), vx('w1'));
    expect(toHex(record.L)).toBe(VECTOR.L);
    expect(toHex(record.w0)).toBe(VECTOR.w0);
  });

  it('Z and V, from both sides, with the provider group', () => {
    const g = crypto.group;
    const N = fromHex(SPAKE2PLUS_N_HEX);
    const M = fromHex(SPAKE2PLUS_M_HEX);
    const proverBase = g.subMul(vx('shareV'), vx('w0'), N);
    expect(toHex(g.mul(vx('x'), proverBase))).toBe(VECTOR.Z);
    expect(toHex(g.mul(vx('w1'), proverBase))).toBe(VECTOR.V);
    expect(toHex(g.mul(vx('y'), g.subMul(vx('shareP'), vx('w0'), M)))).toBe(VECTOR.Z);
    expect(toHex(g.mul(vx('y'), vx('L')))).toBe(VECTOR.V);
  });

  it('TT, K_main, K_confirmP, K_confirmV, K_shared, confirmP, confirmV', () => {
    const tt = spake2PlusTranscript({
      context,
      idProver,
      idVerifier,
      shareP: vx('shareP'),
      shareV: vx('shareV'),
      Z: vx('Z'),
      V: vx('V'),
      w0: vx('w0'),
    });
    expect(toHex(tt)).toBe(VECTOR.TT);
    const k = spake2PlusKeySchedule(crypto, tt, vx('shareP'), vx('shareV'));
    expect(toHex(k.K_main)).toBe(VECTOR.K_main);
    expect(toHex(k.K_confirmP)).toBe(VECTOR.K_confirmP);
    expect(toHex(k.K_confirmV)).toBe(VECTOR.K_confirmV);
    expect(toHex(k.K_shared)).toBe(VECTOR.K_shared);
    expect(toHex(k.confirmP)).toBe(VECTOR.confirmP);
    expect(toHex(k.confirmV)).toBe(VECTOR.confirmV);
  });

  it('the state machines reproduce shareP, shareV, confirmV, confirmP and K_shared', () => {
    const p = proverStart(crypto, { w0: vx('w0'), w1: vx('w1'), context, idProver, idVerifier, x: vx('x') });
    expect(toHex(p.shareP)).toBe(VECTOR.shareP);
    const v = verifierRespond(
      crypto,
      { w0: vx('w0'), L: vx('L'), context, idProver, idVerifier, y: vx('y') },
      p.shareP,
    );
    expect(toHex(v.shareV)).toBe(VECTOR.shareV);
    expect(toHex(v.confirmV)).toBe(VECTOR.confirmV);
    const pf = proverFinish(p.state, v.shareV, v.confirmV);
    expect(toHex(pf.confirmP)).toBe(VECTOR.confirmP);
    expect(toHex(pf.sharedKey)).toBe(VECTOR.K_shared);
    const vf = verifierFinish(v.state, pf.confirmP);
    expect(toHex(vf.sharedKey)).toBe(VECTOR.K_shared);
    expect(p.state.phase).toBe('done');
    expect(v.state.phase).toBe('done');
  });

  it('accepts L in compressed form (records may store it so)', () => {
    const Lc = crypto.validatePublicKey(vx('L'));
    const v = verifierRespond(
      crypto,
      { w0: vx('w0'), L: Lc, context, idProver, idVerifier, y: vx('y') },
      vx('shareP'),
    );
    expect(toHex(v.confirmV)).toBe(VECTOR.confirmV);
  });
});

describe.each(PROVIDERS)('full runs (%s)', (_name, make) => {
  it('random scalars: both sides agree on a 32-byte sharedKey', () => {
    const crypto = make();
    const { p, v } = run(crypto, '482915', '482915');
    expect(p.shareP).toHaveLength(65);
    expect(v.shareV).toHaveLength(65);
    expect(v.confirmV).toHaveLength(32);
    const pf = proverFinish(p.state, v.shareV, v.confirmV);
    const vf = verifierFinish(v.state, pf.confirmP);
    expect(pf.sharedKey).toHaveLength(32);
    expect(toHex(vf.sharedKey)).toBe(toHex(pf.sharedKey));
  });

  it('two runs with the same code give different keys (fresh x, y)', () => {
    const crypto = make();
    const keys = [0, 1].map(() => {
      const { p, v } = run(crypto, '482915', '482915');
      return toHex(proverFinish(p.state, v.shareV, v.confirmV).sharedKey);
    });
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('a different context on each side fails confirmation', () => {
    const crypto = make();
    const secrets = deriveSpake2PlusSecrets(crypto, utf8('1234'), SALT, ID_P, ID_V, FAST);
    const record = computeVerifier(crypto, secrets.w0, secrets.w1);
    const p = proverStart(crypto, { ...secrets, context: utf8('v1'), idProver: ID_P, idVerifier: ID_V });
    const v = verifierRespond(crypto, { ...record, context: utf8('v2'), idProver: ID_P, idVerifier: ID_V }, p.shareP);
    expectCode(() => proverFinish(p.state, v.shareV, v.confirmV), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
  });

  it('the caller keeps its inputs: w0, w1 and a fixed x are copied, not wiped', () => {
    const crypto = make();
    const w0 = vx('w0');
    const w1 = vx('w1');
    const x = vx('x');
    const p = proverStart(crypto, { w0, w1, x, context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
    expectCode(() => proverFinish(p.state, vx('shareV'), new Uint8Array(32)), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
    expect(toHex(w0)).toBe(VECTOR.w0);
    expect(toHex(w1)).toBe(VECTOR.w1);
    expect(toHex(x)).toBe(VECTOR.x);
  });
});

describe('interoperability between providers', () => {
  it('noble prover ↔ node verifier, and node prover ↔ noble verifier', () => {
    const noble = createNobleProvider({ randomBytes: seededRandom('interop') });
    const node = createNodeProvider();
    for (const [prover, verifier] of [
      [noble, node],
      [node, noble],
    ] as const) {
      const secrets = deriveSpake2PlusSecrets(prover, utf8('0000'), SALT, ID_P, ID_V, FAST);
      const record = createVerifierRecord(verifier, utf8('0000'), SALT, ID_P, ID_V, FAST);
      const p = proverStart(prover, { ...secrets, context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
      const v = verifierRespond(verifier, { ...record, context: CONTEXT, idProver: ID_P, idVerifier: ID_V }, p.shareP);
      const pf = proverFinish(p.state, v.shareV, v.confirmV);
      expect(toHex(verifierFinish(v.state, pf.confirmP).sharedKey)).toBe(toHex(pf.sharedKey));
    }
  });
});

describe.each(PROVIDERS)('wrong code (%s)', (_name, make) => {
  it('the prover rejects confirmV and the verifier rejects what a wrong-code prover would send', () => {
    const crypto = make();
    const secrets = deriveSpake2PlusSecrets(crypto, utf8('111111'), SALT, ID_P, ID_V, FAST);
    const record = createVerifierRecord(crypto, utf8('222222'), SALT, ID_P, ID_V, FAST);
    const ids = { context: CONTEXT, idProver: ID_P, idVerifier: ID_V };
    const x = vx('x');
    const p = proverStart(crypto, { ...secrets, ...ids, x });
    const v = verifierRespond(crypto, { ...record, ...ids }, p.shareP);
    expectCode(() => proverFinish(p.state, v.shareV, v.confirmV), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');

    // proverFinish gives a wrong-code prover no confirmP. Compute by hand the one it would have
    // sent (RFC 9383 §3.3-3.4 with its x, w0, w1) and check the vehicle refuses it: no key.
    const wouldSend = confirmPByHand(crypto, secrets, x, p.shareP, v.shareV);
    expectCode(() => verifierFinish(v.state, wouldSend), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
    expect(v.state.phase).toBe('done');
  });

  it('the hand computation above is the real one: with the right code it is accepted', () => {
    const crypto = make();
    const secrets = deriveSpake2PlusSecrets(crypto, utf8('111111'), SALT, ID_P, ID_V, FAST);
    const record = computeVerifier(crypto, secrets.w0, secrets.w1);
    const ids = { context: CONTEXT, idProver: ID_P, idVerifier: ID_V };
    const x = vx('x');
    const p = proverStart(crypto, { ...secrets, ...ids, x });
    const v = verifierRespond(crypto, { ...record, ...ids }, p.shareP);
    const confirmP = confirmPByHand(crypto, secrets, x, p.shareP, v.shareV);
    expect(toHex(proverFinish(p.state, v.shareV, v.confirmV).confirmP)).toBe(toHex(confirmP));
    expect(verifierFinish(v.state, confirmP).sharedKey).toHaveLength(32);
  });

  it('a confirmation replayed from an earlier successful run is refused', () => {
    const crypto = make();
    const first = run(crypto, '999', '999');
    const { confirmP } = proverFinish(first.p.state, first.v.shareV, first.v.confirmV);
    verifierFinish(first.v.state, confirmP);
    const second = run(crypto, '999', '999');
    expectCode(() => verifierFinish(second.v.state, confirmP), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
    expectCode(
      () => proverFinish(second.p.state, second.v.shareV, first.v.confirmV),
      AuthenticationError,
      'SPAKE2_CONFIRMATION_FAILED',
    );
  });

  it('a confirmation with one flipped bit, the wrong length, or not bytes is refused', () => {
    const crypto = make();
    const bad = (c: Uint8Array): unknown[] => {
      const flipped = c.slice();
      flipped[31]! ^= 1;
      return [flipped, c.subarray(0, 31), new Uint8Array([...c, 0]), new Uint8Array(0), 'x', null, Array.from(c)];
    };
    const sample = run(crypto, '5', '5');
    const cases = bad(sample.v.confirmV);
    for (const confirmV of cases) {
      const { p, v } = run(crypto, '5', '5');
      expectCode(
        () => proverFinish(p.state, v.shareV, confirmV as Uint8Array),
        AuthenticationError,
        'SPAKE2_CONFIRMATION_FAILED',
      );
    }
    for (const mutate of [0, 1, 2, 3, 4, 5, 6]) {
      const { p, v } = run(crypto, '5', '5');
      const { confirmP } = proverFinish(p.state, v.shareV, v.confirmV);
      expectCode(
        () => verifierFinish(v.state, bad(confirmP)[mutate] as Uint8Array),
        AuthenticationError,
        'SPAKE2_CONFIRMATION_FAILED',
      );
    }
  });
});

/** Hostile shares: each must be refused with ProtocolError SPAKE2_INVALID_SHARE. */
function hostileShares(crypto: CryptoProvider, w0: Uint8Array): Array<[string, unknown]> {
  const M = fromHex(SPAKE2PLUS_M_HEX);
  const N = fromHex(SPAKE2PLUS_N_HEX);
  const G = crypto.group.mulAdd(fromHex(scalarHex(1n)));
  const offCurve = G.slice();
  offCurve[64]! ^= 1;
  const negate = (pt: Uint8Array): Uint8Array => {
    const P = p256.Point.fromBytes(pt);
    return P.negate().toBytes(false);
  };
  const xTooBig = new Uint8Array(65).fill(0xff);
  xTooBig[0] = 0x04;
  const hybrid = G.slice();
  hybrid[0] = 0x06 | (G[64]! & 1); // SEC1 "hybrid" encoding: valid point, refused framing
  return [
    ['SEC1 identity (single 0x00)', Uint8Array.of(0)],
    ['65 zero bytes', new Uint8Array(65)],
    ['0x04 then zeros', Uint8Array.from([4, ...new Uint8Array(64)])],
    ['off-curve point', offCurve],
    ['x coordinate ≥ p', xTooBig],
    ['empty', new Uint8Array(0)],
    ['64 bytes (no prefix)', G.subarray(1)],
    ['66 bytes (trailing byte)', Uint8Array.from([...G, 0])],
    ['33-byte compressed form of a valid point', crypto.validatePublicKey(G)],
    ['hybrid encoding', hybrid],
    ['M itself', M],
    ['N itself', N],
    ['-M', negate(M)],
    ['-N', negate(N)],
    ['w0·M (unblinds to the identity for the verifier)', crypto.group.mul(w0, M)],
    ['w0·N (unblinds to the identity for the prover)', crypto.group.mul(w0, N)],
    ['a string', VECTOR.shareP],
    ['null', null],
    ['undefined', undefined],
    ['a number array', Array.from(vx('shareP'))],
  ];
}

describe.each(PROVIDERS)('hostile shares (%s)', (_name, make) => {
  const crypto = make();
  const w0 = vx('w0');
  const ids = { context: CONTEXT, idProver: ID_P, idVerifier: ID_V };
  const cases = hostileShares(crypto, w0);

  it.each(cases.filter(([label]) => !label.includes('w0·N')))('verifier refuses shareP: %s', (_label, share) => {
    expectCode(
      () => verifierRespond(crypto, { w0, L: vx('L'), ...ids }, share as Uint8Array),
      ProtocolError,
      'SPAKE2_INVALID_SHARE',
    );
  });

  it.each(cases.filter(([label]) => !label.includes('w0·M')))('prover refuses shareV: %s', (_label, share) => {
    const p = proverStart(crypto, { w0, w1: vx('w1'), ...ids });
    expectCode(() => proverFinish(p.state, share as Uint8Array, vx('confirmV')), ProtocolError, 'SPAKE2_INVALID_SHARE');
    // The failure consumed the state: no second guess in the same run.
    expectCode(() => proverFinish(p.state, vx('shareV'), vx('confirmV')), UsageError, 'SPAKE2_STATE_USED');
  });

  it('prover refuses its own shareP reflected back as shareV', () => {
    const p = proverStart(crypto, { w0, w1: vx('w1'), ...ids });
    expectCode(() => proverFinish(p.state, p.shareP, vx('confirmV')), ProtocolError, 'SPAKE2_INVALID_SHARE');
  });

  it('w0·M and w0·N are refused only by the side they degenerate for, the other fails confirmation', () => {
    // w0·N as shareP: X − w0·M is not the identity, so the run goes on and the MAC check fails.
    const v = verifierRespond(crypto, { w0, L: vx('L'), ...ids }, crypto.group.mul(w0, fromHex(SPAKE2PLUS_N_HEX)));
    expectCode(() => verifierFinish(v.state, vx('confirmP')), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
  });
});

describe.each(PROVIDERS)('single-use states and caller errors (%s)', (_name, make) => {
  const crypto = make();
  const ids = { context: CONTEXT, idProver: ID_P, idVerifier: ID_V };

  it('a prover state cannot finish twice, even after success', () => {
    const { p, v } = run(crypto, '42', '42');
    proverFinish(p.state, v.shareV, v.confirmV);
    expectCode(() => proverFinish(p.state, v.shareV, v.confirmV), UsageError, 'SPAKE2_STATE_USED');
  });

  it('a verifier state cannot finish twice, after success or after failure', () => {
    const ok = run(crypto, '42', '42');
    const { confirmP } = proverFinish(ok.p.state, ok.v.shareV, ok.v.confirmV);
    verifierFinish(ok.v.state, confirmP);
    expectCode(() => verifierFinish(ok.v.state, confirmP), UsageError, 'SPAKE2_STATE_USED');

    const bad = run(crypto, '42', '42');
    expectCode(() => verifierFinish(bad.v.state, new Uint8Array(32)), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
    // The right confirmP no longer helps: one run, one guess.
    const { confirmP: right } = proverFinish(bad.p.state, bad.v.shareV, bad.v.confirmV);
    expectCode(() => verifierFinish(bad.v.state, right), UsageError, 'SPAKE2_STATE_USED');
  });

  it('forged or cross-role states are refused', () => {
    const forgedP = { role: 'prover', phase: 'awaiting-verifier' } as ProverState;
    const forgedV = { role: 'verifier', phase: 'awaiting-confirmation' } as VerifierState;
    expectCode(() => proverFinish(forgedP, vx('shareV'), vx('confirmV')), UsageError, 'SPAKE2_STATE_USED');
    expectCode(() => verifierFinish(forgedV, vx('confirmP')), UsageError, 'SPAKE2_STATE_USED');
    const { p, v } = run(crypto, '42', '42');
    expectCode(() => verifierFinish(p.state as unknown as VerifierState, vx('confirmP')), UsageError, 'SPAKE2_STATE_USED');
    expectCode(() => proverFinish(v.state as unknown as ProverState, v.shareV, v.confirmV), UsageError, 'SPAKE2_STATE_USED');
    expectCode(() => proverFinish(null as unknown as ProverState, v.shareV, v.confirmV), UsageError, 'SPAKE2_STATE_USED');
  });

  it('the state object carries no secrets (safe to log)', () => {
    const { p, v } = run(crypto, '42', '42');
    expect(JSON.parse(JSON.stringify(p.state))).toEqual({ role: 'prover', phase: 'awaiting-verifier' });
    expect(JSON.parse(JSON.stringify(v.state))).toEqual({ role: 'verifier', phase: 'awaiting-confirmation' });
  });

  it('invalid local key material: UsageError for shape, CryptoError for range', () => {
    const zero = new Uint8Array(32);
    const order = fromHex(scalarHex(n));
    const orderPlus1 = fromHex(scalarHex(n + 1n));
    const base = { w0: vx('w0'), w1: vx('w1'), ...ids };
    expectCode(() => proverStart(crypto, { ...base, w0: vx('w0').subarray(1) }), UsageError, 'INVALID_ARGUMENT');
    expectCode(() => proverStart(crypto, { ...base, w1: 'abc' as unknown as Uint8Array }), UsageError, 'INVALID_ARGUMENT');
    expectCode(() => proverStart(crypto, { ...base, context: 'ctx' as unknown as Uint8Array }), UsageError, 'INVALID_ARGUMENT');
    for (const bad of [zero, order, orderPlus1]) {
      expectCode(() => proverStart(crypto, { ...base, w0: bad }), CryptoError, 'SPAKE2_INVALID_KEY_MATERIAL');
      expectCode(() => proverStart(crypto, { ...base, x: bad }), CryptoError, 'SPAKE2_INVALID_KEY_MATERIAL');
      expectCode(() => computeVerifier(crypto, vx('w0'), bad), CryptoError, 'SPAKE2_INVALID_KEY_MATERIAL');
      expectCode(
        () => verifierRespond(crypto, { w0: vx('w0'), L: vx('L'), ...ids, y: bad }, vx('shareP')),
        CryptoError,
        'SPAKE2_INVALID_KEY_MATERIAL',
      );
    }
    const badL = vx('L');
    badL[64]! ^= 1;
    for (const L of [badL, new Uint8Array(65), Uint8Array.of(0)]) {
      expectCode(
        () => verifierRespond(crypto, { w0: vx('w0'), L, ...ids }, vx('shareP')),
        CryptoError,
        'SPAKE2_INVALID_KEY_MATERIAL',
      );
    }
  });
});

describe('ephemeral secrets are wiped', () => {
  /** Wraps the noble provider and keeps every buffer that carries a secret into it. */
  function spyProvider(): { crypto: CryptoProvider; seen: Uint8Array[] } {
    const inner = createNobleProvider({ randomBytes: seededRandom('spy') });
    const seen: Uint8Array[] = [];
    const group = inner.group;
    const crypto: CryptoProvider = {
      ...inner,
      randomBytes: (len) => {
        const out = inner.randomBytes(len);
        seen.push(out); // the seed of x or y
        return out;
      },
      sha256: (data) => {
        seen.push(data); // TT
        const out = inner.sha256(data);
        seen.push(out); // K_main
        return out;
      },
      hkdfSha256: (ikm, salt, info, length) => {
        const out = inner.hkdfSha256(ikm, salt, info, length);
        seen.push(out); // K_confirmP ‖ K_confirmV, K_shared (we return a copy of it)
        return out;
      },
      hmacSha256: (key, data) => {
        seen.push(key); // K_confirmP, K_confirmV
        return inner.hmacSha256(key, data);
      },
      group: {
        order: group.order,
        reduceScalar: (b) => {
          const out = group.reduceScalar(b);
          seen.push(out); // x or y
          return out;
        },
        mulAdd: (a, b, pt) => group.mulAdd(a, b, pt),
        mul: (k, pt) => {
          const out = group.mul(k, pt);
          seen.push(k, pt, out); // x, y, w1 (our copies); Y − w0·N, X − w0·M; Z, V
          return out;
        },
        subMul: (pt, k, q) => {
          seen.push(k); // w0 copy (prover) – the verifier passes the caller's w0, excluded below
          return group.subMul(pt, k, q);
        },
        isValidPoint: (pt) => group.isValidPoint(pt),
      },
    };
    return { crypto, seen };
  }

  const allZero = (b: Uint8Array): boolean => b.every((v) => v === 0);

  it('prover: x, w0/w1 copies, Z, V, TT, K_main and confirmation keys are zero after finish', () => {
    const { crypto, seen } = spyProvider();
    const record = computeVerifier(crypto, vx('w0'), vx('w1'));
    const callerL = record.L;
    const p = proverStart(crypto, { w0: vx('w0'), w1: vx('w1'), context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
    const v = verifierRespond(
      crypto,
      { ...record, context: CONTEXT, idProver: ID_P, idVerifier: ID_V },
      p.shareP,
    );
    seen.length = 0; // only what proverFinish touches
    const { sharedKey } = proverFinish(p.state, v.shareV, v.confirmV);
    expect(seen.length).toBeGreaterThan(8);
    expect(seen.filter((b) => !allZero(b))).toEqual([]);
    expect(allZero(sharedKey)).toBe(false);
    expect(allZero(callerL)).toBe(false);
  });

  it('verifier: y, its seed, Z, V, TT, K_main, the keys and K_shared are zero after finish', () => {
    const { crypto, seen } = spyProvider();
    const w0 = vx('w0');
    const L = vx('L');
    const p = proverStart(crypto, { w0: vx('w0'), w1: vx('w1'), context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
    seen.length = 0; // what verifierRespond, proverFinish and verifierFinish touch
    const v = verifierRespond(crypto, { w0, L, context: CONTEXT, idProver: ID_P, idVerifier: ID_V }, p.shareP);
    const { confirmP } = proverFinish(p.state, v.shareV, v.confirmV);
    const { sharedKey } = verifierFinish(v.state, confirmP);
    // The caller's own w0 and L are not ours to wipe.
    const ours = seen.filter((b) => b !== w0 && b !== L);
    expect(ours.length).toBeGreaterThan(16);
    expect(ours.filter((b) => !allZero(b))).toEqual([]);
    expect(toHex(w0)).toBe(VECTOR.w0);
    expect(toHex(L)).toBe(VECTOR.L);
    expect(allZero(sharedKey)).toBe(false);
  });

  it('verifier: a failed confirmation wipes K_shared too', () => {
    const { crypto, seen } = spyProvider();
    const record = computeVerifier(crypto, vx('w0'), vx('w1'));
    const p = proverStart(crypto, { w0: vx('w0'), w1: vx('w1'), context: CONTEXT, idProver: ID_P, idVerifier: ID_V });
    seen.length = 0;
    const v = verifierRespond(crypto, { ...record, context: CONTEXT, idProver: ID_P, idVerifier: ID_V }, p.shareP);
    expect(seen.some((b) => !allZero(b))).toBe(true); // K_shared is held by the state
    expectCode(() => verifierFinish(v.state, new Uint8Array(32)), AuthenticationError, 'SPAKE2_CONFIRMATION_FAILED');
    expect(seen.filter((b) => b !== record.w0 && b !== record.L && !allZero(b))).toEqual([]);
  });
});

describe('registration: deriveSpake2PlusSecrets (RFC 9383 §3.2)', () => {
  const crypto = createNobleProvider();

  /** Independent reference: noble scrypt and bigint reduction, no code under test. */
  function reference(code: Uint8Array, idP: Uint8Array, idV: Uint8Array, params: Spake2PlusScryptParams) {
    const le = (len: number): number[] => {
      const b = new Array<number>(8).fill(0);
      for (let i = 0, v = len; i < 8; i++, v = Math.floor(v / 256)) b[i] = v % 256;
      return b;
    };
    const input = Uint8Array.from([...le(code.length), ...code, ...le(idP.length), ...idP, ...le(idV.length), ...idV]);
    const ws = scrypt(input, SALT, { ...params, dkLen: 80 });
    const toBig = (b: Uint8Array): bigint => BigInt(`0x${toHex(b)}`);
    return {
      w0: scalarHex(toBig(ws.subarray(0, 40)) % n),
      w1: scalarHex(toBig(ws.subarray(40, 80)) % n),
    };
  }

  it('matches an independent scrypt + mod n computation', () => {
    const s = deriveSpake2PlusSecrets(crypto, utf8('123456'), SALT, ID_P, ID_V, FAST);
    expect({ w0: toHex(s.w0), w1: toHex(s.w1) }).toEqual(reference(utf8('123456'), ID_P, ID_V, FAST));
  });

  it('empty identities are length 0 (RFC 9383 §3.2)', () => {
    const empty = new Uint8Array(0);
    const s = deriveSpake2PlusSecrets(crypto, utf8('123456'), SALT, empty, empty, FAST);
    expect({ w0: toHex(s.w0), w1: toHex(s.w1) }).toEqual(reference(utf8('123456'), empty, empty, FAST));
  });

  it('the length prefixes separate code and identities', () => {
    // Same concatenated bytes "12" + "3phone" vs "123" + "phone": different secrets.
    const a = deriveSpake2PlusSecrets(crypto, utf8('12'), SALT, utf8('3phone'), ID_V, FAST);
    const b = deriveSpake2PlusSecrets(crypto, utf8('123'), SALT, utf8('phone'), ID_V, FAST);
    expect(toHex(a.w0)).not.toBe(toHex(b.w0));
  });

  it('code, salt, each identity and each parameter change the secrets', () => {
    const base = toHex(deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, FAST).w0);
    const variants = [
      deriveSpake2PlusSecrets(crypto, utf8('2'), SALT, ID_P, ID_V, FAST),
      deriveSpake2PlusSecrets(crypto, utf8('1'), new Uint8Array(16), ID_P, ID_V, FAST),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, utf8('phone2'), ID_V, FAST),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, utf8('vehicle2'), FAST),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_V, ID_P, FAST),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { ...FAST, N: 32 }),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { ...FAST, r: 2 }),
      deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { ...FAST, p: 2 }),
    ].map((s) => toHex(s.w0));
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1);
  });

  it('createVerifierRecord = computeVerifier(derive(...)) with the same provider or the other', () => {
    const s = deriveSpake2PlusSecrets(crypto, utf8('777'), SALT, ID_P, ID_V, FAST);
    const expected = computeVerifier(crypto, s.w0, s.w1);
    for (const c of [crypto, createNodeProvider()]) {
      const record = createVerifierRecord(c, utf8('777'), SALT, ID_P, ID_V, FAST);
      expect(toHex(record.w0)).toBe(toHex(expected.w0));
      expect(toHex(record.L)).toBe(toHex(expected.L));
    }
  });

  it('both providers derive the same secrets with the default parameters (32 MiB)', () => {
    const a = deriveSpake2PlusSecrets(crypto, utf8('482915'), SALT, ID_P, ID_V);
    const b = deriveSpake2PlusSecrets(createNodeProvider(), utf8('482915'), SALT, ID_P, ID_V, DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS);
    expect(toHex(a.w0)).toBe(toHex(b.w0));
    expect(toHex(a.w1)).toBe(toHex(b.w1));
  });

  it.each<[string, () => unknown]>([
    ['empty code', () => deriveSpake2PlusSecrets(crypto, new Uint8Array(0), SALT, ID_P, ID_V, FAST)],
    ['code not bytes', () => deriveSpake2PlusSecrets(crypto, '123' as unknown as Uint8Array, SALT, ID_P, ID_V, FAST)],
    ['salt of 15 bytes', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT.subarray(1), ID_P, ID_V, FAST)],
    ['idVerifier not bytes', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, null as unknown as Uint8Array, FAST)],
    ['N not a power of two', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 1000, r: 1, p: 1 })],
    ['N = 1', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 1, r: 1, p: 1 })],
    ['r = 0', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 16, r: 0, p: 1 })],
    ['p = 17', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 16, r: 1, p: 17 })],
    ['p fractional', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 16, r: 1, p: 1.5 })],
    ['memory 512 MiB (N = 2^19, r = 8)', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, { N: 2 ** 19, r: 8, p: 1 })],
    ['params null', () => deriveSpake2PlusSecrets(crypto, utf8('1'), SALT, ID_P, ID_V, null as unknown as Spake2PlusScryptParams)],
  ])('refuses %s with UsageError', (_label, fn) => {
    expectCode(fn, UsageError, 'INVALID_ARGUMENT');
  });
});

describe('property: agreement iff the codes are equal', () => {
  it.each(PROVIDERS)('%s', (_name, make) => {
    const crypto = make();
    const code = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(code, code, fc.boolean(), (a, b, same) => {
        const codeV = same ? a : b;
        const { p, v } = run(crypto, a, codeV, { N: 2, r: 1, p: 1 });
        if (a === codeV) {
          const pf = proverFinish(p.state, v.shareV, v.confirmV);
          expect(toHex(verifierFinish(v.state, pf.confirmP).sharedKey)).toBe(toHex(pf.sharedKey));
        } else {
          expect(() => proverFinish(p.state, v.shareV, v.confirmV)).toThrow(AuthenticationError);
          expect(() => verifierFinish(v.state, new Uint8Array(32))).toThrow(AuthenticationError);
        }
      }),
      { seed: 9383, numRuns: 40 },
    );
  });
});
