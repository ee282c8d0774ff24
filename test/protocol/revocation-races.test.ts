/**
 * Regression tests for the findings of the independent review: chain revocation, current rights
 * of enrolled issuers, registry races, ticket renewal, refusal timing, share re-keying, and
 * pairing-window options.
 */
import { describe, expect, it } from 'vitest';
import { makeWorld, sleep, T0, type World } from '../helpers/world.js';
import { DAY, share, unlock } from '../helpers/sharing.js';
import { COMMAND, MGMT_COMMAND } from '../../src/protocol/constants.js';
import { KeyArgSchema } from '../../src/protocol/management.js';
import { encodeMessage } from '../../src/wire/schema.js';
import { decodeShareBundle, encodeShareBundle } from '../../src/protocol/grant.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { slowVault } from '../helpers/slow-vault.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { Phone } from '../../src/phone/phone.js';

async function slowWorld(): Promise<World> {
  const holder: { clock?: World['clock'] } = {};
  const w = await makeWorld({ store: await openVehicleStore(slowVault(() => holder.clock)) });
  holder.clock = w.clock;
  return w;
}

async function manage(w: World, owner: Phone, id: number, keyId: Uint8Array) {
  const l = w.link();
  const r = owner.command(l.pair.phone, w.vehicle.identity.vehicleId, { id, data: encodeMessage(KeyArgSchema, { keyId }) }).catch((e: { code: string }) => e.code);
  return { r, served: l.served };
}

describe('grant chains after review', () => {
  it('revoking a middle grant revokes keys enrolled through it, even if the middle key never unlocked', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const mid = await w.newPhone();
    const leaf = await w.newPhone();
    const { grantId } = await share(w, owner, mid, { canShare: true });
    await share(w, mid, leaf);
    expect((await unlock(w, leaf)).ok).toBe(true);
    await w.run(w.vehicle.revokeGrant(grantId, T0 + 7 * DAY));
    expect(w.vehicle.config.store.getKey(leaf.keyId)).toBeUndefined();
    expect((await unlock(w, leaf)).code).toBe('REJECTED');
  });

  it('an enrolled issuer is judged by its current record: suspended or use-limited issuers cannot share', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const mid = await w.newPhone();
    await share(w, owner, mid, { canShare: true });
    expect((await unlock(w, mid)).ok).toBe(true);
    await w.run(w.vehicle.config.store.putKey({ ...w.vehicle.config.store.getKey(mid.keyId)!, suspended: true }));
    const puppet = await w.newPhone();
    await share(w, mid, puppet);
    expect((await unlock(w, puppet)).code).toBe('REJECTED');
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toBe('GRANT_ISSUER_SUSPENDED');

    const limited = await w.newPhone();
    await share(w, owner, limited, { useLimit: 1 });
    expect((await unlock(w, limited)).ok).toBe(true);
    const minted = await w.newPhone();
    await share(w, limited, minted, { useLimit: 1 });
    expect((await unlock(w, minted)).code).toBe('REJECTED');
    expect((await w.vehicle.readAudit()).at(-1)!.detail).toMatch(/GRANT_ISSUER_(CANNOT_SHARE|USE_LIMITED)/);
  });
});

describe('registry races after review', () => {
  it('two owners revoking each other at once leave one owner', async () => {
    const w = await slowWorld();
    const a = await w.run(w.enrolledPhone());
    const b = await w.run(w.enrolledPhone());
    const x = await manage(w, a, MGMT_COMMAND.revokeKey, b.keyId);
    const y = await manage(w, b, MGMT_COMMAND.revokeKey, a.keyId);
    await w.run(Promise.all([x.r, y.r, x.served, y.served]));
    expect(w.vehicle.listKeys().filter((k) => k.role === 'owner')).toHaveLength(1);
  });

  it('a last use spent on two links at once runs the command once', async () => {
    const w = await slowWorld();
    const owner = await w.run(w.enrolledPhone());
    const friend = await w.newPhone();
    await share(w, owner, friend, { useLimit: 2 });
    expect((await unlock(w, friend)).ok).toBe(true);
    const before = w.executed.length;
    const l1 = w.link();
    const l2 = w.link();
    const id = w.vehicle.identity.vehicleId;
    const r = await w.run(Promise.all([
      friend.command(l1.pair.phone, id, { id: COMMAND.unlock }, { forceFull: true }).then((x) => x.code, (e) => e.code),
      friend.command(l2.pair.phone, id, { id: COMMAND.unlock }, { forceFull: true }).then((x) => x.code, (e) => e.code),
    ]));
    await w.run(Promise.all([l1.served, l2.served]));
    expect(r.sort()).toEqual(['OK', 'USE_LIMIT_REACHED']);
    expect(w.executed.length - before).toBe(1);
  });
});

describe('tickets after review', () => {
  it('fast-path tickets keep their first expiry: a full handshake is needed every 7 days', async () => {
    const w = await makeWorld();
    const phone = await w.enrolledPhone();
    expect((await unlock(w, phone)).ok).toBe(true); // full: ticket expires T0 + 7 d
    for (let day = 1; day <= 6; day++) {
      await sleep(w, DAY);
      expect((await unlock(w, phone)).ok).toBe(true);
    }
    expect(w.executed.slice(1).every((e) => e.path === 'fast')).toBe(true);
    await sleep(w, DAY + 1000);
    expect((await unlock(w, phone)).ok).toBe(true);
    expect(w.executed.at(-1)!.path).toBe('full');
  });
});

describe('no timing oracle after review', () => {
  it('an unknown key id costs the vehicle the same signature verification as a bad signature', async () => {
    let verifies = 0;
    const w = await makeWorld();
    const crypto = w.vehicle.config.crypto as CryptoProvider & { verify: CryptoProvider['verify'] };
    const real = crypto.verify.bind(crypto);
    (w.vehicle.config as { crypto: CryptoProvider }).crypto = { ...crypto, verify: (...a) => (verifies++, real(...a)) };
    const stranger = await w.newPhone();
    expect((await unlock(w, stranger)).code).toBe('REJECTED');
    expect(verifies).toBe(1);
  });
});

describe('phone after review', () => {
  it('a share bundle cannot re-key a car the phone already knows', async () => {
    const w = await makeWorld();
    const owner = await w.enrolledPhone();
    const friend = await w.enrolledPhone();
    const { text } = await share(w, owner, await w.newPhone());
    const forged = decodeShareBundle(text);
    forged.vehiclePublicKey = w.crypto.generateKeyPair().publicKey;
    await expect(friend.importShare(encodeShareBundle(forged))).rejects.toMatchObject({ code: 'VEHICLE_KEY_MISMATCH' });
    expect((await unlock(w, friend)).ok).toBe(true);
  });
});

describe('pairing window options after review', () => {
  it('refuses windows that never close, unbounded attempts and short codes; factory reset closes the window', async () => {
    const w = await makeWorld();
    for (const bad of [{ ttlMs: Infinity }, { ttlMs: 60_000, maxAttempts: Number.NaN }, { ttlMs: 60_000, maxAttempts: 100 }, { ttlMs: 60_000, digits: 1 }, { ttlMs: 60_000, code: '123' }]) {
      expect(() => w.vehicle.openPairingWindow(bad)).toThrow(/BAD_PAIRING_OPTION|must/);
    }
    w.vehicle.openPairingWindow({ ttlMs: 60_000, kdf: { logN: 10, r: 8, p: 1 } });
    expect(w.vehicle.pairing.isOpen).toBe(true);
    await w.run(w.vehicle.factoryReset({ confirmed: true }));
    expect(w.vehicle.pairing.isOpen).toBe(false);
  });
});
