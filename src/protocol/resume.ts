/**
 * Resumption in two connection events (docs/PROTOCOL.md §14), pure and synchronous.
 *
 * A phone holding a live ticket sends a ResumeAuth right after it subscribes, without waiting
 * for the Challenge that the vehicle sends on subscription as always. The vehicle answers with
 * the sealed Result at once: subscription → result is two connection events.
 *
 *   createResumeAuth   → ResumeAuth { version, e_P, ticketId, sealed, ageMs }
 *                         sealed under kEarly = HKDF(rs, hR): the ticket secret alone
 *   completeResume       phone, once the Challenge (sent in parallel) has arrived:
 *                         ee = DH(e_P, e_V) from that Challenge → every later key
 *   openResumeAuth     ← vehicle: window, kEarly, per-command gate, then ee → session
 *
 * Every key after the first message mixes in `ee` with the vehicle's fresh ephemeral from its
 * Challenge, so the answer and the session are forward secret even though the first message
 * is not (it depends on the ticket secret only). The first message carries no vehicle
 * freshness; `ageMs` (the ticket's age on the phone's clock) is checked against the ticket's
 * sealed issue time on the vehicle's clock, which makes a captured, never-delivered ResumeAuth
 * useless a few seconds later (RollJam). A miss of any kind leaves the Challenge open for one
 * full Auth: the fallback costs no new challenge.
 */
import type { CryptoProvider, KeyPair } from '../crypto/provider.js';
import { wipe } from '../crypto/provider.js';
import { concatBytes, utf8 } from '../crypto/bytes.js';
import { ProtocolError } from '../errors.js';
import { decodeMessage, defineSchema, encodeMessage, t } from '../wire/schema.js';
import { AEAD_TAG_BYTES, MAX_COMMAND_DATA_BYTES, PROTOCOL_VERSION, PUBLIC_KEY_BYTES, TICKET_ID_BYTES } from './constants.js';
import { deriveSessionKeys, initialHash, nonceFor, sessionHash, type AuthKeys } from './keyschedule.js';
import { FastAuthBodySchema, type CommandMsg } from './messages.js';
import type { AwaitingResult, Challenged, PhoneTicket, VehiclePeer } from './phone-handshake.js';
import type { VehicleHandshake, VehicleIdentity } from './vehicle-handshake.js';

/**
 * Largest |vehicle clock − (ticket issue time + ageMs)| accepted, ms. It absorbs the flight of
 * the ticket's Result and of the ResumeAuth (tens of ms) and the rate difference of the two
 * clocks over at most {@link RESUME_MAX_TICKET_AGE_MS} (50 ppm over 24 h is 4.3 s). A captured
 * ResumeAuth can therefore be delivered at most this long after it was made, plus the real
 * skew of the two clocks, i.e. never more than 2 × 5 s later.
 */
export const RESUME_WINDOW_MS = 5_000;
/** Oldest ticket that may resume, ms: past this, clock drift would outgrow the window (use the fast path). */
export const RESUME_MAX_TICKET_AGE_MS = 24 * 3600 * 1000;
/** Largest encoded ResumeAuth, bytes: a FastAuthBody and the header. */
export const MAX_RESUME_AUTH_BYTES = 1200;

/** HKDF infos and hash markers of the resume path (domain separation from §4's labels). */
export const RESUME_LABELS = {
  /** Marker of hR's layout. */
  resume: 'DK1-resume',
  /** Marker of h2's layout on the resume path (binds the Challenge the vehicle sent). */
  resumed: 'DK1-resumed',
  early: 'DK1 resume early p2v',
  chain: 'DK1 resume chain',
} as const;

/** ResumeAuth, phone → vehicle, sent right after subscribing (before the Challenge arrives). */
export interface ResumeAuthMsg {
  version: number;
  ephemeral: Uint8Array;
  ticketId: Uint8Array;
  sealed: Uint8Array;
  /** Ms since the phone received the ticket, on the phone's clock. */
  ageMs: number;
}
/** Schema of {@link ResumeAuthMsg}. Field 4 (always present) is what tells it from an Auth. */
export const ResumeAuthSchema = defineSchema<ResumeAuthMsg>('ResumeAuth', {
  maxBytes: MAX_RESUME_AUTH_BYTES,
  fields: {
    version: { key: 0, type: t.uint({ min: 1, max: 255 }) },
    ephemeral: { key: 1, type: t.bytes({ len: PUBLIC_KEY_BYTES }) },
    ticketId: { key: 2, type: t.bytes({ len: TICKET_ID_BYTES }) },
    sealed: { key: 3, type: t.bytes({ min: AEAD_TAG_BYTES + 1, max: MAX_COMMAND_DATA_BYTES + 64 }) },
    ageMs: { key: 4, type: t.uint({ max: RESUME_MAX_TICKET_AGE_MS }) },
  },
});

/** The ResumeAuth in `bytes`, or undefined if they are not one (an Auth, a PairStart, garbage). Never throws. */
export function decodeResumeAuth(bytes: Uint8Array): ResumeAuthMsg | undefined {
  try {
    return decodeMessage(ResumeAuthSchema, bytes);
  } catch {
    return undefined;
  }
}

/** hR = SHA-256(h0 ‖ "DK1-resume" ‖ version ‖ e_P ‖ ticketId ‖ u32be(ageMs)): the header, AAD of the first message. */
export function resumeHash(crypto: CryptoProvider, h0: Uint8Array, msg: Omit<ResumeAuthMsg, 'sealed'>): Uint8Array {
  const age = new Uint8Array(4);
  new DataView(age.buffer).setUint32(0, msg.ageMs);
  return crypto.sha256(concatBytes(h0, utf8(RESUME_LABELS.resume), Uint8Array.of(msg.version), msg.ephemeral, msg.ticketId, age));
}

/** kEarly = HKDF(rs, hR, "DK1 resume early p2v", 32): seals the first message only. */
export function earlyKey(crypto: CryptoProvider, hR: Uint8Array, resumptionSecret: Uint8Array): Uint8Array {
  return crypto.hkdfSha256(resumptionSecret, hR, utf8(RESUME_LABELS.early), 32);
}

/** h2 of the resume path = SHA-256(h1 ‖ "DK1-resumed" ‖ hR): binds the Challenge (its e_V) to the resume header. */
export function resumedHash(crypto: CryptoProvider, h1: Uint8Array, hR: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes(h1, utf8(RESUME_LABELS.resumed), hR));
}

/** chain = HKDF(ee ‖ rs, h2, "DK1 resume chain", 32): the vehicle's fresh ephemeral enters every later key. */
export function resumeChain(crypto: CryptoProvider, h2: Uint8Array, ee: Uint8Array, resumptionSecret: Uint8Array): Uint8Array {
  const ikm = concatBytes(ee, resumptionSecret);
  const chain = crypto.hkdfSha256(ikm, h2, utf8(RESUME_LABELS.chain), 32);
  wipe(ikm);
  return chain;
}

// ----- phone -----

/** Phone state between sending ResumeAuth and receiving the Challenge. Holds e_P and rs until then. */
export interface ResumeSent {
  stage: 'resume-sent';
  hR: Uint8Array;
  ephemeral: KeyPair;
  resumptionSecret: Uint8Array;
  sealed: Uint8Array;
}

/**
 * The ResumeAuth for `command`. `ageMs` is the ticket's age on the phone's clock. The caller
 * must already have taken the ticket out of its store (single use). Copies what it keeps: the
 * caller may wipe `ticket` at once.
 */
export function createResumeAuth(
  crypto: CryptoProvider,
  vehicle: VehiclePeer,
  ticket: PhoneTicket,
  command: CommandMsg,
  ageMs: number,
  options: { ephemeral?: KeyPair; version?: number } = {},
): { state: ResumeSent; bytes: Uint8Array } {
  if (!Number.isInteger(ageMs) || ageMs < 0 || ageMs > RESUME_MAX_TICKET_AGE_MS) throw new ProtocolError('TICKET_TOO_OLD', 'the ticket is too old to resume');
  const ephemeral = options.ephemeral ?? crypto.generateKeyPair();
  const header = { version: options.version ?? PROTOCOL_VERSION, ephemeral: ephemeral.publicKey, ticketId: ticket.ticketId, ageMs };
  const hR = resumeHash(crypto, initialHash(crypto, vehicle.vehicleId, vehicle.publicKey), header);
  const kEarly = earlyKey(crypto, hR, ticket.resumptionSecret);
  const sealed = crypto.aeadSeal(kEarly, nonceFor(0), encodeMessage(FastAuthBodySchema, { command }), hR);
  wipe(kEarly);
  const bytes = encodeMessage(ResumeAuthSchema, { ...header, sealed });
  return { state: { stage: 'resume-sent', hR, ephemeral, resumptionSecret: ticket.resumptionSecret.slice(), sealed }, bytes };
}

/**
 * The Challenge arrived (the vehicle sent it on subscription): derive the session keys from
 * ee with its ephemeral, so the Result opens on arrival. Wipes e_P and rs.
 */
export function completeResume(crypto: CryptoProvider, state: ResumeSent, challenge: Challenged): AwaitingResult {
  if (state.stage !== 'resume-sent') throw new ProtocolError('UNEXPECTED_STATE', `resume is in stage ${state.stage}`);
  (state as { stage: string }).stage = 'done';
  try {
    const h2 = resumedHash(crypto, challenge.h1, state.hR);
    const ee = crypto.ecdh(state.ephemeral.privateKey, challenge.vehicleEphemeral);
    const chain = resumeChain(crypto, h2, ee, state.resumptionSecret);
    wipe(ee);
    return { stage: 'sent', path: 'resume', keys: deriveSessionKeys(crypto, sessionHash(crypto, h2, state.sealed), chain) };
  } finally {
    abandonResume(state);
  }
}

/** Wipes the secrets a resume attempt still holds (no Challenge came, or the link failed). */
export function abandonResume(state: ResumeSent): void {
  wipe(state.ephemeral.privateKey, state.resumptionSecret);
  (state as { stage: string }).stage = 'done';
}

// ----- vehicle -----

/** Why a ResumeAuth missed (audit detail). Every miss looks the same to the phone: RETRY_FULL. */
export type ResumeMissReason =
  | 'RESUME_NOT_FIRST'
  | 'RESUME_BAD_VERSION'
  | 'RESUME_NO_ISSUE_TIME'
  | 'RESUME_TOO_OLD'
  | 'RESUME_OUT_OF_WINDOW'
  | 'RESUME_NOT_OPENED'
  | 'RESUME_NOT_ALLOWED'
  | 'RESUME_BAD_EPHEMERAL';

/** A ResumeAuth that opened under the ticket's secret and passed every check: authenticated. */
export interface OpenedResumeAuth {
  path: 'resume';
  command: CommandMsg;
  /** The resume path's h2 (binds the Challenge and hR). */
  h2: Uint8Array;
  sealed: Uint8Array;
  keys: AuthKeys;
}

/** The vehicle's view of time for one ResumeAuth: its clock and the ticket's sealed issue time. */
export interface ResumeClock {
  nowMs: number;
  /** Undefined for a ticket filed before resumption existed: it cannot resume. */
  issuedAtMs: number | undefined;
  windowMs?: number;
}

/**
 * The freshness rule: the ticket is at most a day old on the vehicle's clock, and the phone's
 * claimed age puts the message's creation within the window of now. Null when fresh.
 */
export function checkResumeWindow(msg: Pick<ResumeAuthMsg, 'ageMs'>, clock: ResumeClock): ResumeMissReason | null {
  if (clock.issuedAtMs === undefined) return 'RESUME_NO_ISSUE_TIME';
  const carAge = clock.nowMs - clock.issuedAtMs;
  if (carAge > RESUME_MAX_TICKET_AGE_MS) return 'RESUME_TOO_OLD';
  if (Math.abs(carAge - msg.ageMs) > (clock.windowMs ?? RESUME_WINDOW_MS)) return 'RESUME_OUT_OF_WINDOW';
  return null;
}

/**
 * Opens a ResumeAuth against the Challenge this link sent. `secret` is the ticket's resumption
 * secret (the caller has already deleted the ticket durably); `mayResume` is the per-command
 * policy. On any miss the challenge stays open for exactly one full Auth. On success the
 * challenge is consumed and its ephemeral wiped.
 */
export function openResumeAuth(
  crypto: CryptoProvider,
  identity: VehicleIdentity,
  state: VehicleHandshake,
  msg: ResumeAuthMsg,
  secret: Uint8Array,
  clock: ResumeClock,
  mayResume: (command: CommandMsg) => boolean,
): OpenedResumeAuth | { miss: ResumeMissReason } {
  if (state.stage !== 'challenged') throw new ProtocolError('UNEXPECTED_MESSAGE', 'no challenge is open on this link');
  const miss = (reason: ResumeMissReason) => {
    state.fastFailed = true;
    return { miss: reason };
  };
  if (state.fastFailed) return miss('RESUME_NOT_FIRST');
  if (!state.versions.includes(msg.version)) return miss('RESUME_BAD_VERSION');
  const late = checkResumeWindow(msg, clock);
  if (late) return miss(late);
  const hR = resumeHash(crypto, initialHash(crypto, identity.vehicleId, identity.publicKey), msg);
  const kEarly = earlyKey(crypto, hR, secret);
  const plain = crypto.aeadOpen(kEarly, nonceFor(0), msg.sealed, hR);
  wipe(kEarly);
  if (plain === null) return miss('RESUME_NOT_OPENED');
  let command: CommandMsg;
  try {
    command = decodeMessage(FastAuthBodySchema, plain).command;
  } catch {
    return miss('RESUME_NOT_OPENED');
  } finally {
    wipe(plain);
  }
  if (!mayResume(command)) return miss('RESUME_NOT_ALLOWED');
  const h2 = resumedHash(crypto, state.h1, hR);
  let ee: Uint8Array;
  try {
    ee = crypto.ecdh(state.ephemeral.privateKey, msg.ephemeral);
  } catch {
    return miss('RESUME_BAD_EPHEMERAL');
  }
  const chain = resumeChain(crypto, h2, ee, secret);
  wipe(ee);
  wipe(state.ephemeral.privateKey);
  (state as { stage: string }).stage = 'done';
  return { path: 'resume', command, h2, sealed: msg.sealed, keys: { kAuth: kEarly, chain } };
}
