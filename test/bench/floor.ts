/**
 * The raw crypto the vehicle cannot avoid on a path, measured on the same provider, in the same
 * process and interleaved with the sessions it is compared with (docs/BENCHMARKS.md §Floor).
 *
 * Inputs have the real sizes: the sealed Auth body is an encoded FullAuthBody / FastAuthBody, the
 * sealed result an encoded Result, hashes run over inputs as long as the transcript's. The phone
 * key is the same every time (as in the flows, where the native provider's key cache hits), the
 * ephemerals rotate through a few fresh sets (as every session has a new one).
 *
 *   full   ECDH ×2 (ee, es) + ECDSA verify + SHA-256 ×4 + HKDF ×6 + AEAD open + AEAD seal
 *   full1  ECDH ×1 + ECDSA verify + SHA-256 ×4 + HKDF ×6 + AEAD open + seal  ("ECDH + verify + KDF + AEAD")
 *   fast   ECDH ×1 + SHA-256 ×4 + HKDF ×6 + AEAD open + seal
 */
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { COMMAND, KEY_ID_BYTES, TICKET_ID_BYTES } from '../../src/protocol/constants.js';
import { FastAuthBodySchema, FullAuthBodySchema, ResultSchema } from '../../src/protocol/messages.js';
import { encodeMessage } from '../../src/wire/schema.js';

/** The floor variants. */
export type FloorName = 'full' | 'full1' | 'fast';

/** Every variant, in report order. */
export const FLOORS: readonly FloorName[] = ['full', 'full1', 'fast'];

/** One set of per-session inputs. */
interface FloorInputs {
  vehicleEphemeralPrivate: Uint8Array;
  phoneEphemeralPublic: Uint8Array;
  signedPayload: Uint8Array;
  signature: Uint8Array;
  sealedFull: Uint8Array;
  sealedFast: Uint8Array;
}

/** Prepared inputs for one provider. */
export interface FloorCase {
  readonly crypto: CryptoProvider;
  readonly sets: FloorInputs[];
  readonly vehicleStaticPrivate: Uint8Array;
  readonly phonePublic: Uint8Array;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  /** AAD of the sealed bodies (stands for h2). */
  readonly aad: Uint8Array;
  readonly result: Uint8Array;
  /** Hash inputs of transcript length: h0, h1, h2, h3. */
  readonly hashInputs: Uint8Array[];
  readonly hkdfInfo: Uint8Array;
  next: number;
}

/** How many input sets rotate. */
const SETS = 8;

/** Builds the inputs once per provider (key generation is not part of the floor). */
export function prepareFloor(crypto: CryptoProvider): FloorCase {
  const phone = crypto.generateKeyPair();
  const vehicleStatic = crypto.generateKeyPair();
  const key = crypto.randomBytes(32);
  const nonce = new Uint8Array(12);
  const aad = crypto.randomBytes(32);
  const command = { id: COMMAND.unlock };
  const sets: FloorInputs[] = [];
  for (let i = 0; i < SETS; i++) {
    // Signed payload: label (24) ‖ h2 (32) ‖ key id ‖ encoded command (3).
    const signedPayload = crypto.randomBytes(24 + 32 + KEY_ID_BYTES + 3);
    const signature = crypto.sign(phone.privateKey, signedPayload);
    const fullBody = encodeMessage(FullAuthBodySchema, { keyId: crypto.randomBytes(KEY_ID_BYTES), signature, command });
    sets.push({
      vehicleEphemeralPrivate: crypto.generateKeyPair().privateKey,
      phoneEphemeralPublic: crypto.generateKeyPair().publicKey,
      signedPayload,
      signature,
      sealedFull: crypto.aeadSeal(key, nonce, fullBody, aad),
      sealedFast: crypto.aeadSeal(key, nonce, encodeMessage(FastAuthBodySchema, { command }), aad),
    });
  }
  return {
    crypto,
    sets,
    vehicleStaticPrivate: vehicleStatic.privateKey,
    phonePublic: phone.publicKey,
    key,
    nonce,
    aad,
    result: encodeMessage(ResultSchema, { status: 0 }),
    // h0 = label ‖ vehicleId ‖ static key; h1 = h0 ‖ Challenge; h2 = h1 ‖ label ‖ version ‖ e_P (‖ ticket); h3 = h2 ‖ sealed.
    hashInputs: [18 + 16 + 33, 32 + 42, 32 + 8 + 1 + 33 + TICKET_ID_BYTES, 32 + 104].map((n) => crypto.randomBytes(n)),
    hkdfInfo: crypto.randomBytes(16),
    next: 0,
  };
}

/** Runs one iteration of a floor variant; returns its wall time in ms. */
export function runFloor(c: FloorCase, name: FloorName): number {
  const s = c.sets[c.next++ % c.sets.length]!;
  const { crypto } = c;
  const t0 = performance.now();
  const ee = crypto.ecdh(s.vehicleEphemeralPrivate, s.phoneEphemeralPublic);
  const es = name === 'full' ? crypto.ecdh(c.vehicleStaticPrivate, s.phoneEphemeralPublic) : ee;
  for (const h of c.hashInputs) crypto.sha256(h);
  const ikm = new Uint8Array(64);
  ikm.set(ee);
  ikm.set(es, 32);
  crypto.hkdfSha256(ikm, c.hashInputs[0]!, c.hkdfInfo, 32);
  crypto.hkdfSha256(ikm, c.hashInputs[0]!, c.hkdfInfo, 32);
  for (let i = 0; i < 4; i++) crypto.hkdfSha256(ee, c.hashInputs[1]!, c.hkdfInfo, 32);
  const opened = crypto.aeadOpen(c.key, c.nonce, name === 'fast' ? s.sealedFast : s.sealedFull, c.aad);
  const verified = name === 'fast' || crypto.verify(c.phonePublic, s.signedPayload, s.signature);
  crypto.aeadSeal(c.key, c.nonce, c.result, c.aad);
  const dt = performance.now() - t0;
  if (opened === null || !verified) throw new Error('floor inputs are inconsistent');
  return dt;
}
