/**
 * A real file-vault key-module store, laid out as `dkey` wrote it before the SQLite store
 * (DIR/vault for the vehicle store, DIR/identity-key for the identity key), made by a real
 * vehicle: an owner paired and unlocked once (so a ticket is filed), a friend enrolled and
 * revoked (so a revocation is kept). The owner's phone home (device-key + vault) is written as
 * `dkey phone` reads it, so a test can unlock the migrated car with the CLI.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../../src/crypto/bytes.js';
import { openSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { openFileVault } from '../../src/store/file-vault.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { systemClock } from '../../src/transport/clock.js';
import { createMockLinkPair } from '../../src/transport/mock/index.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';

/** What the legacy store holds, to check after the migration. */
export interface LegacyStore {
  vehicleId: string;
  ownerKeyId: string;
  friendKeyId: string;
}

/** Writes the store in `storeDir` and the owner's phone home in `homeDir` (both created 0700). */
export async function makeLegacyStore(storeDir: string, homeDir: string): Promise<LegacyStore> {
  mkdirSync(storeDir, { recursive: true, mode: 0o700 });
  mkdirSync(homeDir, { recursive: true, mode: 0o700 });
  const crypto = createNodeProvider();
  // Real file I/O: the file vault's fsyncs cannot run on virtual time.
  const clock = systemClock;
  const keyVault = await openFileVault(join(storeDir, 'identity-key'));
  const vehicle = await Vehicle.create({
    crypto,
    clock,
    identityKey: await openSoftwareKeyAgreement(crypto, keyVault),
    store: await openVehicleStore(await openFileVault(join(storeDir, 'vault'))),
    handlers: { [COMMAND.unlock]: () => undefined },
  });
  await vehicle.audit({ timeMs: Date.now(), path: 'admin', outcome: 'INITIALISED' });
  const signer = createSoftwareSigner(crypto);
  writeFileSync(join(homeDir, 'device-key'), `${toHex(signer.exportPrivateKey())}\n`, { mode: 0o600 });
  const phoneVault = await openFileVault(join(homeDir, 'vault'));
  const phone = new Phone({ crypto, clock, signer, store: new PhoneStore(phoneVault) });
  await phone.addVehicle({ ...vehicle.peer, name: 'legacy car' });
  const owner = await vehicle.enrollOwner(phone.publicKey, 'Legacy owner');
  const friend = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
  await vehicle.enrollOwner(friend.publicKey, 'Legacy friend');
  await vehicle.revokeKey(friend.keyId);

  const pair = createMockLinkPair({ clock, connectionIntervalMs: 7.5 });
  const served = vehicle.serve(pair.vehicle);
  const session = await phone.connect(pair.phone, vehicle.peer.vehicleId, { id: COMMAND.unlock, userPresent: true });
  if (session.firstResult.code !== 'OK') throw new Error(`legacy unlock answered ${session.firstResult.code}`);
  await session.close();
  await served;

  await phone.flush();
  await phoneVault.close();
  await vehicle.close();
  await keyVault.close();
  return { vehicleId: toHex(vehicle.peer.vehicleId), ownerKeyId: toHex(owner.keyId), friendKeyId: toHex(friend.keyId) };
}
