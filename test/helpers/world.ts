/**
 * Test world: a vehicle and phones on virtual time over mock links, with memory vaults.
 * Every protocol test builds on this so scenarios read like the flows they check.
 */
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock, type MockLinkOptions, type MockLinkPair } from '../../src/transport/mock/index.js';
import { Vehicle, type VehicleOptions } from '../../src/vehicle/vehicle.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';

/** Unix time the virtual clock starts at (2026-01-01), so validity windows look real. */
export const T0 = Date.UTC(2026, 0, 1);

/** A deterministic RNG (xorshift) so runs are repeatable. */
export function seededRandom(seed: number): (n: number) => Uint8Array {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s & 0xff;
    }
    return out;
  };
}

/** Everything a scenario needs. */
export interface World {
  clock: VirtualClock;
  crypto: CryptoProvider;
  vehicle: Vehicle;
  executed: Array<{ command: number; keyId: string; path: string }>;
  newPhone(): Promise<Phone>;
  enrolledPhone(): Promise<Phone>;
  link(options?: Partial<MockLinkOptions>): { pair: MockLinkPair; served: Promise<void> };
  run<T>(p: Promise<T>): Promise<T>;
}

/** Builds a world; `vehicleOptions` override the vehicle's defaults. */
export async function makeWorld(vehicleOptions: Partial<VehicleOptions> = {}, seed = 1): Promise<World> {
  const clock = new VirtualClock(T0);
  const crypto = createNobleProvider({ randomBytes: seededRandom(seed) });
  const executed: World['executed'] = [];
  const record = (ctx: { command: number; keyId: string; path: string }) => {
    executed.push({ command: ctx.command, keyId: ctx.keyId, path: ctx.path });
  };
  const store = await openVehicleStore(createMemoryVault());
  const vehicle = await Vehicle.create({
    crypto,
    store,
    clock,
    handlers: { [COMMAND.unlock]: record, [COMMAND.lock]: record, [COMMAND.trunk]: record, [COMMAND.start]: record },
    ...vehicleOptions,
  });
  const world: World = {
    clock,
    crypto,
    vehicle,
    executed,
    async newPhone() {
      const phone = new Phone({ crypto, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()), clock });
      await phone.addVehicle({ ...vehicle.peer, name: 'test car' });
      return phone;
    },
    async enrolledPhone() {
      const phone = await world.newPhone();
      await vehicle.enrollOwner(phone.publicKey, 'owner');
      return phone;
    },
    link(options = {}) {
      const pair = createMockLinkPair({ clock, ...options });
      // world.vehicle, not the first one: a test may reboot the vehicle over the same store.
      const served = world.vehicle.serve(pair.vehicle);
      return { pair, served };
    },
    run: (p) => clock.runUntilSettled(p),
  };
  return world;
}

/** Waits `ms` of virtual time. */
export function sleep(w: World, ms: number): Promise<void> {
  return w.clock.runUntilSettled(new Promise<void>((r) => w.clock.setTimeout(() => r(), ms)), { maxMs: ms + 60_000 });
}
