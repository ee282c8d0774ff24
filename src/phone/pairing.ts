/**
 * Owner pairing on the phone (docs/PROTOCOL.md §10): the SPAKE2+ prover with the code the car
 * shows. The phone learns the vehicle's id and keys only after the vehicle proved it knows the
 * verifier for that code, and proves possession of its own device key inside the PAKE channel.
 */
import { wipe } from '../crypto/provider.js';
import { utf8 } from '../crypto/bytes.js';
import { AuthenticationError, ProtocolError } from '../errors.js';
import type { Link } from '../transport/link.js';
import { decodeMessage, encodeMessage } from '../wire/schema.js';
import { deriveSpake2PlusSecrets, proverFinish, proverStart } from '../pairing/spake2plus.js';
import { nonceFor } from '../protocol/keyschedule.js';
import { ChallengeSchema } from '../protocol/messages.js';
import { clearStatusOf } from '../protocol/channel.js';
import {
  PAIRING_ID_PROVER,
  PAIRING_ID_VERIFIER,
  PairConfirmSchema,
  PairDoneSchema,
  PairEnrollSchema,
  PairReplySchema,
  PairStartSchema,
  PairWelcomeSchema,
  pairingContext,
  pairingKeys,
  pairingProofPayload,
  scryptParamsOf,
} from '../protocol/pairing.js';
import type { Phone } from './phone.js';
import type { PairedVehicle } from './store.js';

/** Options of {@link pairWithCode}. */
export interface PairOptions {
  /** Name for this phone in the car's key list. */
  keyName?: string;
  /** Name for the car on this phone. */
  vehicleName?: string;
  /**
   * Largest scrypt work (N · r · p) the phone accepts from a car's pairing offer. Default: the
   * vehicle's default cost (2^15 · 8 · 1), so a fake car cannot make the phone burn seconds of
   * CPU and hundreds of MiB; raise it only for cars provisioned with a higher cost.
   */
  maxScryptWork?: number;
}

/** Default bound on an offer's scrypt work: the vehicle's default cost, N = 2^15, r = 8, p = 1. */
export const DEFAULT_MAX_SCRYPT_WORK = 2 ** 15 * 8;

/**
 * Pairs this phone as an owner of the vehicle on `link`, using the code the car shows. On
 * success the vehicle is stored on the phone and returned; the link stays open and the vehicle
 * sends a fresh challenge, so `phone.connect` can follow on the same link.
 */
export async function pairWithCode(phone: Phone, link: Link, code: string, options: PairOptions = {}): Promise<PairedVehicle> {
  const { crypto } = phone;
  const timeoutMs = phone.responseTimeoutMs;
  const challengeBytes = await link.receive({ timeoutMs });
  const challenge = decodeMessage(ChallengeSchema, challengeBytes);
  if (!challenge.pairing) throw new ProtocolError('PAIRING_NOT_OPEN', 'the vehicle has no pairing window open: start pairing in the car first');
  const offer = challenge.pairing;
  const work = 2 ** offer.logN * offer.r * offer.p;
  if (work > (options.maxScryptWork ?? DEFAULT_MAX_SCRYPT_WORK)) {
    await link.close('pairing cost refused');
    throw new ProtocolError('PAIRING_COST_TOO_HIGH', `the car asks for scrypt work ${work}, above this phone's limit: raise PairOptions.maxScryptWork only if this car was provisioned that way`);
  }
  const context = pairingContext(challengeBytes);
  const { w0, w1 } = deriveSpake2PlusSecrets(crypto, utf8(code), offer.salt, PAIRING_ID_PROVER, PAIRING_ID_VERIFIER, scryptParamsOf(offer));
  const { state, shareP } = proverStart(crypto, { w0, w1, context, idProver: PAIRING_ID_PROVER, idVerifier: PAIRING_ID_VERIFIER });
  wipe(w0, w1);
  await link.send(encodeMessage(PairStartSchema, { shareP }), { timeoutMs });
  const replyBytes = await link.receive({ timeoutMs: timeoutMs * 2 });
  const reply = decodeReply(replyBytes);
  let confirmP: Uint8Array;
  let sharedKey: Uint8Array;
  try {
    ({ confirmP, sharedKey } = proverFinish(state, reply.shareV, reply.confirmV));
  } catch (e) {
    await link.close('pairing failed');
    throw new AuthenticationError('PAIRING_FAILED', 'pairing failed: check the code shown in the car', { cause: e });
  }
  const keys = pairingKeys(crypto, sharedKey, context);
  wipe(sharedKey);
  const signature = await phone.signer.sign(pairingProofPayload(keys.aad, shareP, reply.shareV));
  const enroll = encodeMessage(PairEnrollSchema, { publicKey: phone.publicKey, signature, ...(options.keyName ? { name: options.keyName } : {}) });
  const sealed = crypto.aeadSeal(keys.p2v, nonceFor(0), enroll, keys.aad);
  await link.send(encodeMessage(PairConfirmSchema, { confirmP, sealed }), { timeoutMs });
  const doneBytes = await link.receive({ timeoutMs });
  // A clear status here is the vehicle refusing the enrolment (or a forger): read it before
  // decoding, so the app hears "refused", not a codec error.
  if (clearStatusOf(doneBytes) !== undefined) {
    wipe(keys.p2v, keys.v2p);
    // Unauthenticated: a forger could put it in place of the real PairDone, so the enrolment
    // may have happened. Pairing again in a new window is safe (the car re-sends the welcome).
    throw new AuthenticationError('PAIRING_REFUSED', 'the vehicle refused to enrol this phone after the code was accepted, or the answer was forged: pair again', { mayHaveSucceeded: true, retryable: true });
  }
  const done = decodeMessage(PairDoneSchema, doneBytes);
  const plain = crypto.aeadOpen(keys.v2p, nonceFor(0), done.sealed, keys.aad);
  wipe(keys.p2v, keys.v2p);
  if (!plain) throw new AuthenticationError('PAIRING_FAILED', 'pairing failed: the vehicle answer did not authenticate');
  const welcome = decodeMessage(PairWelcomeSchema, plain);
  const vehicle: PairedVehicle = {
    vehicleId: welcome.vehicleId,
    publicKey: crypto.validatePublicKey(welcome.publicKey),
    name: options.vehicleName ?? 'my car',
    advertisingKey: welcome.advertisingKey,
  };
  await phone.addVehicle(vehicle);
  return vehicle;
}

function decodeReply(bytes: Uint8Array) {
  try {
    return decodeMessage(PairReplySchema, bytes);
  } catch (e) {
    const status = clearStatusOf(bytes);
    if (status === undefined) throw e;
    throw new AuthenticationError('PAIRING_REFUSED', `the vehicle refused to pair (status ${status}): the window may be closed, locked out or backing off`);
  }
}
