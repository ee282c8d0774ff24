/**
 * A vehicle and one enrolled phone on virtual time, for the benchmarks. Each side gets its own
 * provider instance of the same kind (phone and vehicle on one provider per row), so the crypto
 * time of each side can be told apart.
 */
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createNodeProvider } from '../../src/crypto/node.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { VehicleKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import type { Vault } from '../../src/store/vault.js';
import { VirtualClock } from '../../src/transport/mock/index.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { timeCrypto, type TimedCrypto } from './timed-crypto.js';
import { timeVault, type TimedVault } from './timed-vault.js';

/** The two CryptoProvider implementations. */
export type ProviderName = 'noble' | 'native';

/** Both providers, in report order. */
export const PROVIDERS: readonly ProviderName[] = ['noble', 'native'];

/** Virtual start time (2026-01-01 UTC), so validity windows look real. */
export const T0_MS = Date.UTC(2026, 0, 1);

/** A fresh provider of the named kind. */
export function newProvider(name: ProviderName): CryptoProvider {
  return name === 'noble' ? createNobleProvider() : createNodeProvider();
}

/** Everything one benchmark session needs. */
export interface BenchWorld {
  readonly provider: ProviderName;
  readonly clock: VirtualClock;
  readonly vehicle: Vehicle;
  readonly phone: Phone;
  readonly vehicleId: Uint8Array;
  /** Timing wrappers, present when the world was built with `timed: true`. */
  readonly vehicleCrypto?: TimedCrypto;
  readonly phoneCrypto?: TimedCrypto;
  /** Timing wrapper of the vehicle's vault (always present; a few calls per session). */
  readonly vehicleVault: TimedVault;
}

/** Options of {@link makeBenchWorld}. */
export interface BenchWorldOptions {
  /** Wrap both providers in timing wrappers (validation runs: adds ~1 µs per call). */
  timed?: boolean;
}

/** A handler that does nothing: the bench measures the protocol, not the actuator. */
const noop = (): void => undefined;

/** Handlers of the benched commands. */
export const BENCH_HANDLERS = { [COMMAND.unlock]: noop, [COMMAND.start]: noop };

/**
 * Opens a vehicle over `vault` (creating its identity if the vault has none). A vault copied
 * from another vehicle needs that vehicle's `identityKey` (the key is never in the store).
 */
export async function openBenchVehicle(crypto: CryptoProvider, vault: Vault, clock: VirtualClock, identityKey?: VehicleKeyAgreement): Promise<Vehicle> {
  return Vehicle.create({ crypto, store: await openVehicleStore(vault), clock, handlers: BENCH_HANDLERS, ...(identityKey ? { identityKey } : {}) });
}

/** A phone paired with `vehicle` (not enrolled). */
export async function newBenchPhone(crypto: CryptoProvider, vehicle: Vehicle, clock: VirtualClock): Promise<Phone> {
  const phone = new Phone({ crypto, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()), clock });
  await phone.addVehicle({ ...vehicle.peer, name: 'bench car' });
  return phone;
}

/** Builds a vehicle on the library's memory vault and one phone enrolled as owner. */
export async function makeBenchWorld(provider: ProviderName, options: BenchWorldOptions = {}): Promise<BenchWorld> {
  const clock = new VirtualClock(T0_MS);
  const vehicleCrypto = options.timed ? timeCrypto(newProvider(provider)) : undefined;
  const phoneCrypto = options.timed ? timeCrypto(newProvider(provider)) : undefined;
  const vehicleVault = timeVault(createMemoryVault());
  const vehicle = await openBenchVehicle(vehicleCrypto?.crypto ?? newProvider(provider), vehicleVault.vault, clock);
  const phone = await newBenchPhone(phoneCrypto?.crypto ?? newProvider(provider), vehicle, clock);
  await vehicle.enrollOwner(phone.publicKey, 'bench phone');
  return { provider, clock, vehicle, phone, vehicleId: vehicle.identity.vehicleId, vehicleCrypto, phoneCrypto, vehicleVault };
}
