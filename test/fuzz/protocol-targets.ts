/**
 * Fuzz targets for every protocol decoder and for the vehicle's own handling of an untrusted
 * Auth (decode, version check, ECDH, AEAD open): each must fail with typed errors only.
 */
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import fc from 'fast-check';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { keyIdOf } from '../../src/protocol/keyschedule.js';
import {
  AuthSchema,
  ChallengeSchema,
  CommandSchema,
  FastAuthBodySchema,
  FrameSchema,
  FullAuthBodySchema,
  PairingOfferSchema,
  ResultSchema,
} from '../../src/protocol/messages.js';
import { GrantBodySchema, GrantSchema, ShareBundleSchema, decodeGrant, decodeShareBundle } from '../../src/protocol/grant.js';
import { AuditPageSchema, GrantArgSchema, KeyArgSchema, KeyPageSchema, PageArgSchema } from '../../src/protocol/management.js';
import {
  PairConfirmSchema,
  PairDoneSchema,
  PairEnrollSchema,
  PairReplySchema,
  PairStartSchema,
  PairWelcomeSchema,
  PairingRecordSchema,
} from '../../src/protocol/pairing.js';
import { consumeAuth, createChallenge, openFastAuth, openFullAuth } from '../../src/protocol/vehicle-handshake.js';
import { consumeChallenge, prepareFullAuth, createFullAuth, createFastAuth } from '../../src/protocol/phone-handshake.js';
import { schemaTarget, type FuzzTarget } from './targets.js';
import { createResumeAuth, openResumeAuth, ResumeAuthSchema } from '../../src/protocol/resume.js';
import { decodeMessage } from '../../src/wire/schema.js';
import { encodeMessage } from '../../src/wire/schema.js';

const crypto = createNodeProvider();
const rnd = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17) & 0xff);
const point = crypto.generateKeyPair().publicKey;
const vehicleKp = crypto.generateKeyPair();
const identity = { vehicleId: rnd(16, 1), publicKey: vehicleKp.publicKey, keyAgreement: createSoftwareKeyAgreement(crypto, vehicleKp.privateKey) };

function sampled<T>(arb: fc.Arbitrary<T>, n: number): T[] {
  return fc.sample(arb, { numRuns: n, seed: 42 });
}
const command = fc.record(
  { id: fc.integer({ min: 1, max: 65535 }), flags: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ minLength: 1, maxLength: 40 }) },
  { requiredKeys: ['id'] },
);

/** The vehicle's whole pre-authentication path on one untrusted Auth. */
function vehicleAuthDecode(bytes: Uint8Array): unknown {
  const { state } = createChallenge(crypto, identity, { ephemeral: crypto.generateKeyPair() });
  const auth = consumeAuth(state, bytes);
  if (auth.ticketId) return openFastAuth(crypto, state, auth, rnd(32, 9));
  return openFullAuth(crypto, identity, state, auth);
}

/** The vehicle's whole resume path on one untrusted ResumeAuth (docs/PROTOCOL.md §14.4), past the ticket lookup. */
function vehicleResumeDecode(bytes: Uint8Array): unknown {
  const { state } = createChallenge(crypto, identity, { ephemeral: crypto.generateKeyPair() });
  const msg = decodeMessage(ResumeAuthSchema, bytes);
  // The seeds' ticket secret and a clock that puts their age inside the window: mutations reach the AEAD.
  return openResumeAuth(crypto, identity, state, msg, rnd(32, 9), { nowMs: 1_000_000 + 5_000, issuedAtMs: 1_000_000 }, () => true);
}

/** Real ResumeAuth messages as seeds for the resume target. */
function resumeSeeds(cmds: Array<{ id: number }>): Uint8Array[] {
  return cmds.slice(0, 4).map((c, i) => createResumeAuth(crypto, identity, { ticketId: rnd(16, i), resumptionSecret: rnd(32, 9) }, c, 5_000 - i).bytes);
}

/** Real Auth messages, full and fast, as seeds for the vehicle target. */
async function authSeeds(): Promise<Uint8Array[]> {
  const seeds: Uint8Array[] = [];
  const signer = createSoftwareSigner(crypto);
  for (let i = 0; i < 4; i++) {
    const ch = createChallenge(crypto, identity);
    const phone = consumeChallenge(crypto, identity, ch.bytes);
    const prep = prepareFullAuth(crypto, phone, keyIdOf(crypto, signer.publicKey), { id: COMMAND.unlock, flags: i & 1 });
    seeds.push(createFullAuth(crypto, prep.state, await signer.sign(prep.toBeSigned)).bytes);
    const ch2 = consumeChallenge(crypto, identity, createChallenge(crypto, identity).bytes);
    seeds.push(createFastAuth(crypto, ch2, { ticketId: rnd(16, i), resumptionSecret: rnd(32, 9) }, { id: COMMAND.lock }).bytes);
  }
  return seeds;
}

/** Protocol fuzz targets, in two groups so CI can run them in parallel files. */
export async function protocolTargets(): Promise<{ session: FuzzTarget[]; lifecycle: FuzzTarget[] }> {
  const cmds = sampled(command, 12);
  const session: FuzzTarget[] = [
    schemaTarget(ChallengeSchema, [
      { versions: [2], ephemeral: point },
      { versions: [1, 2, 3], ephemeral: point, pairing: { salt: rnd(16, 2), logN: 15, r: 8, p: 1 } },
    ]),
    schemaTarget(AuthSchema, [
      { version: 2, ephemeral: point, sealed: rnd(120, 3) },
      { version: 2, ephemeral: point, ticketId: rnd(16, 4), sealed: rnd(30, 5) },
    ]),
    schemaTarget(CommandSchema, cmds),
    schemaTarget(FullAuthBodySchema, cmds.slice(0, 4).map((c, i) => ({ keyId: rnd(8, i), signature: rnd(64, i), command: c, ...(i & 1 ? { grants: [rnd(200, i)] } : {}) }))),
    schemaTarget(FastAuthBodySchema, cmds.slice(0, 4).map((c) => ({ command: c }))),
    schemaTarget(FrameSchema, [{ status: 1 }, { sealed: rnd(40, 6) }]),
    schemaTarget(ResultSchema, [{ status: 0 }, { status: 16, data: rnd(20, 7) }]),
    schemaTarget(PairingOfferSchema, [{ salt: rnd(16, 8), logN: 15, r: 8, p: 1 }]),
    { name: 'vehicle:auth', decode: vehicleAuthDecode, seeds: await authSeeds() },
    schemaTarget(ResumeAuthSchema, [{ version: 1, ephemeral: point, ticketId: rnd(16, 4), sealed: rnd(30, 5), ageMs: 1_000 }]),
    { name: 'vehicle:resume', decode: vehicleResumeDecode, seeds: resumeSeeds(cmds) },
    {
      name: 'phone:challenge',
      decode: (b) => consumeChallenge(crypto, identity, b),
      seeds: [createChallenge(crypto, identity).bytes],
    },
  ];
  const grantBody = { grantId: rnd(16, 1), vehicleId: rnd(16, 2), subjectKey: point, issuerKeyId: rnd(8, 3), commands: [1, 2], notBefore: 1_700_000_000, notAfter: 1_800_000_000 };
  const grant = { body: rnd(120, 4), signature: rnd(64, 5) };
  const lifecycle: FuzzTarget[] = [
    schemaTarget(GrantBodySchema, [grantBody, { ...grantBody, useLimit: 3, canShare: true, name: 'friend' }]),
    schemaTarget(GrantSchema, [grant]),
    schemaTarget(ShareBundleSchema, [{ vehicleId: rnd(16, 1), vehiclePublicKey: point, grants: [rnd(180, 2)], advertisingKey: rnd(32, 3) }]),
    { name: 'grant:decode', decode: decodeGrant, seeds: [encodeMessage(GrantSchema, { body: encodeMessage(GrantBodySchema, grantBody), signature: rnd(64, 7) })] },
    {
      name: 'share:decode',
      decode: (b) => decodeShareBundle(b),
      seeds: [encodeMessage(ShareBundleSchema, { vehicleId: rnd(16, 1), vehiclePublicKey: point, grants: [rnd(180, 2)] })],
    },
    schemaTarget(KeyArgSchema, [{ keyId: rnd(8, 1) }, { keyId: rnd(8, 2), name: 'Bob' }]),
    schemaTarget(GrantArgSchema, [{ grantId: rnd(16, 1), notAfter: 1_800_000_000 }]),
    schemaTarget(PageArgSchema, [{}, { offset: 20 }]),
    schemaTarget(KeyPageSchema, [{ total: 2, keys: [{ keyId: rnd(8, 1), owner: true, name: 'a', suspended: false }] }]),
    schemaTarget(AuditPageSchema, [{ total: 1, records: [{ timeMs: 1_700_000_000_000, outcome: 'OK', path: 'full', command: 1 }] }]),
    schemaTarget(PairStartSchema, [{ shareP: rnd(65, 1) }]),
    schemaTarget(PairReplySchema, [{ shareV: rnd(65, 1), confirmV: rnd(32, 2) }]),
    schemaTarget(PairConfirmSchema, [{ confirmP: rnd(32, 1), sealed: rnd(140, 2) }]),
    schemaTarget(PairDoneSchema, [{ sealed: rnd(100, 1) }]),
    schemaTarget(PairEnrollSchema, [{ publicKey: point, signature: rnd(64, 1), name: 'phone' }]),
    schemaTarget(PairWelcomeSchema, [{ vehicleId: rnd(16, 1), publicKey: point, advertisingKey: rnd(32, 2) }]),
    schemaTarget(PairingRecordSchema, [{ salt: rnd(16, 1), logN: 15, r: 8, p: 1, w0: rnd(32, 2), L: rnd(65, 3) }]),
  ];
  return { session, lifecycle };
}

