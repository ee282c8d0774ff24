/**
 * migrateFileVaultStore on a real file-vault store made by a real vehicle: everything the car
 * knows (identity, keys, a ticket, revocations, request ids, time floor, audit) arrives in the
 * SQLite store, and the car keeps working on it: the phone's ticket still takes the fast path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { openFileVault } from '../../src/store/file-vault.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { migrateFileVaultStore, openSqliteVehicleStore } from '../../src/store/sqlite/index.js';
import { createMockLinkPair } from '../../src/transport/mock/index.js';
import { systemClock } from '../../src/transport/clock.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { openVehicleStore, type VehicleStore } from '../../src/vehicle/store.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { seededRandom } from '../helpers/world.js';

describe('migrating a file-vault store to SQLite', () => {
  it('copies everything and the car keeps working on the new store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-migrate-'));
    try {
      const crypto = createNobleProvider({ randomBytes: seededRandom(21) });
      // Real file I/O: the file vault's fsyncs cannot run on virtual time.
      const clock = systemClock;
      const identityKey = createSoftwareKeyAgreement(crypto);
      const handlers = { [COMMAND.unlock]: () => undefined };
      const open = (store: VehicleStore) => Vehicle.create({ crypto, clock, identityKey, handlers, store });
      let vehicle = await open(await openVehicleStore(await openFileVault(join(dir, 'old'))));
      const vehicleId = vehicle.identity.vehicleId;
      const phone = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
      const friend = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
      await phone.addVehicle({ ...vehicle.peer, name: 'car' });
      await vehicle.enrollOwner(phone.publicKey);
      await vehicle.enrollOwner(friend.publicKey, 'friend');
      const connect = async () => {
        const pair = createMockLinkPair({ clock, connectionIntervalMs: 7.5 });
        const served = vehicle.serve(pair.vehicle);
        const s = await phone.connect(pair.phone, vehicleId, { id: COMMAND.unlock });
        await s.close();
        await served;
        return `${s.path} ${s.firstResult.code}`;
      };
      expect(await connect()).toBe('full OK');
      await vehicle.revokeKey(friend.keyId);
      const old = vehicle.config.store;
      const before = { keys: old.keyCount, tickets: old.ticketCount, revoked: old.revokedCount, floor: old.timeFloor, audit: await old.readAudit({ limit: 10_000 }), identity: old.getIdentity() };
      await old.close();

      const report = await migrateFileVaultStore(join(dir, 'old'), join(dir, 'new'));
      expect(report).toMatchObject({ keys: before.keys, tickets: before.tickets, revokedKeys: 1, audit: before.audit.length, timeFloor: before.floor });
      await expect(migrateFileVaultStore(join(dir, 'old'), join(dir, 'new'))).rejects.toMatchObject({ code: 'STORE_EXISTS' });

      const store = await openSqliteVehicleStore(join(dir, 'new'));
      expect([store.keyCount, store.ticketCount, store.revokedCount, store.timeFloor]).toEqual([before.keys, before.tickets, before.revoked, before.floor]);
      expect(store.getIdentity()).toEqual(before.identity);
      expect(store.getRevokedKey(friend.keyId) !== undefined).toBe(true);
      expect(await store.readAudit({ limit: 10_000 })).toEqual(before.audit);
      vehicle = await open(store);
      expect(await connect()).toBe('resume OK'); // the ticket filed on the file vault works on SQLite (resumed since issue 14)
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses a damaged file-vault store and leaves no SQLite file behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-migrate-'));
    try {
      const vault = await openFileVault(join(dir, 'old'));
      await vault.put('k.00', new TextEncoder().encode('{"not":"a key"}'));
      await vault.close();
      await expect(migrateFileVaultStore(join(dir, 'old'), join(dir, 'new.db'))).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
      await expect(openSqliteVehicleStore(join(dir, 'new.db'))).resolves.toMatchObject({ keyCount: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
