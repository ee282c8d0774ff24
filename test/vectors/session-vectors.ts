/**
 * Deterministic test vectors for docs/PROTOCOL.md: fixed keys and ephemerals run through the
 * pure protocol functions. `npm run vectors` writes test/vectors/session-v1.json from this;
 * test/protocol/vectors.test.ts regenerates and compares, so the spec's numbers stay true.
 *
 * Every value follows from `inputs` alone: the crypto provider here has NO randomness (a call
 * throws), and signatures are RFC 6979 deterministic without extra entropy (a vector-only signer,
 * deterministic-signer.ts), so an implementer reproduces every byte, signatures included.
 */
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import type { VehicleIdentity } from '../../src/protocol/vehicle-handshake.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import type { CryptoProvider, KeyPair, Signer } from '../../src/crypto/provider.js';
import { createDeterministicSigner } from './deterministic-signer.js';
import { concatBytes, fromHex, toHex, u64be, utf8 } from '../../src/crypto/bytes.js';
import { ADVERTISING_KEY_LABEL, COMMAND, COMMAND_FLAG, MGMT_COMMAND, PROTOCOL_VERSION, STATUS } from '../../src/protocol/constants.js';
import { computePseudonym, pseudonymSlot } from '../../src/ble/pseudonym.js';
import {
  challengeHash,
  deriveAuthKeys,
  deriveSessionKeys,
  fastAuthHash,
  fullAuthHash,
  initialHash,
  keyIdOf,
  phoneSignaturePayload,
  sessionHash,
} from '../../src/protocol/keyschedule.js';
import { consumeChallenge, consumeResult, createFastAuth, createFullAuth, precomputeFullAuth, prepareFullAuth } from '../../src/protocol/phone-handshake.js';
import { createChallenge, consumeAuth, finishHandshake, openFastAuth, openFullAuth, verifyFullAuth } from '../../src/protocol/vehicle-handshake.js';
import { createChannel, sealFrame } from '../../src/protocol/channel.js';
import { CommandSchema, ResultSchema, FrameSchema, FullAuthBodySchema, FastAuthBodySchema } from '../../src/protocol/messages.js';
import { issueGrant, decodeGrant, encodeShareBundle, GrantBodySchema } from '../../src/protocol/grant.js';
import { KeyArgSchema } from '../../src/protocol/management.js';
import { encodeMessage } from '../../src/wire/schema.js';
import { computeVerifier, deriveSpake2PlusSecrets, proverFinish, proverStart, verifierFinish, verifierRespond } from '../../src/pairing/spake2plus.js';
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
} from '../../src/protocol/pairing.js';
import { nonceFor } from '../../src/protocol/keyschedule.js';

/** The vectors' only "randomness": none. Anything that draws random bytes would not be reproducible from `inputs`. */
function noRandomness(): Uint8Array {
  throw new Error('vector generation must not draw random bytes: every value must follow from inputs');
}

const pair = (crypto: CryptoProvider, privHex: string): KeyPair => {
  const privateKey = fromHex(privHex);
  return { privateKey, publicKey: crypto.publicKeyFromPrivate(privateKey) };
};

/** Fixed inputs (private scalars are arbitrary values below the group order). */
export const VECTOR_INPUTS = {
  vehicleId: '000102030405060708090a0b0c0d0e0f',
  vehicleStaticPrivate: '1111111111111111111111111111111111111111111111111111111111111111',
  vehicleEphemeralPrivate: '2222222222222222222222222222222222222222222222222222222222222222',
  vehicleEphemeral2Private: '2323232323232323232323232323232323232323232323232323232323232323',
  phoneDevicePrivate: '3333333333333333333333333333333333333333333333333333333333333333',
  phoneEphemeralPrivate: '4444444444444444444444444444444444444444444444444444444444444444',
  phoneEphemeral2Private: '4545454545454545454545454545454545454545454545454545454545454545',
  friendDevicePrivate: '5555555555555555555555555555555555555555555555555555555555555555',
  // Request ids (exactly-once retries, docs/PROTOCOL.md §6.4) of the full- and fast-path commands.
  requestId: '0102030405060708',
  fastRequestId: '1112131415161718',
  // a_V (docs/PROTOCOL.md §2): the advertising key and every pseudonym derive from it.
  advertisingSecret: '9999999999999999999999999999999999999999999999999999999999999999',
  // Pseudonym vector: Unix time in ms and rotation period (docs/BLE.md §3).
  pseudonymTimeMs: 1_767_225_600_000,
  pseudonymRotationMs: 300_000,
  // Grant (docs/PROTOCOL.md §8.1): issued by the phone device key to the friend key.
  grantId: 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf',
  grantCommands: [1, 2],
  grantNotBeforeMs: 1_767_225_600_000,
  grantNotAfterMs: 1_767_830_400_000,
  grantUseLimit: 10,
  grantName: 'friend',
  // Owner pairing (docs/PROTOCOL.md §10): code, scrypt offer, the pairing Challenge's e_V, SPAKE2+ x and y, enrol name.
  pairingCode: '12345678',
  pairingSalt: '5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a',
  pairingLogN: 10,
  pairingR: 8,
  pairingP: 1,
  pairingVehicleEphemeralPrivate: '2424242424242424242424242424242424242424242424242424242424242424',
  pairingX: '6060606060606060606060606060606060606060606060606060606060606060',
  pairingY: '7070707070707070707070707070707070707070707070707070707070707070',
  pairingEnrollName: 'owner',
} as const;

/** Generates every vector; hex strings throughout. */
export async function generateSessionVectors(): Promise<Record<string, unknown>> {
  const crypto = createNobleProvider({ randomBytes: noRandomness });
  const I = VECTOR_INPUTS;
  const copy = (k: KeyPair): KeyPair => ({ privateKey: k.privateKey.slice(), publicKey: k.publicKey.slice() });
  const vStatic = pair(crypto, I.vehicleStaticPrivate);
  const identity = { vehicleId: fromHex(I.vehicleId), publicKey: vStatic.publicKey, keyAgreement: createSoftwareKeyAgreement(crypto, vStatic.privateKey) };
  const vEph = pair(crypto, I.vehicleEphemeralPrivate);
  const pEph = pair(crypto, I.phoneEphemeralPrivate);
  const signer = createDeterministicSigner(fromHex(I.phoneDevicePrivate));
  const advertisingKey = crypto.hkdfSha256(fromHex(I.advertisingSecret), fromHex(I.vehicleId), utf8(ADVERTISING_KEY_LABEL), 32);
  const keyId = keyIdOf(crypto, signer.publicKey);
  const hex = toHex;

  // ---- full path ----
  const ch = createChallenge(crypto, identity, { ephemeral: copy(vEph) });
  const h0 = initialHash(crypto, identity.vehicleId, identity.publicKey);
  const h1 = challengeHash(crypto, h0, ch.bytes);
  const command = { id: COMMAND.unlock, flags: COMMAND_FLAG.userPresent, requestId: fromHex(I.requestId) };
  const phoneCh = consumeChallenge(crypto, identity, ch.bytes);
  const prep = prepareFullAuth(crypto, phoneCh, keyId, command, precomputeFullAuth(crypto, identity, copy(pEph)));
  const signature = await signer.sign(prep.toBeSigned);
  const auth = createFullAuth(crypto, prep.state, signature);
  const h2 = fullAuthHash(crypto, h1, PROTOCOL_VERSION, pEph.publicKey);
  const ee = crypto.ecdh(pEph.privateKey, vEph.publicKey);
  const es = crypto.ecdh(pEph.privateKey, vStatic.publicKey);
  const authKeys = deriveAuthKeys(crypto, h2, 'full', ee.slice(), es.slice());
  const commandBytes = encodeMessage(CommandSchema, command);

  const opened = openFullAuth(crypto, identity, ch.state, consumeAuth(ch.state, auth.bytes));
  if (!verifyFullAuth(crypto, opened, signer.publicKey)) throw new Error('vector: signature does not verify');
  const vKeys = finishHandshake(crypto, opened);
  const h3 = sessionHash(crypto, h2, opened.sealed);
  const vChannel = createChannel('vehicle', { ...vKeys, kV2P: vKeys.kV2P.slice(), kP2V: vKeys.kP2V.slice() });
  const resultPlain = encodeMessage(ResultSchema, { status: STATUS.ok });
  const result = sealFrame(crypto, vChannel, resultPlain);
  const outcome = consumeResult(crypto, auth.state, result);
  if (outcome.kind !== 'session') throw new Error('vector: phone did not accept the result');
  const nextCmd = encodeMessage(CommandSchema, { id: COMMAND.lock });
  const pChannel = outcome.channel;
  const frame1 = sealFrame(crypto, pChannel, nextCmd);

  // ---- fast path with the ticket from the full session ----
  const vEph2 = pair(crypto, I.vehicleEphemeral2Private);
  const pEph2 = pair(crypto, I.phoneEphemeral2Private);
  const ch2 = createChallenge(crypto, identity, { ephemeral: copy(vEph2) });
  const phoneCh2 = consumeChallenge(crypto, identity, ch2.bytes);
  const fastCmd = { id: COMMAND.lock, requestId: fromHex(I.fastRequestId) };
  const fast = createFastAuth(crypto, phoneCh2, outcome.ticket, fastCmd, copy(pEph2));
  const fastH1 = challengeHash(crypto, h0, ch2.bytes);
  const fastH2 = fastAuthHash(crypto, fastH1, PROTOCOL_VERSION, pEph2.publicKey, outcome.ticket.ticketId);
  const fastEe = crypto.ecdh(pEph2.privateKey, vEph2.publicKey);
  const fastKeys = deriveAuthKeys(crypto, fastH2, 'fast', fastEe.slice(), vKeys.resumptionSecret.slice());
  const fastOpened = openFastAuth(crypto, ch2.state, consumeAuth(ch2.state, fast.bytes), vKeys.resumptionSecret);
  if (!fastOpened) throw new Error('vector: fast path did not open');
  const fastSession = finishHandshake(crypto, fastOpened);
  const fastH3 = sessionHash(crypto, fastH2, fastOpened.sealed);
  const fastResult = sealFrame(crypto, createChannel('vehicle', { ...fastSession, kV2P: fastSession.kV2P.slice(), kP2V: fastSession.kP2V.slice() }), resultPlain);

  // ---- grant ----
  const friend = pair(crypto, I.friendDevicePrivate);
  const grant = await issueGrant(crypto, signer, {
    vehicleId: identity.vehicleId,
    subjectKey: friend.publicKey,
    commands: [...I.grantCommands],
    notBeforeMs: I.grantNotBeforeMs,
    notAfterMs: I.grantNotAfterMs,
    useLimit: I.grantUseLimit,
    name: I.grantName,
    grantId: fromHex(I.grantId),
  });
  const grantDecoded = decodeGrant(grant);

  // ---- owner pairing (SPAKE2+ with small scrypt cost so the vector is quick to check) ----
  const pairing = await pairingVector(crypto, identity, signer, advertisingKey);
  const slot = pseudonymSlot(I.pseudonymTimeMs, I.pseudonymRotationMs);
  const friendKeyId = keyIdOf(crypto, friend.publicKey);
  const revokeKeyArg = encodeMessage(KeyArgSchema, { keyId: friendKeyId });

  return {
    description: 'ble-digital-key protocol 1.1 (on-wire version 2) test vectors (docs/PROTOCOL.md §12). Byte values hex; every value follows from inputs.',
    inputs: {
      ...I,
      vehicleStaticPublic: hex(vStatic.publicKey),
      vehicleEphemeralPublic: hex(vEph.publicKey),
      phoneDevicePublic: hex(signer.publicKey),
      phoneEphemeralPublic: hex(pEph.publicKey),
      command: hex(commandBytes),
      fastCommand: hex(encodeMessage(CommandSchema, fastCmd)),
      sessionCommand: hex(nextCmd),
      resultPlaintext: hex(resultPlain),
      friendPublic: hex(friend.publicKey),
      managementTargetKeyId: hex(friendKeyId),
    },
    full: {
      challenge: hex(ch.bytes),
      h0: hex(h0),
      h1: hex(h1),
      h2: hex(h2),
      ee: hex(ee),
      es: hex(es),
      kAuth: hex(authKeys.kAuth),
      chain: hex(authKeys.chain),
      keyId: hex(keyId),
      toBeSigned: hex(phoneSignaturePayload(h2, keyId, commandBytes)),
      phoneSignature: hex(signature),
      authBodyPlaintext: hex(encodeMessage(FullAuthBodySchema, { keyId, signature, command })),
      auth: hex(auth.bytes),
      h3: hex(h3),
      kV2P: hex(vKeys.kV2P),
      kP2V: hex(vKeys.kP2V),
      resumptionSecret: hex(vKeys.resumptionSecret),
      ticketId: hex(vKeys.ticketId),
      resultPlaintext: hex(resultPlain),
      result: hex(result),
      sessionCommandPlaintext: hex(nextCmd),
      sessionCommandFrame: hex(frame1),
      clearRejected: hex(encodeMessage(FrameSchema, { status: STATUS.rejected })),
    },
    fast: {
      vehicleEphemeralPublic: hex(vEph2.publicKey),
      phoneEphemeralPublic: hex(pEph2.publicKey),
      challenge: hex(ch2.bytes),
      h1: hex(fastH1),
      ticketId: hex(outcome.ticket.ticketId),
      h2: hex(fastH2),
      ee: hex(fastEe),
      kAuth: hex(fastKeys.kAuth),
      chain: hex(fastKeys.chain),
      authBodyPlaintext: hex(encodeMessage(FastAuthBodySchema, { command: fastCmd })),
      auth: hex(fast.bytes),
      h3: hex(fastH3),
      kV2P: hex(fastSession.kV2P),
      kP2V: hex(fastSession.kP2V),
      nextResumptionSecret: hex(fastSession.resumptionSecret),
      nextTicketId: hex(fastSession.ticketId),
      result: hex(fastResult),
    },
    grant: {
      friendPublic: hex(friend.publicKey),
      body: hex(grantDecoded.grant.body),
      signature: hex(grantDecoded.grant.signature),
      grant: hex(grant),
      // The friend's share bundle as text: base64url without padding (RFC 4648 §5).
      shareBundle: encodeShareBundle({ vehicleId: identity.vehicleId, vehiclePublicKey: identity.publicKey, grants: [grant], advertisingKey }),
    },
    management: {
      revokeKeyArg: hex(revokeKeyArg),
      revokeKeyCommand: hex(encodeMessage(CommandSchema, { id: MGMT_COMMAND.revokeKey, data: revokeKeyArg })),
    },
    advertising: {
      advertisingKey: hex(advertisingKey),
      slot,
      pseudonymInput: hex(concatBytes(utf8('DK1 adv'), u64be(slot))),
      pseudonym: hex(computePseudonym(crypto, advertisingKey, slot)),
    },
    pairing,
    rejects: rejectVectors(friend.publicKey, keyIdOf(crypto, signer.publicKey), identity.vehicleId, pairing.pairStart!),
    labels: Object.fromEntries(Object.entries(await import('../../src/protocol/constants.js').then((m) => m.LABELS)).map(([k, v]) => [k, hex(utf8(v))])),
  };
}

/**
 * Inputs a receiver must refuse, with the error it must give: grant bodies with a second
 * encoding (§8.1), Frames with both or neither field (§3), a PairStart read as an Auth (§3.2).
 */
function rejectVectors(subjectKey: Uint8Array, issuerKeyId: Uint8Array, vehicleId: Uint8Array, pairStart: string): Array<Record<string, string>> {
  const body = toHex(
    encodeMessage(GrantBodySchema, { grantId: new Uint8Array(16).fill(0xb0), vehicleId, subjectKey, issuerKeyId, commands: [1, 2], notBefore: 1_767_225_600, notAfter: 1_767_830_400 }),
  );
  const swap = (from: string, to: string): string => {
    if (body.split(from).length !== 2) throw new Error(`vector: ${from} is not unique in the grant body`);
    return body.replace(from, to);
  };
  const sealed17 = '51' + '00'.repeat(17);
  return [
    { name: 'grant body, canonical (accepted)', schema: 'GrantBody', hex: body, error: '' },
    { name: 'grant body with 8: false', schema: 'GrantBody', hex: 'a8' + body.slice(2) + '08f4', error: 'CODEC_RANGE' },
    { name: 'grant body with commands [2, 1]', schema: 'GrantBody', hex: swap('04820102', '04820201'), error: 'CODEC_UNSORTED' },
    { name: 'grant body with commands [1, 1]', schema: 'GrantBody', hex: swap('04820102', '04820101'), error: 'CODEC_UNSORTED' },
    { name: 'Frame with both fields', schema: 'Frame', hex: 'a2000101' + sealed17, error: 'BAD_FRAME' },
    { name: 'Frame with neither field', schema: 'Frame', hex: 'a0', error: 'BAD_FRAME' },
    { name: 'a PairStart decoded as an Auth (no pairing window)', schema: 'Auth', hex: pairStart, error: 'CODEC_UNKNOWN_KEY' },
  ];
}

/** One owner pairing run with fixed code, salt, scalars and ephemeral: every message in hex. */
async function pairingVector(crypto: CryptoProvider, identity: VehicleIdentity, signer: Signer, advertisingKey: Uint8Array): Promise<Record<string, string>> {
  const hex = toHex;
  const I = VECTOR_INPUTS;
  const code = I.pairingCode;
  const salt = fromHex(I.pairingSalt);
  const offer = { salt, logN: I.pairingLogN, r: I.pairingR, p: I.pairingP };
  const vEph = pair(crypto, I.pairingVehicleEphemeralPrivate);
  const challenge = createChallenge(crypto, identity, { ephemeral: vEph, pairing: offer });
  const context = pairingContext(challenge.bytes);
  const { w0, w1 } = deriveSpake2PlusSecrets(crypto, utf8(code), salt, PAIRING_ID_PROVER, PAIRING_ID_VERIFIER, scryptParamsOf(offer));
  const { L } = computeVerifier(crypto, w0, w1);
  const x = fromHex(I.pairingX);
  const y = fromHex(I.pairingY);
  const ids = { context, idProver: PAIRING_ID_PROVER, idVerifier: PAIRING_ID_VERIFIER };
  const prover = proverStart(crypto, { w0, w1, x, ...ids });
  const verifier = verifierRespond(crypto, { w0, L, y, ...ids }, prover.shareP);
  const { confirmP, sharedKey } = proverFinish(prover.state, verifier.shareV, verifier.confirmV);
  const vShared = verifierFinish(verifier.state, confirmP).sharedKey;
  if (hex(vShared) !== hex(sharedKey)) throw new Error('vector: pairing keys differ');
  const keys = pairingKeys(crypto, sharedKey, context);
  const proof = await signer.sign(pairingProofPayload(keys.aad, prover.shareP, verifier.shareV));
  const toBeSigned = pairingProofPayload(keys.aad, prover.shareP, verifier.shareV);
  const enroll = encodeMessage(PairEnrollSchema, { publicKey: signer.publicKey, signature: proof, name: I.pairingEnrollName });
  // The welcome carries the advertising key derived from inputs.advertisingSecret (§2), as a vehicle sends it.
  const welcome = encodeMessage(PairWelcomeSchema, { vehicleId: identity.vehicleId, publicKey: identity.publicKey, advertisingKey });
  return {
    code,
    vehicleEphemeralPublic: hex(vEph.publicKey),
    challenge: hex(challenge.bytes),
    context: hex(context),
    w0: hex(w0),
    w1: hex(w1),
    L: hex(L),
    x: hex(x),
    y: hex(y),
    pairStart: hex(encodeMessage(PairStartSchema, { shareP: prover.shareP })),
    pairReply: hex(encodeMessage(PairReplySchema, { shareV: verifier.shareV, confirmV: verifier.confirmV })),
    sharedKey: hex(sharedKey),
    kP2V: hex(keys.p2v),
    kV2P: hex(keys.v2p),
    aad: hex(keys.aad),
    proofToBeSigned: hex(toBeSigned),
    proofSignature: hex(proof),
    pairEnrollPlaintext: hex(enroll),
    pairConfirm: hex(encodeMessage(PairConfirmSchema, { confirmP, sealed: crypto.aeadSeal(keys.p2v, nonceFor(0), enroll, keys.aad) })),
    pairWelcomePlaintext: hex(welcome),
    pairDone: hex(encodeMessage(PairDoneSchema, { sealed: crypto.aeadSeal(keys.v2p, nonceFor(0), welcome, keys.aad) })),
  };
}
