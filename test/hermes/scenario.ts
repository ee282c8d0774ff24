/**
 * The scenario run inside Hermes: owner pairing, a full unlock, then a fast unlock, between a
 * Phone and a Vehicle over the mock link on virtual time. Built only from the package's public
 * entry points (`ble-digital-key` and `ble-digital-key/mock`), so what Hermes loads is what a
 * React Native app bundles. Prints one `RESULT <json>` line for the test to check.
 */
import { COMMAND, Phone, PhoneStore, Vehicle, createMemoryVault, createSoftwareSigner, nobleCrypto, openVehicleStore } from '../../src/index.js';
import { VirtualClock, createMockLinkPair } from '../../src/transport/mock/index.js';

/** Lowest scrypt cost the protocol allows (2^10 · 8): pure-JS scrypt at the default 2^15 takes seconds in Hermes. */
const TEST_KDF = { logN: 10, r: 8, p: 1 };

declare const print: (...args: unknown[]) => void;

async function main(): Promise<Record<string, unknown>> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const crypto = nobleCrypto; // randomness: the prelude's crypto.getRandomValues
  const unlocked: string[] = [];
  const vehicle = await Vehicle.create({
    crypto,
    clock,
    store: await openVehicleStore(createMemoryVault()),
    handlers: { [COMMAND.unlock]: (ctx: { path: string }) => void unlocked.push(ctx.path) },
  });
  const phone = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
  const run = <T>(p: Promise<T>) => clock.runUntilSettled(p);

  const { code } = vehicle.openPairingWindow({ ttlMs: 120_000, kdf: TEST_KDF });
  const first = createMockLinkPair({ clock });
  const served1 = vehicle.serve(first.vehicle);
  const paired = await run(phone.pair(first.phone, code!, { keyName: 'hermes phone' }));
  await run(first.phone.close());
  await run(served1);

  const results: Array<{ path: string; code: string }> = [];
  for (let i = 0; i < 2; i++) {
    const l = createMockLinkPair({ clock });
    const served = vehicle.serve(l.vehicle);
    const session = await run(phone.connect(l.phone, paired.vehicleId, { id: COMMAND.unlock }));
    results.push({ path: session.path, code: session.firstResult.code });
    await run(session.close());
    await run(served);
  }
  const keys = vehicle.listKeys().map((k) => `${k.name}/${k.role}`);
  return {
    engine: typeof (globalThis as { HermesInternal?: unknown }).HermesInternal === 'object' ? 'hermes' : 'other',
    textEncoder: typeof (globalThis as { TextEncoder?: unknown }).TextEncoder,
    textDecoder: typeof (globalThis as { TextDecoder?: unknown }).TextDecoder,
    paired: paired.vehicleId.length,
    keys,
    results,
    unlocked,
  };
}

main().then(
  (r) => print(`RESULT ${JSON.stringify(r)}`),
  (e: { name?: string; code?: string; message?: string; stack?: string }) => print(`FAILED ${e?.name} ${e?.code ?? ''} ${e?.message}\n${e?.stack ?? ''}`),
);
