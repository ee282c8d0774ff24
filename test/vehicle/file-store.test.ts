import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFileVault } from '../../src/store/file-vault.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { openSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createMockLinkPair } from '../../src/transport/mock/index.js';
import { systemClock } from '../../src/transport/clock.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { seededRandom } from '../helpers/world.js';

describe('vehicle on a file store survives a restart', () => {
  it('keys, tickets, revocations and audit persist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dk-vehicle-'));
    try {
      const crypto = createNobleProvider({ randomBytes: seededRandom(3) });
      // Real file I/O (fsync) cannot run on virtual time, so this test runs on the real clock;
      // the mock link then takes real milliseconds per connection event (fast at 7.5 ms).
      const clock = systemClock;
      const T0 = Date.now();
      const handlers = { [COMMAND.unlock]: () => undefined };
      // The identity key lives in a vault of its own, apart from the state store (docs/STORAGE.md).
      const keyVault = await openFileVault(join(dir, 'key'));
      const identityKey = await openSoftwareKeyAgreement(crypto, keyVault);
      const open = async () => Vehicle.create({ crypto, clock, store: await openVehicleStore(await openFileVault(join(dir, 'v'))), identityKey, handlers });
      const phone = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });

      let vehicle = await open();
      const vehicleId = vehicle.identity.vehicleId;
      await phone.addVehicle({ ...vehicle.peer, name: 'car' });
      await vehicle.enrollOwner(phone.publicKey);
      const friend = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
      await friend.importShare((await phone.shareKey(vehicleId, { subjectKey: friend.publicKey, commands: [COMMAND.unlock], notBeforeMs: T0 - 1000, notAfterMs: T0 + 86_400_000 })).text);

      const run = async <T>(f: (l: ReturnType<typeof createMockLinkPair>) => Promise<T>) => {
        const pair = createMockLinkPair({ clock, connectionIntervalMs: 7.5 });
        const served = vehicle.serve(pair.vehicle);
        const r = await f(pair).catch((e) => e);
        await served;
        return r;
      };
      const first = await run((p) => phone.unlock(p.phone, vehicleId));
      expect(first, String(first?.stack ?? first?.code)).toHaveProperty("ok", true);
      expect((await run((p) => friend.unlock(p.phone, vehicleId))).ok).toBe(true);
      await vehicle.revokeKey(friend.keyId);
      await vehicle.config.store.close();

      // Restart: same identity, owner still enrolled with its ticket, friend revoked.
      vehicle = await open();
      expect(vehicle.identity.vehicleId).toEqual(vehicleId);
      expect(vehicle.config.store.ticketCount).toBe(1);
      const fast = await run((p) => phone.connect(p.phone, vehicleId, { id: COMMAND.unlock }).then(async (s) => (await s.close(), s.path)));
      // The ticket's sealed issue time survives the restart too: the unlock resumes.
      expect(fast).toBe('resume');
      expect((await run((p) => friend.unlock(p.phone, vehicleId))).code).toBe('REJECTED');
      const audit = await vehicle.readAudit();
      expect(audit.some((e) => e.outcome === 'REVOKED')).toBe(true);
      await vehicle.config.store.close();
      await keyVault.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
