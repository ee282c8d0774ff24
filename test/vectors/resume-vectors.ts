/**
 * Deterministic vectors for resumption (docs/PROTOCOL.md §14): fixed keys, ticket and age run
 * through the pure functions of src/protocol/resume.ts. Nothing here is random (no signature
 * on this path; AES-GCM nonces are counters), so every value is reproducible from `inputs`
 * alone. `npm run vectors` writes test/vectors/resume-v1.json from this;
 * test/protocol/resume-vectors.test.ts regenerates and compares byte for byte, and recomputes
 * the key schedule with raw node:crypto.
 */
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { CryptoProvider, KeyPair } from '../../src/crypto/provider.js';
import { fromHex, toHex } from '../../src/crypto/bytes.js';
import { COMMAND, PROTOCOL_VERSION, STATUS } from '../../src/protocol/constants.js';
import { challengeHash, initialHash, nonceFor } from '../../src/protocol/keyschedule.js';
import { consumeChallenge, consumeResult } from '../../src/protocol/phone-handshake.js';
import { createChallenge, finishHandshake, type VehicleIdentity } from '../../src/protocol/vehicle-handshake.js';
import { createChannel, sealFrame } from '../../src/protocol/channel.js';
import { CommandSchema, FastAuthBodySchema, FrameSchema, ResultSchema } from '../../src/protocol/messages.js';
import { completeResume, createResumeAuth, decodeResumeAuth, earlyKey, openResumeAuth, resumeChain, resumedHash, resumeHash, RESUME_LABELS, RESUME_WINDOW_MS } from '../../src/protocol/resume.js';
import { encodeMessage } from '../../src/wire/schema.js';

/** Fixed inputs (private scalars are arbitrary values below the group order). */
export const RESUME_VECTOR_INPUTS = {
  /** On-wire protocol version of the ResumeAuth and the Challenge (spec 1.1 = 2, §2.1). */
  version: PROTOCOL_VERSION,
  vehicleId: '000102030405060708090a0b0c0d0e0f',
  vehicleStaticPrivate: '1111111111111111111111111111111111111111111111111111111111111111',
  vehicleEphemeralPrivate: '2626262626262626262626262626262626262626262626262626262626262626',
  phoneEphemeralPrivate: '4646464646464646464646464646464646464646464646464646464646464646',
  /** The ticket the phone holds (from an earlier session's §4 derivation; any 16 + 32 bytes here). */
  ticketId: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
  resumptionSecret: 'b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf',
  /** Ticket age on the phone's clock, ms; the vehicle's clock says the ticket is `vehicleTicketAgeMs` old. */
  ageMs: 3_600_000,
  vehicleTicketAgeMs: 3_600_120,
  /** Unlock (1) with request id 2122232425262728, user-present flag clear. */
  command: { id: COMMAND.unlock, requestId: '2122232425262728' },
  /** The handler's answer: OK with no data. */
  result: { status: STATUS.ok },
} as const;

const pair = (crypto: CryptoProvider, privHex: string): KeyPair => {
  const privateKey = fromHex(privHex);
  return { privateKey, publicKey: crypto.publicKeyFromPrivate(privateKey) };
};

/** Generates every vector; hex strings throughout. */
export function generateResumeVectors(): Record<string, unknown> {
  // No randomness is drawn on this path: a provider whose randomBytes throws proves it.
  const crypto = createNobleProvider({
    randomBytes: () => {
      throw new Error('the resume vectors must not draw randomness');
    },
  });
  const I = RESUME_VECTOR_INPUTS;
  const keyAgreement = createSoftwareKeyAgreement(crypto, fromHex(I.vehicleStaticPrivate));
  const identity: VehicleIdentity = { vehicleId: fromHex(I.vehicleId), publicKey: keyAgreement.publicKey, keyAgreement };
  const peer = { vehicleId: identity.vehicleId, publicKey: identity.publicKey };
  const command = { id: I.command.id, requestId: fromHex(I.command.requestId) };
  const ticket = { ticketId: fromHex(I.ticketId), resumptionSecret: fromHex(I.resumptionSecret) };
  const eP = pair(crypto, I.phoneEphemeralPrivate);
  const eV = pair(crypto, I.vehicleEphemeralPrivate);

  // Phone: ResumeAuth, sent right after subscribing.
  const h0 = initialHash(crypto, identity.vehicleId, identity.publicKey);
  const hR = resumeHash(crypto, h0, { version: I.version, ephemeral: eP.publicKey, ticketId: ticket.ticketId, ageMs: I.ageMs });
  const kEarly = earlyKey(crypto, hR, ticket.resumptionSecret);
  const body = encodeMessage(FastAuthBodySchema, { command });
  const sent = createResumeAuth(crypto, peer, ticket, command, I.ageMs, { ephemeral: { ...eP, privateKey: eP.privateKey.slice() } });
  const msg = decodeResumeAuth(sent.bytes)!;

  // Vehicle: the Challenge it sent on subscription, then the ResumeAuth opened against it.
  const challenge = createChallenge(crypto, identity, { ephemeral: { ...eV, privateKey: eV.privateKey.slice() } });
  const h1 = challengeHash(crypto, h0, challenge.bytes);
  const h2 = resumedHash(crypto, h1, hR);
  const ee = crypto.ecdh(eV.privateKey, eP.publicKey);
  const chain = resumeChain(crypto, h2, ee, ticket.resumptionSecret);
  const issuedAtMs = 1_767_225_600_000; // vehicle clock at issue (2026-01-01); now = issue + vehicleTicketAgeMs
  const opened = openResumeAuth(crypto, identity, challenge.state, msg, ticket.resumptionSecret.slice(), { nowMs: issuedAtMs + I.vehicleTicketAgeMs, issuedAtMs }, () => true);
  if ('miss' in opened) throw new Error(`vector ResumeAuth missed: ${opened.miss}`);
  const vehicleKeys = finishHandshake(crypto, opened);
  const resultPlain = encodeMessage(ResultSchema, I.result);
  const resultFrame = sealFrame(crypto, createChannel('vehicle', { ...vehicleKeys, kV2P: vehicleKeys.kV2P.slice(), kP2V: vehicleKeys.kP2V.slice() }), resultPlain);

  // Phone: the Challenge arrives first, then the Result.
  const awaiting = completeResume(crypto, sent.state, consumeChallenge(crypto, peer, challenge.bytes));
  const outcome = consumeResult(crypto, awaiting, resultFrame);
  if (outcome.kind !== 'session') throw new Error('vector Result did not open');

  return {
    description: 'ble-digital-key resumption (docs/PROTOCOL.md §14). All byte strings hex. Deterministic: no randomness on this path.',
    labels: RESUME_LABELS,
    windowMs: RESUME_WINDOW_MS,
    inputs: {
      ...I,
      command: toHex(encodeMessage(CommandSchema, command)),
      commandFields: I.command,
      vehicleStaticPublic: toHex(identity.publicKey),
      vehicleEphemeralPublic: toHex(eV.publicKey),
      phoneEphemeralPublic: toHex(eP.publicKey),
      vehicleIssuedAtMs: issuedAtMs,
    },
    h0: toHex(h0),
    hR: toHex(hR),
    kEarly: toHex(kEarly),
    resumeBody: toHex(body),
    resumeAuth: toHex(sent.bytes),
    challenge: toHex(challenge.bytes),
    h1: toHex(h1),
    h2: toHex(h2),
    ee: toHex(ee),
    chain: toHex(chain),
    h3: toHex(vehicleKeys.sessionHash),
    kV2P: toHex(outcome.channel.receiveKey),
    kP2V: toHex(outcome.channel.sendKey),
    nextTicketId: toHex(outcome.ticket.ticketId),
    nextResumptionSecret: toHex(outcome.ticket.resumptionSecret),
    resultPlaintext: toHex(resultPlain),
    resultNonce: toHex(nonceFor(0)),
    result: toHex(resultFrame),
    miss: { retryFull: toHex(encodeMessage(FrameSchema, { status: STATUS.retryFull })) },
  };
}
