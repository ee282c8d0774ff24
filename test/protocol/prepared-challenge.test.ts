import { describe, expect, it } from 'vitest';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { challengeHash, initialHash } from '../../src/protocol/keyschedule.js';
import { createChallenge, prepareChallenge, type VehicleIdentity } from '../../src/protocol/vehicle-handshake.js';

const crypto = createNodeProvider();

function identity(): VehicleIdentity {
  const keyAgreement = createSoftwareKeyAgreement(crypto);
  return { vehicleId: crypto.randomBytes(16), publicKey: keyAgreement.publicKey, keyAgreement };
}

/** The h1 the spec defines for these Challenge bytes (docs/PROTOCOL.md §4), computed from scratch. */
const specH1 = (id: VehicleIdentity, bytes: Uint8Array) => challengeHash(crypto, initialHash(crypto, id.vehicleId, id.publicKey), bytes);

describe('prepared challenges (the vehicle pool)', () => {
  it('give the same bytes and h1 as a challenge made on the spot with the same ephemeral', () => {
    const id = identity();
    const ephemeral = crypto.generateKeyPair();
    const prepared = prepareChallenge(crypto, id, ephemeral);
    const used = createChallenge(crypto, id, { prepared });
    const fresh = createChallenge(crypto, id, { ephemeral });
    expect(used.bytes).toEqual(fresh.bytes);
    expect(used.state).toMatchObject({ stage: 'challenged', h1: specH1(id, fresh.bytes), fastFailed: false });
  });

  it('are re-made for another identity (factory reset): same ephemeral, the new identity h1', () => {
    const before = identity();
    const after = identity();
    const prepared = prepareChallenge(crypto, before, crypto.generateKeyPair());
    const used = createChallenge(crypto, after, { prepared });
    expect(used.state).toMatchObject({ h1: specH1(after, used.bytes) });
    expect(used.state).not.toMatchObject({ h1: prepared.h1 });
  });

  it('are re-made when a pairing offer is due: the offer is in the bytes and in h1', () => {
    const id = identity();
    const prepared = prepareChallenge(crypto, id);
    const pairing = { salt: crypto.randomBytes(16), logN: 15, r: 8, p: 1 };
    const used = createChallenge(crypto, id, { prepared, pairing });
    expect(used.bytes).not.toEqual(prepared.bytes);
    expect(used.bytes).toEqual(createChallenge(crypto, id, { ephemeral: prepared.ephemeral, pairing }).bytes);
    expect(used.state).toMatchObject({ h1: specH1(id, used.bytes) });
  });

  it('h0 is cached per identity but never stale: an identity changed in place gets its new h0', () => {
    const id = identity();
    const first = createChallenge(crypto, id);
    expect(first.state).toMatchObject({ h1: specH1(id, first.bytes) });
    id.vehicleId = crypto.randomBytes(16);
    const second = createChallenge(crypto, id);
    expect(second.state).toMatchObject({ h1: specH1(id, second.bytes) });
    id.vehicleId[0] = (id.vehicleId[0] ?? 0) ^ 1; // the same buffer, overwritten
    const third = createChallenge(crypto, id);
    expect(third.state).toMatchObject({ h1: specH1(id, third.bytes) });
  });
});
