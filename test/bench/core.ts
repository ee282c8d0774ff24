/**
 * The vehicle's protocol core alone: the pure, synchronous handshake functions of
 * src/protocol/vehicle-handshake.ts run back to back with no driver, no store and no link
 * (docs/BENCHMARKS.md §Validation). Between the floor (raw crypto) and the Link windows (the whole
 * vehicle), it tells how much of the overhead is the core's own work (CBOR, transcript
 * concatenation, key schedule plumbing) and how much is the driver's (store writes, audit,
 * handler, promise hops).
 *
 * The phone's messages are made outside the timed region with the phone-side functions.
 */
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { closeChannel, createChannel, sealFrame } from '../../src/protocol/channel.js';
import { COMMAND, RESUMPTION_SECRET_BYTES, TICKET_ID_BYTES } from '../../src/protocol/constants.js';
import { keyIdOf } from '../../src/protocol/keyschedule.js';
import { ResultSchema } from '../../src/protocol/messages.js';
import { consumeChallenge, createFastAuth, createFullAuth, prepareFullAuth } from '../../src/protocol/phone-handshake.js';
import {
  consumeAuth,
  createChallenge,
  finishHandshake,
  openFastAuth,
  openFullAuth,
  prepareChallenge,
  verifyFullAuth,
  type VehicleIdentity,
} from '../../src/protocol/vehicle-handshake.js';
import { encodeMessage } from '../../src/wire/schema.js';

/** Fixed keys of the core runs. */
export interface CoreCase {
  readonly crypto: CryptoProvider;
  readonly identity: VehicleIdentity;
  readonly phone: { privateKey: Uint8Array; publicKey: Uint8Array; keyId: Uint8Array };
}

/** Builds the identities once per provider. */
export function prepareCore(crypto: CryptoProvider): CoreCase {
  const v = crypto.generateKeyPair();
  const p = crypto.generateKeyPair();
  return {
    crypto,
    identity: { vehicleId: crypto.randomBytes(16), publicKey: v.publicKey, keyAgreement: createSoftwareKeyAgreement(crypto, v.privateKey) },
    phone: { ...p, keyId: keyIdOf(crypto, p.publicKey) },
  };
}

/**
 * One vehicle-side handshake of `path` through the pure core; returns its time in ms: challenge
 * (prepared while idle, as the pool provides), consume + open (+ verify) the Auth,
 * session keys, sealed Result.
 */
export function runCore(c: CoreCase, path: 'full' | 'fast'): number {
  const { crypto, identity, phone } = c;
  const ephemeral = crypto.generateKeyPair();
  const peer = { vehicleId: identity.vehicleId, publicKey: identity.publicKey };
  const command = { id: COMMAND.unlock };
  // Outside the timed region: a challenge to answer, and the phone's Auth for it.
  const probe = createChallenge(crypto, identity, { ephemeral: { ...ephemeral, privateKey: ephemeral.privateKey.slice() } });
  const challenged = consumeChallenge(crypto, peer, probe.bytes);
  const ticket = { ticketId: crypto.randomBytes(TICKET_ID_BYTES), resumptionSecret: crypto.randomBytes(RESUMPTION_SECRET_BYTES) };
  const secret = ticket.resumptionSecret.slice();
  let authBytes: Uint8Array;
  if (path === 'full') {
    const prepared = prepareFullAuth(crypto, challenged, phone.keyId, command);
    authBytes = createFullAuth(crypto, prepared.state, crypto.sign(phone.privateKey, prepared.toBeSigned)).bytes;
  } else {
    authBytes = createFastAuth(crypto, challenged, ticket, command).bytes;
  }

  // The vehicle's pool prepares the challenge (bytes, h1) while idle: outside the timed region too.
  const prepared = prepareChallenge(crypto, identity, ephemeral);
  const t0 = performance.now();
  const { state } = createChallenge(crypto, identity, { prepared });
  const auth = consumeAuth(state, authBytes);
  let ok: boolean;
  let keys;
  if (path === 'full') {
    const opened = openFullAuth(crypto, identity, state, auth);
    ok = verifyFullAuth(crypto, opened, phone.publicKey);
    keys = finishHandshake(crypto, opened);
  } else {
    const opened = openFastAuth(crypto, state, auth, secret);
    ok = opened !== null;
    keys = opened && finishHandshake(crypto, opened);
  }
  if (keys) {
    const channel = createChannel('vehicle', keys);
    sealFrame(crypto, channel, encodeMessage(ResultSchema, { status: 0 }));
    closeChannel(channel);
  }
  const dt = performance.now() - t0;
  if (!ok) throw new Error(`core ${path}: the Auth did not verify`);
  return dt;
}
