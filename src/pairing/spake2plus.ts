/**
 * SPAKE2+ (RFC 9383), ciphersuite P256-SHA256-HKDF-SHA256-HMAC-SHA256: the augmented PAKE
 * that pairs an owner's phone (the prover, who knows the pairing code) with the vehicle (the
 * verifier, which stores only the record w0, L = w1·G and so cannot be mined for the code
 * without an offline dictionary attack through scrypt).
 *
 * Pure and synchronous: every crypto call goes through the injected {@link CryptoProvider}.
 * The two roles are explicit single-use state machines, one create/consume function per
 * message (RFC 9383 §3.1 trace):
 *
 *     prover (phone)                                  verifier (vehicle)
 *     proverStart      ── shareP ──────────────────▶  verifierRespond
 *     proverFinish     ◀── shareV, confirmV ───────
 *                      ── confirmP ────────────────▶  verifierFinish
 *
 * A state's secrets live in a module-private WeakMap, never on the state object, so logging
 * or serialising a state cannot leak them. Every failure consumes the state and wipes them:
 * one run, one guess (RFC 9383 §3.1: both sides MUST NOT consider the run complete before
 * the confirmations verify). docs/PAIRING-SPAKE2PLUS.md is the written spec of this file.
 */
import { AuthenticationError, CryptoError, ProtocolError, UsageError } from '../errors.js';
import { wipe, type CryptoProvider } from '../crypto/provider.js';
import { assertBytes, concatBytes, equalBytes, fromHex, utf8 } from '../crypto/bytes.js';
import {
  SPAKE2PLUS_CONFIRMATION_KEYS_BYTES,
  SPAKE2PLUS_CONFIRMATION_KEYS_INFO,
  SPAKE2PLUS_EPHEMERAL_RANDOM_BYTES,
  SPAKE2PLUS_HASH_BYTES,
  SPAKE2PLUS_LENGTH_PREFIX_BYTES,
  SPAKE2PLUS_M_HEX,
  SPAKE2PLUS_MIN_SALT_BYTES,
  SPAKE2PLUS_N_HEX,
  SPAKE2PLUS_POINT_BYTES,
  SPAKE2PLUS_POINT_PREFIX_UNCOMPRESSED,
  SPAKE2PLUS_SCALAR_BYTES,
  SPAKE2PLUS_SCRYPT_DEFAULT_N,
  SPAKE2PLUS_SCRYPT_DEFAULT_P,
  SPAKE2PLUS_SCRYPT_DEFAULT_R,
  SPAKE2PLUS_SCRYPT_MAX_MEMORY_BYTES,
  SPAKE2PLUS_SCRYPT_MAX_P,
  SPAKE2PLUS_SCRYPT_OUTPUT_BYTES,
  SPAKE2PLUS_SHARED_KEY_INFO,
  SPAKE2PLUS_WS_BYTES,
} from './spake2plus-constants.js';

// Error codes (stable).
const INVALID_SHARE = 'SPAKE2_INVALID_SHARE';
const CONFIRMATION_FAILED = 'SPAKE2_CONFIRMATION_FAILED';
const STATE_USED = 'SPAKE2_STATE_USED';
const INVALID_KEY_MATERIAL = 'SPAKE2_INVALID_KEY_MATERIAL';
const INVALID_ARGUMENT = 'INVALID_ARGUMENT';

// Module-private copies: callers never get a reference they could mutate.
const M = fromHex(SPAKE2PLUS_M_HEX);
const N = fromHex(SPAKE2PLUS_N_HEX);
const CONFIRMATION_KEYS_INFO = utf8(SPAKE2PLUS_CONFIRMATION_KEYS_INFO);
const SHARED_KEY_INFO = utf8(SPAKE2PLUS_SHARED_KEY_INFO);
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Registration (RFC 9383 §3.2)
// ---------------------------------------------------------------------------------------------

/** scrypt cost parameters for turning a pairing code into w0, w1 (the output length is fixed). */
export interface Spake2PlusScryptParams {
  /** CPU/memory cost, a power of two ≥ 2. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/** Default scrypt parameters: N = 2^15, r = 8, p = 1 (32 MiB), as RFC 9383 §3.2 recommends. */
export const DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS: Spake2PlusScryptParams = Object.freeze({
  N: SPAKE2PLUS_SCRYPT_DEFAULT_N,
  r: SPAKE2PLUS_SCRYPT_DEFAULT_R,
  p: SPAKE2PLUS_SCRYPT_DEFAULT_P,
});

/** The prover's secrets: two scalars in [1, n−1], 32 bytes big-endian each. Wipe when done. */
export interface Spake2PlusSecrets {
  w0: Uint8Array;
  w1: Uint8Array;
}

/**
 * The verifier's registration record (RFC 9383 §3.2): w0 and L = w1·G (65 bytes, uncompressed).
 * It does not contain w1, so a stolen record lets an attacker pose as the vehicle but not
 * as the phone, and recovering the code from it costs one scrypt per guess.
 */
export interface Spake2PlusVerifierRecord {
  w0: Uint8Array;
  L: Uint8Array;
}

/**
 * Derives w0 and w1 from a pairing code (RFC 9383 §3.2):
 *
 *     w0s ‖ w1s = scrypt(len(code) ‖ code ‖ len(idProver) ‖ idProver ‖ len(idVerifier) ‖ idVerifier,
 *                        salt, N, r, p, dkLen = 80)
 *     w0 = w0s mod n,  w1 = w1s mod n        (w0s, w1s: 40 bytes each, bias ≤ 2^-64)
 *
 * `code` is the pairing code as bytes: the caller normalises it (e.g. UTF-8 of the digits).
 * `salt` is random per registration (≥ 16 bytes) and stored with the record. Throws UsageError
 * on malformed arguments or out-of-range scrypt parameters.
 */
export function deriveSpake2PlusSecrets(
  crypto: CryptoProvider,
  code: Uint8Array,
  salt: Uint8Array,
  idProver: Uint8Array,
  idVerifier: Uint8Array,
  params: Spake2PlusScryptParams = DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS,
): Spake2PlusSecrets {
  assertBytes(code, 'code');
  assertBytes(salt, 'salt');
  assertBytes(idProver, 'idProver');
  assertBytes(idVerifier, 'idVerifier');
  if (code.length === 0) throw new UsageError(INVALID_ARGUMENT, '"code" must not be empty');
  if (salt.length < SPAKE2PLUS_MIN_SALT_BYTES) {
    throw new UsageError(INVALID_ARGUMENT, `"salt" must be at least ${SPAKE2PLUS_MIN_SALT_BYTES} bytes`);
  }
  assertScryptParams(params);
  const input = lengthPrefixed([code, idProver, idVerifier]);
  const ws = crypto.scrypt(input, salt, {
    N: params.N,
    r: params.r,
    p: params.p,
    dkLen: SPAKE2PLUS_SCRYPT_OUTPUT_BYTES,
  });
  try {
    const w0 = crypto.group.reduceScalar(ws.subarray(0, SPAKE2PLUS_WS_BYTES));
    const w1 = crypto.group.reduceScalar(ws.subarray(SPAKE2PLUS_WS_BYTES, 2 * SPAKE2PLUS_WS_BYTES));
    // A zero scalar happens with probability 2^-256; refuse it rather than run with it.
    assertScalar(crypto, w0, 'w0');
    assertScalar(crypto, w1, 'w1');
    return { w0, w1 };
  } finally {
    wipe(input, ws);
  }
}

/** The verifier record for secrets w0, w1: { w0 (a copy), L = w1·G } (RFC 9383 §3.2). */
export function computeVerifier(crypto: CryptoProvider, w0: Uint8Array, w1: Uint8Array): Spake2PlusVerifierRecord {
  assertScalar(crypto, w0, 'w0');
  assertScalar(crypto, w1, 'w1');
  return { w0: w0.slice(), L: crypto.group.mulAdd(w1) };
}

/**
 * Registration in one step, for a factory or a vehicle that knows the code: derives w0, w1,
 * keeps only { w0, L } and wipes w1. Same arguments as {@link deriveSpake2PlusSecrets}.
 */
export function createVerifierRecord(
  crypto: CryptoProvider,
  code: Uint8Array,
  salt: Uint8Array,
  idProver: Uint8Array,
  idVerifier: Uint8Array,
  params: Spake2PlusScryptParams = DEFAULT_SPAKE2PLUS_SCRYPT_PARAMS,
): Spake2PlusVerifierRecord {
  const { w0, w1 } = deriveSpake2PlusSecrets(crypto, code, salt, idProver, idVerifier, params);
  try {
    return computeVerifier(crypto, w0, w1);
  } finally {
    wipe(w0, w1);
  }
}

function assertScryptParams(params: Spake2PlusScryptParams): void {
  const { N: n, r, p } = params ?? ({} as Spake2PlusScryptParams);
  const isPow2 = Number.isSafeInteger(n) && n >= 2 && (n & (n - 1)) === 0;
  if (!isPow2) throw new UsageError(INVALID_ARGUMENT, '"params.N" must be a power of two ≥ 2');
  if (!Number.isSafeInteger(r) || r < 1) throw new UsageError(INVALID_ARGUMENT, '"params.r" must be a positive integer');
  if (!Number.isSafeInteger(p) || p < 1 || p > SPAKE2PLUS_SCRYPT_MAX_P) {
    throw new UsageError(INVALID_ARGUMENT, `"params.p" must be an integer in [1, ${SPAKE2PLUS_SCRYPT_MAX_P}]`);
  }
  // scrypt's working memory is 128·N·r bytes (RFC 7914 §5).
  if (128 * n * r > SPAKE2PLUS_SCRYPT_MAX_MEMORY_BYTES) {
    throw new UsageError(INVALID_ARGUMENT, `scrypt memory 128·N·r exceeds ${SPAKE2PLUS_SCRYPT_MAX_MEMORY_BYTES} bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Transcript and key schedule (RFC 9383 §3.3, §3.4)
// ---------------------------------------------------------------------------------------------

/** The inputs of the transcript TT that vary per run (M and N are fixed by the ciphersuite). */
export interface Spake2PlusTranscriptInput {
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  shareP: Uint8Array;
  shareV: Uint8Array;
  Z: Uint8Array;
  V: Uint8Array;
  w0: Uint8Array;
}

/**
 * TT (RFC 9383 §3.3): each of Context, idProver, idVerifier, M, N, shareP, shareV, Z, V, w0
 * preceded by its length as 8 bytes little-endian. M and N enter uncompressed (65 bytes).
 * TT holds Z, V and w0: it is secret, wipe it after hashing.
 */
export function spake2PlusTranscript(t: Spake2PlusTranscriptInput): Uint8Array {
  return lengthPrefixed([t.context, t.idProver, t.idVerifier, M, N, t.shareP, t.shareV, t.Z, t.V, t.w0]);
}

/** Every key RFC 9383 §3.4 derives from TT, and the two confirmation MACs. */
export interface Spake2PlusKeySchedule {
  K_main: Uint8Array;
  K_confirmP: Uint8Array;
  K_confirmV: Uint8Array;
  K_shared: Uint8Array;
  /** MAC(K_confirmP, shareV): what the prover sends. */
  confirmP: Uint8Array;
  /** MAC(K_confirmV, shareP): what the verifier sends. */
  confirmV: Uint8Array;
}

/**
 * RFC 9383 §3.4:
 *
 *     K_main = SHA-256(TT)
 *     K_confirmP ‖ K_confirmV = HKDF-SHA256(salt = nil, ikm = K_main, info = "ConfirmationKeys", 64)
 *     K_shared = HKDF-SHA256(salt = nil, ikm = K_main, info = "SharedKey", 32)
 *     confirmP = HMAC-SHA256(K_confirmP, shareV),  confirmV = HMAC-SHA256(K_confirmV, shareP)
 *
 * Each MAC covers the share the peer sent, so each side proves it received the right one.
 * The caller wipes the keys it does not keep.
 */
export function spake2PlusKeySchedule(
  crypto: CryptoProvider,
  tt: Uint8Array,
  shareP: Uint8Array,
  shareV: Uint8Array,
): Spake2PlusKeySchedule {
  const K_main = crypto.sha256(tt);
  const confirmationKeys = crypto.hkdfSha256(K_main, EMPTY, CONFIRMATION_KEYS_INFO, SPAKE2PLUS_CONFIRMATION_KEYS_BYTES);
  const K_confirmP = confirmationKeys.slice(0, SPAKE2PLUS_HASH_BYTES);
  const K_confirmV = confirmationKeys.slice(SPAKE2PLUS_HASH_BYTES);
  wipe(confirmationKeys);
  const K_shared = crypto.hkdfSha256(K_main, EMPTY, SHARED_KEY_INFO, SPAKE2PLUS_HASH_BYTES);
  const confirmP = crypto.hmacSha256(K_confirmP, shareV);
  const confirmV = crypto.hmacSha256(K_confirmV, shareP);
  return { K_main, K_confirmP, K_confirmV, K_shared, confirmP, confirmV };
}

// ---------------------------------------------------------------------------------------------
// Prover (phone)
// ---------------------------------------------------------------------------------------------

/** What the prover needs for one run. All byte arrays are copied; the caller keeps ownership. */
export interface ProverInput {
  w0: Uint8Array;
  w1: Uint8Array;
  /** Application context, MUST be the same on both sides (RFC 9383 §3.3). */
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  /** Fixed ephemeral scalar, for test vectors only. Default: fresh random. */
  x?: Uint8Array;
}

/**
 * Opaque prover state. `phase` is `awaiting-verifier` after {@link proverStart} and `done`
 * once {@link proverFinish} ran (successfully or not); a `done` state cannot be used again.
 */
export interface ProverState {
  readonly role: 'prover';
  readonly phase: 'awaiting-verifier' | 'done';
}

interface ProverSecrets {
  crypto: CryptoProvider;
  w0: Uint8Array;
  w1: Uint8Array;
  x: Uint8Array;
  shareP: Uint8Array;
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
}

const proverSecrets = new WeakMap<ProverState, ProverSecrets>();

/**
 * Message 1, prover side (RFC 9383 §3.3): x ← [1, n−1], shareP = X = x·G + w0·M.
 * Returns the single-use state and the 65-byte shareP to send.
 */
export function proverStart(
  crypto: CryptoProvider,
  input: ProverInput,
): { state: ProverState; shareP: Uint8Array } {
  const { w0, w1, context, idProver, idVerifier } = input;
  assertScalar(crypto, w0, 'w0');
  assertScalar(crypto, w1, 'w1');
  assertIdentities(context, idProver, idVerifier);
  const x = input.x === undefined ? randomScalar(crypto) : fixedScalar(crypto, input.x, 'x');
  const shareP = crypto.group.mulAdd(x, w0, M);
  const state: ProverState = { role: 'prover', phase: 'awaiting-verifier' };
  proverSecrets.set(state, {
    crypto,
    w0: w0.slice(),
    w1: w1.slice(),
    x,
    shareP,
    context: context.slice(),
    idProver: idProver.slice(),
    idVerifier: idVerifier.slice(),
  });
  return { state, shareP: shareP.slice() };
}

/**
 * Message 2 consumed and message 3 created, prover side (RFC 9383 §3.3, §3.4): validates
 * shareV, computes Z = x·(Y − w0·N) and V = w1·(Y − w0·N), checks confirmV in constant time,
 * and returns confirmP to send and K_shared (32 bytes, the caller's to wipe).
 *
 * Throws ProtocolError `SPAKE2_INVALID_SHARE` if shareV is not a valid point, and
 * AuthenticationError `SPAKE2_CONFIRMATION_FAILED` if confirmV does not verify (wrong code,
 * or an active attacker). Either way the state is consumed.
 */
export function proverFinish(
  state: ProverState,
  shareV: Uint8Array,
  confirmV: Uint8Array,
): { confirmP: Uint8Array; sharedKey: Uint8Array } {
  const s = takeSecrets(proverSecrets, state);
  const { crypto } = s;
  let unblinded: Uint8Array | undefined;
  let Z: Uint8Array | undefined;
  let V: Uint8Array | undefined;
  let keys: Spake2PlusKeySchedule | undefined;
  try {
    checkShare(crypto, shareV, 'shareV');
    // A reflected shareP would make the prover talk to itself; an honest shareV is never equal.
    if (equalBytes(shareV, s.shareP)) throw invalidShare('shareV', 'equals our own shareP');
    unblinded = unblind(crypto, shareV, s.w0, N, 'shareV');
    Z = crypto.group.mul(s.x, unblinded);
    V = crypto.group.mul(s.w1, unblinded);
    keys = runKeySchedule(crypto, s, s.shareP, shareV, Z, V);
    if (!isBytesLike(confirmV) || !equalBytes(confirmV, keys.confirmV)) {
      throw new AuthenticationError(CONFIRMATION_FAILED, 'SPAKE2+ confirmV did not verify');
    }
    const sharedKey = keys.K_shared.slice();
    return { confirmP: keys.confirmP.slice(), sharedKey };
  } finally {
    wipe(unblinded, Z, V);
    if (keys) wipeKeySchedule(keys);
    wipe(s.w0, s.w1, s.x);
  }
}

// ---------------------------------------------------------------------------------------------
// Verifier (vehicle)
// ---------------------------------------------------------------------------------------------

/** What the verifier needs for one run. All byte arrays are copied; the caller keeps ownership. */
export interface VerifierInput {
  w0: Uint8Array;
  /** w1·G from the registration record, SEC1 (compressed or uncompressed). */
  L: Uint8Array;
  /** Application context, MUST be the same on both sides (RFC 9383 §3.3). */
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  /** Fixed ephemeral scalar, for test vectors only. Default: fresh random. */
  y?: Uint8Array;
}

/**
 * Opaque verifier state. `phase` is `awaiting-confirmation` after {@link verifierRespond}
 * and `done` once {@link verifierFinish} ran; a `done` state cannot be used again.
 */
export interface VerifierState {
  readonly role: 'verifier';
  readonly phase: 'awaiting-confirmation' | 'done';
}

interface VerifierSecrets {
  expectedConfirmP: Uint8Array;
  K_shared: Uint8Array;
}

const verifierSecrets = new WeakMap<VerifierState, VerifierSecrets>();

/**
 * Message 1 consumed and message 2 created, verifier side (RFC 9383 §3.3, §3.4): validates
 * shareP, picks y, computes shareV = Y = y·G + w0·N, Z = y·(X − w0·M), V = y·L, and returns
 * shareV and confirmV to send (RFC 9383 §3.1 allows them in one message) with the state that
 * awaits confirmP. Throws ProtocolError `SPAKE2_INVALID_SHARE` if shareP is not a valid point.
 */
export function verifierRespond(
  crypto: CryptoProvider,
  input: VerifierInput,
  shareP: Uint8Array,
): { state: VerifierState; shareV: Uint8Array; confirmV: Uint8Array } {
  const { w0, L, context, idProver, idVerifier } = input;
  assertScalar(crypto, w0, 'w0');
  assertBytes(L, 'L');
  if (!safeIsValidPoint(crypto, L)) throw new CryptoError(INVALID_KEY_MATERIAL, '"L" is not a valid P-256 point');
  assertIdentities(context, idProver, idVerifier);
  const y = input.y === undefined ? randomScalar(crypto) : fixedScalar(crypto, input.y, 'y');
  let unblinded: Uint8Array | undefined;
  let Z: Uint8Array | undefined;
  let V: Uint8Array | undefined;
  let keys: Spake2PlusKeySchedule | undefined;
  let kept = false;
  try {
    checkShare(crypto, shareP, 'shareP');
    unblinded = unblind(crypto, shareP, w0, M, 'shareP');
    const shareV = crypto.group.mulAdd(y, w0, N);
    Z = crypto.group.mul(y, unblinded);
    V = crypto.group.mul(y, L);
    keys = runKeySchedule(crypto, { context, idProver, idVerifier, w0 }, shareP, shareV, Z, V);
    const state: VerifierState = { role: 'verifier', phase: 'awaiting-confirmation' };
    const confirmV = keys.confirmV.slice();
    // The state keeps these two buffers themselves (no copies left behind); verifierFinish wipes them.
    verifierSecrets.set(state, { expectedConfirmP: keys.confirmP, K_shared: keys.K_shared });
    kept = true;
    return { state, shareV, confirmV };
  } finally {
    wipe(y, unblinded, Z, V);
    if (keys && kept) wipe(keys.K_main, keys.K_confirmP, keys.K_confirmV, keys.confirmV);
    else if (keys) wipeKeySchedule(keys);
  }
}

/**
 * Message 3 consumed, verifier side (RFC 9383 §3.4): checks confirmP in constant time and
 * returns K_shared (32 bytes, the caller's to wipe). Throws AuthenticationError
 * `SPAKE2_CONFIRMATION_FAILED` otherwise. Either way the state is consumed.
 */
export function verifierFinish(state: VerifierState, confirmP: Uint8Array): { sharedKey: Uint8Array } {
  const s = takeSecrets(verifierSecrets, state);
  try {
    if (!isBytesLike(confirmP) || !equalBytes(confirmP, s.expectedConfirmP)) {
      throw new AuthenticationError(CONFIRMATION_FAILED, 'SPAKE2+ confirmP did not verify');
    }
    return { sharedKey: s.K_shared.slice() };
  } finally {
    wipe(s.expectedConfirmP, s.K_shared);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Removes the state's secrets and marks it done; a second call finds nothing and throws. */
function takeSecrets<S extends ProverState | VerifierState, T>(map: WeakMap<S, T>, state: S): T {
  const secrets = typeof state === 'object' && state !== null ? map.get(state) : undefined;
  if (secrets === undefined) {
    throw new UsageError(STATE_USED, 'SPAKE2+ state was already used or is not a state of this role');
  }
  map.delete(state);
  (state as { phase: string }).phase = 'done';
  return secrets;
}

/** Hashes TT into the key schedule and wipes TT (it holds Z, V and w0). */
function runKeySchedule(
  crypto: CryptoProvider,
  ids: { context: Uint8Array; idProver: Uint8Array; idVerifier: Uint8Array; w0: Uint8Array },
  shareP: Uint8Array,
  shareV: Uint8Array,
  Z: Uint8Array,
  V: Uint8Array,
): Spake2PlusKeySchedule {
  const tt = spake2PlusTranscript({ ...ids, shareP, shareV, Z, V });
  try {
    return spake2PlusKeySchedule(crypto, tt, shareP, shareV);
  } finally {
    wipe(tt);
  }
}

function wipeKeySchedule(k: Spake2PlusKeySchedule): void {
  wipe(k.K_main, k.K_confirmP, k.K_confirmV, k.K_shared, k.confirmP, k.confirmV);
}

/**
 * Checks a received share (RFC 9383 §3.3 and §6: MUST abort unless the element is in the
 * prime-order group). P-256 has cofactor 1, so "on the curve and not the identity" suffices.
 * We accept only the 65-byte uncompressed encoding, which is what TT hashes: a second
 * encoding of the same point would only make the two transcripts differ.
 */
function checkShare(crypto: CryptoProvider, share: unknown, name: string): asserts share is Uint8Array {
  if (!isBytesLike(share)) throw invalidShare(name, 'is not a byte array');
  if (share.length !== SPAKE2PLUS_POINT_BYTES || share[0] !== SPAKE2PLUS_POINT_PREFIX_UNCOMPRESSED) {
    throw invalidShare(name, `must be a ${SPAKE2PLUS_POINT_BYTES}-byte uncompressed point`);
  }
  if (!safeIsValidPoint(crypto, share)) throw invalidShare(name, 'is not a point on P-256');
  // ±M and ±N (same x coordinate): an honest share equals them with probability 2^-256, so
  // they only come from a broken or hostile peer. Cheap to refuse, and the error is clearer.
  const x = share.subarray(1, 1 + SPAKE2PLUS_SCALAR_BYTES);
  if (equalBytes(x, M.subarray(1, 33)) || equalBytes(x, N.subarray(1, 33))) {
    throw invalidShare(name, 'is the generator M or N');
  }
}

/**
 * share − w0·blind. The identity here means the peer sent exactly w0·M (or w0·N): Z would then
 * be the identity, a known value. Refuse it (the "degenerate share").
 */
function unblind(crypto: CryptoProvider, share: Uint8Array, w0: Uint8Array, blind: Uint8Array, name: string): Uint8Array {
  let out: Uint8Array;
  try {
    out = crypto.group.subMul(share, w0, blind);
  } catch (cause) {
    throw invalidShare(name, 'unblinds to the identity', cause);
  }
  if (!safeIsValidPoint(crypto, out)) throw invalidShare(name, 'unblinds to the identity');
  return out;
}

function invalidShare(name: string, why: string, cause?: unknown): ProtocolError {
  return new ProtocolError(INVALID_SHARE, `SPAKE2+ ${name} ${why}`, cause === undefined ? {} : { cause });
}

function safeIsValidPoint(crypto: CryptoProvider, point: Uint8Array): boolean {
  try {
    return crypto.group.isValidPoint(point);
  } catch {
    return false;
  }
}

function isBytesLike(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/** A fresh scalar in [1, n−1]: 40 random bytes reduced mod n (bias ≤ 2^-64), zero redrawn. */
function randomScalar(crypto: CryptoProvider): Uint8Array {
  for (;;) {
    const seed = crypto.randomBytes(SPAKE2PLUS_EPHEMERAL_RANDOM_BYTES);
    const k = crypto.group.reduceScalar(seed);
    wipe(seed);
    if (!isZero(k)) return k;
  }
}

/** A caller-chosen scalar (test vectors): validated, then copied so wiping ours spares theirs. */
function fixedScalar(crypto: CryptoProvider, k: Uint8Array, name: string): Uint8Array {
  assertScalar(crypto, k, name);
  return k.slice();
}

/**
 * Throws UsageError if `k` is not 32 bytes, CryptoError if it is not in [1, n−1]. Scalars
 * out of range would be reduced silently by some providers and rejected by others.
 */
function assertScalar(crypto: CryptoProvider, k: Uint8Array, name: string): void {
  assertBytes(k, name, SPAKE2PLUS_SCALAR_BYTES);
  let v = 0n;
  for (const b of k) v = (v << 8n) | BigInt(b);
  if (v === 0n || v >= crypto.group.order) {
    throw new CryptoError(INVALID_KEY_MATERIAL, `"${name}" must be a scalar in [1, n-1]`);
  }
}

function assertIdentities(context: Uint8Array, idProver: Uint8Array, idVerifier: Uint8Array): void {
  assertBytes(context, 'context');
  assertBytes(idProver, 'idProver');
  assertBytes(idVerifier, 'idVerifier');
}

function isZero(k: Uint8Array): boolean {
  let acc = 0;
  for (const b of k) acc |= b;
  return acc === 0;
}

/** len(a) ‖ a ‖ len(b) ‖ b ‖ …, each len 8 bytes little-endian (RFC 9383 §3.2, §3.3). */
function lengthPrefixed(parts: Uint8Array[]): Uint8Array {
  const pieces: Uint8Array[] = [];
  for (const p of parts) pieces.push(u64le(p.length), p);
  return concatBytes(...pieces);
}

function u64le(n: number): Uint8Array {
  const out = new Uint8Array(SPAKE2PLUS_LENGTH_PREFIX_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  return out;
}
