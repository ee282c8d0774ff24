/**
 * The floor: the crypto the PROTOCOL needs on one side's critical path for one path, called
 * directly on the same provider, interleaved with the sessions it is compared with
 * (docs/BENCHMARKS.md §Floor). It is what the spec requires, not what this implementation calls:
 *
 * - per identity or per vehicle, not per session: h0 (cached);
 * - while idle, not on the critical path: the vehicle's ephemeral key, its Challenge bytes and h1
 *   (the challenge pool); the phone's full-path ephemeral and `es` (computed while msg 1 is on the
 *   air, before the Challenge can arrive); the phone's fast-path ephemeral (it does not depend on
 *   the Challenge either);
 * - HKDF: one Extract per derivation step and one Expand per label (RFC 5869: HMACs), 2 steps;
 * - not counted: the sealing of ticket secrets at rest (docs/STORAGE.md, an implementation choice).
 *
 *   vehicle-full  ECDH ee, ECDH es, SHA-256 h2, h3, HMAC ×8 (2 Extract + 6 Expand), AEAD open, ECDSA verify, AEAD seal (Result)
 *   vehicle-fast  ECDH ee, SHA-256 h2, h3, HMAC ×8, AEAD open, AEAD seal
 *   phone-full    SHA-256 h1, h2, h3, ECDH ee, HMAC ×8, ECDSA sign, AEAD seal (Auth body), AEAD open (Result)
 *   phone-fast    SHA-256 h1, h2, h3, ECDH ee, HMAC ×8, AEAD seal, AEAD open
 *
 * Inputs have the real sizes (encoded bodies and transcripts), the phone key is the same every
 * time (as in the flows, where the native provider's key cache hits), the ephemerals rotate.
 * To add a path (e.g. resume): one recipe in {@link RECIPES} and its name in {@link FloorName}.
 */
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { COMMAND, KEY_ID_BYTES, LABELS, TICKET_ID_BYTES } from '../../src/protocol/constants.js';
import { ChallengeSchema, FastAuthBodySchema, FullAuthBodySchema, ResultSchema } from '../../src/protocol/messages.js';
import { encodeMessage } from '../../src/wire/schema.js';
import { concatBytes, utf8 } from '../../src/crypto/bytes.js';
import { RESUME_LABELS } from '../../src/protocol/resume.js';

/** The floor variants: side and path. */
export type FloorName = 'vehicle-full' | 'vehicle-fast' | 'vehicle-resume' | 'phone-full' | 'phone-fast' | 'phone-resume';

/** Every variant, in report order. */
export const FLOORS: readonly FloorName[] = ['vehicle-full', 'vehicle-fast', 'vehicle-resume', 'phone-full', 'phone-fast', 'phone-resume'];

/** One set of per-session inputs. */
interface FloorInputs {
  vehicleEphemeralPrivate: Uint8Array;
  phoneEphemeralPrivate: Uint8Array;
  vehicleEphemeralPublic: Uint8Array;
  phoneEphemeralPublic: Uint8Array;
  signedPayload: Uint8Array;
  signature: Uint8Array;
  sealedFull: Uint8Array;
  sealedFast: Uint8Array;
  sealedResult: Uint8Array;
}

/** Prepared inputs for one provider. */
export interface FloorCase {
  readonly crypto: CryptoProvider;
  readonly sets: FloorInputs[];
  readonly vehicleStaticPrivate: Uint8Array;
  readonly phonePrivate: Uint8Array;
  readonly phonePublic: Uint8Array;
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
  /** AAD of the sealed bodies (stands for h2). */
  readonly aad: Uint8Array;
  readonly fullBody: Uint8Array;
  readonly fastBody: Uint8Array;
  readonly result: Uint8Array;
  /** Transcript-hash inputs of their real lengths. */
  readonly h1Input: Uint8Array;
  readonly h2FullInput: Uint8Array;
  readonly h2FastInput: Uint8Array;
  readonly h3FullInput: Uint8Array;
  readonly h3FastInput: Uint8Array;
  /** hR = h0 ‖ label ‖ version ‖ e_P ‖ ticket id ‖ age, and h2 = h1 ‖ label ‖ hR (resume path, PROTOCOL.md §14). */
  readonly hRInput: Uint8Array;
  readonly h2ResumeInput: Uint8Array;
  /** Expand input of the resume path's one-step derivations (early key, chain). */
  readonly resumeInfo: Uint8Array;
  /** Expand inputs (label ‖ 0x01) of the two derivation steps. */
  readonly authInfos: Uint8Array[];
  readonly sessionInfos: Uint8Array[];
  readonly resumptionSecret: Uint8Array;
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
  const result = encodeMessage(ResultSchema, { status: 0 });
  const sets: FloorInputs[] = [];
  let fullBody: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < SETS; i++) {
    // Signed payload: label ‖ h2 (32) ‖ key id ‖ encoded command (3).
    const signedPayload = concatBytes(utf8(LABELS.phoneSignature), crypto.randomBytes(32 + KEY_ID_BYTES + 3));
    const signature = crypto.sign(phone.privateKey, signedPayload);
    fullBody = encodeMessage(FullAuthBodySchema, { keyId: crypto.randomBytes(KEY_ID_BYTES), signature, command });
    const v = crypto.generateKeyPair();
    const p = crypto.generateKeyPair();
    sets.push({
      vehicleEphemeralPrivate: v.privateKey,
      phoneEphemeralPrivate: p.privateKey,
      vehicleEphemeralPublic: v.publicKey,
      phoneEphemeralPublic: p.publicKey,
      signedPayload,
      signature,
      sealedFull: crypto.aeadSeal(key, nonce, fullBody, aad),
      sealedFast: crypto.aeadSeal(key, nonce, encodeMessage(FastAuthBodySchema, { command }), aad),
      sealedResult: crypto.aeadSeal(key, nonce, result, aad),
    });
  }
  const challenge = encodeMessage(ChallengeSchema, { versions: [1], ephemeral: sets[0]!.vehicleEphemeralPublic });
  const fastBody = encodeMessage(FastAuthBodySchema, { command });
  const sealedLen = (n: number) => n + 16;
  const info = (label: string) => concatBytes(utf8(label), Uint8Array.of(1));
  return {
    crypto,
    sets,
    vehicleStaticPrivate: vehicleStatic.privateKey,
    phonePrivate: phone.privateKey,
    phonePublic: phone.publicKey,
    key,
    nonce,
    aad,
    fullBody,
    fastBody,
    result,
    // h1 = h0 ‖ Challenge; h2 = h1 ‖ path label ‖ version ‖ e_P (‖ ticket id); h3 = h2 ‖ sealed body.
    h1Input: crypto.randomBytes(32 + challenge.length),
    h2FullInput: crypto.randomBytes(32 + LABELS.full.length + 1 + 33),
    h2FastInput: crypto.randomBytes(32 + LABELS.fast.length + 1 + 33 + TICKET_ID_BYTES),
    h3FullInput: crypto.randomBytes(32 + sealedLen(fullBody.length)),
    h3FastInput: crypto.randomBytes(32 + sealedLen(fastBody.length)),
    hRInput: crypto.randomBytes(32 + RESUME_LABELS.resume.length + 1 + 33 + TICKET_ID_BYTES + 3),
    h2ResumeInput: crypto.randomBytes(32 + RESUME_LABELS.resumed.length + 32),
    resumeInfo: info(RESUME_LABELS.early),
    authInfos: [info(LABELS.authFull), info(LABELS.chainFull)],
    sessionInfos: [LABELS.vehicleToPhone, LABELS.phoneToVehicle, LABELS.resumptionSecret, LABELS.ticketId].map(info),
    resumptionSecret: crypto.randomBytes(32),
    next: 0,
  };
}

/** The two HKDF steps: Extract(h2, ee ‖ es-or-secret) + 2 Expand, Extract(h3, chain) + 4 Expand. */
function keySchedule(c: FloorCase, ikm: Uint8Array): void {
  const { crypto } = c;
  const prk = crypto.hmacSha256(c.aad, ikm);
  for (const info of c.authInfos) crypto.hmacSha256(prk, info);
  const prk2 = crypto.hmacSha256(c.aad, prk);
  for (const info of c.sessionInfos) crypto.hmacSha256(prk2, info);
}

/** One HKDF with one output block: Extract + 1 Expand (the resume path's early key and chain). */
function oneStep(c: FloorCase, ikm: Uint8Array): void {
  c.crypto.hmacSha256(c.crypto.hmacSha256(c.aad, ikm), c.resumeInfo);
}

/** The session step every path ends with: Extract(h3, chain) + 4 Expand. */
function sessionKeys(c: FloorCase, chain: Uint8Array): void {
  const prk = c.crypto.hmacSha256(c.aad, chain);
  for (const info of c.sessionInfos) c.crypto.hmacSha256(prk, info);
}

/** Two 32-byte secrets as one input key material. */
function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const ikm = new Uint8Array(64);
  ikm.set(a);
  ikm.set(b, 32);
  return ikm;
}

/** One side's protocol-minimal work on one path; returns false if an input did not check. */
type Recipe = (c: FloorCase, s: FloorInputs) => boolean;

/** The recipes, one per floor. */
const RECIPES: Record<FloorName, Recipe> = {
  'vehicle-full': (c, s) => {
    const { crypto } = c;
    const ee = crypto.ecdh(s.vehicleEphemeralPrivate, s.phoneEphemeralPublic);
    const es = crypto.ecdh(c.vehicleStaticPrivate, s.phoneEphemeralPublic);
    crypto.sha256(c.h2FullInput);
    keySchedule(c, joined(ee, es));
    const opened = crypto.aeadOpen(c.key, c.nonce, s.sealedFull, c.aad);
    const verified = crypto.verify(c.phonePublic, s.signedPayload, s.signature);
    crypto.sha256(c.h3FullInput);
    crypto.aeadSeal(c.key, c.nonce, c.result, c.aad);
    return opened !== null && verified;
  },
  'vehicle-fast': (c, s) => {
    const { crypto } = c;
    const ee = crypto.ecdh(s.vehicleEphemeralPrivate, s.phoneEphemeralPublic);
    crypto.sha256(c.h2FastInput);
    keySchedule(c, joined(ee, c.resumptionSecret));
    const opened = crypto.aeadOpen(c.key, c.nonce, s.sealedFast, c.aad);
    crypto.sha256(c.h3FastInput);
    crypto.aeadSeal(c.key, c.nonce, c.result, c.aad);
    return opened !== null;
  },
  // Resume (§14): hR, the early key from the ticket secret alone, open the command; then h2 over
  // the pooled Challenge's h1, ee with the car's ephemeral, the chain (one HKDF), the session keys
  // (as on the other paths), seal the Result.
  'vehicle-resume': (c, s) => {
    const { crypto } = c;
    crypto.sha256(c.hRInput);
    oneStep(c, c.resumptionSecret);
    const opened = crypto.aeadOpen(c.key, c.nonce, s.sealedFast, c.aad);
    crypto.sha256(c.h2ResumeInput);
    const ee = crypto.ecdh(s.vehicleEphemeralPrivate, s.phoneEphemeralPublic);
    oneStep(c, joined(ee, c.resumptionSecret));
    crypto.sha256(c.h3FastInput);
    sessionKeys(c, c.key);
    crypto.aeadSeal(c.key, c.nonce, c.result, c.aad);
    return opened !== null;
  },
  'phone-full': (c, s) => {
    const { crypto } = c;
    crypto.sha256(c.h1Input);
    crypto.sha256(c.h2FullInput);
    const ee = crypto.ecdh(s.phoneEphemeralPrivate, s.vehicleEphemeralPublic);
    keySchedule(c, joined(ee, c.resumptionSecret));
    crypto.sign(c.phonePrivate, s.signedPayload);
    crypto.aeadSeal(c.key, c.nonce, c.fullBody, c.aad);
    crypto.sha256(c.h3FullInput);
    return crypto.aeadOpen(c.key, c.nonce, s.sealedResult, c.aad) !== null;
  },
  'phone-fast': (c, s) => {
    const { crypto } = c;
    crypto.sha256(c.h1Input);
    crypto.sha256(c.h2FastInput);
    const ee = crypto.ecdh(s.phoneEphemeralPrivate, s.vehicleEphemeralPublic);
    keySchedule(c, joined(ee, c.resumptionSecret));
    crypto.aeadSeal(c.key, c.nonce, c.fastBody, c.aad);
    crypto.sha256(c.h3FastInput);
    return crypto.aeadOpen(c.key, c.nonce, s.sealedResult, c.aad) !== null;
  },
  // The phone's ephemeral is precomputed as on the other paths (not counted).
  'phone-resume': (c, s) => {
    const { crypto } = c;
    crypto.sha256(c.hRInput);
    oneStep(c, c.resumptionSecret);
    crypto.aeadSeal(c.key, c.nonce, c.fastBody, c.aad);
    crypto.sha256(c.h2ResumeInput);
    const ee = crypto.ecdh(s.phoneEphemeralPrivate, s.vehicleEphemeralPublic);
    oneStep(c, joined(ee, c.resumptionSecret));
    crypto.sha256(c.h3FastInput);
    sessionKeys(c, c.key);
    return crypto.aeadOpen(c.key, c.nonce, s.sealedResult, c.aad) !== null;
  }
};

/** Runs one iteration of a floor variant; returns its wall time in ms. */
export function runFloor(c: FloorCase, name: FloorName): number {
  const s = c.sets[c.next++ % c.sets.length]!;
  const t0 = performance.now();
  const ok = RECIPES[name](c, s);
  const dt = performance.now() - t0;
  if (!ok) throw new Error(`floor ${name}: inputs are inconsistent`);
  return dt;
}
