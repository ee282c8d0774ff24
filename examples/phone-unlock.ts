/**
 * `npm run example:phone` — a phone key on real Bluetooth LE (noble): scan for the paired car by
 * its rotating pseudonym, connect, run one command, print what happened. docs/BLE.md §Running
 * the examples.
 *
 *   npm run example:phone -- [--vehicle FILE] [--command unlock|lock|trunk|start]
 *                            [--timeout 15000] [--dir .dk-phone] [--pair CODE]
 *
 * FILE is the vehicle.json the vehicle module wrote, or a share bundle (base64url text) an owner
 * sent; default .dk-vehicle/vehicle.json. `--pair CODE` pairs with the car showing that code
 * instead (nearest car first) and then runs the command. The phone's key lives in DIR (a file
 * vault): an example only, a real phone keeps it in the Secure Enclave / Android Keystore.
 *
 * Without a Bluetooth adapter it exits with status 1 and one sentence saying what is missing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connectNobleLink, loadNoble, openVehicleLink, scanForPairing, type NobleLike } from '../src/ble/noble.js';
import { fromHex, toHex } from '../src/crypto/bytes.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { createSoftwareSigner } from '../src/crypto/signer.js';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { DigitalKeyError } from '../src/errors.js';
import { Phone, type CommandResult } from '../src/phone/phone.js';
import { PhoneStore, type PairedVehicle } from '../src/phone/store.js';
import { COMMAND } from '../src/protocol/constants.js';
import { openFileVault } from '../src/store/file-vault.js';
import type { Vault } from '../src/store/vault.js';

const COMMANDS = COMMAND as Record<string, number>;

/** Exits with `status` after printing one line; no stack trace. */
function fail(message: string, status = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** An advertisement's RSSI for people: the adapter gives null when the controller did not measure it (HCI's 127). */
function formatRssi(rssi: number | null): string {
  return rssi === null ? 'not available' : `${rssi} dBm`;
}

/** The phone's long-term key, created on first run and kept in the vault (example only). */
async function phoneSigner(vault: Vault, crypto: CryptoProvider) {
  const stored = await vault.get('phone-key');
  if (stored !== null) return createSoftwareSigner(crypto, stored);
  const signer = createSoftwareSigner(crypto);
  await vault.put('phone-key', signer.exportPrivateKey());
  return signer;
}

/** Reads a vehicle file: the vehicle module's JSON, or a share bundle. Returns the vehicle id. */
async function importVehicle(phone: Phone, file: string): Promise<Uint8Array> {
  const text = readFileSync(file, 'utf8').trim();
  if (!text.startsWith('{')) return phone.importShare(text, 'shared car');
  const j = JSON.parse(text) as Record<string, string>;
  const vehicle: PairedVehicle = {
    vehicleId: fromHex(String(j.vehicleId)),
    publicKey: fromHex(String(j.publicKey)),
    name: String(j.name ?? 'car'),
    ...(j.advertisingKey ? { advertisingKey: fromHex(j.advertisingKey) } : {}),
  };
  const known = await phone.store.getVehicle(vehicle.vehicleId);
  await phone.addVehicle({ ...known, ...vehicle });
  return vehicle.vehicleId;
}

/** Pairs with the nearest car showing `code` and runs the command on the same link. */
async function pairAndRun(phone: Phone, noble: NobleLike, code: string, id: number, timeoutMs: number): Promise<CommandResult> {
  const candidates = await scanForPairing({ noble, listenMs: Math.min(timeoutMs, 3_000), known: { crypto: phone.crypto, vehicles: await phone.store.listVehicles() } });
  if (candidates.length === 0) fail('No car in pairing mode was heard: open a pairing window in the car (npm run example:vehicle -- --pair) and stay close to it.');
  for (const candidate of candidates) {
    const link = await connectNobleLink(candidate.peripheral);
    try {
      const vehicle = await phone.pair(link, code, { vehicleName: 'example car' });
      console.log(`paired with vehicle ${toHex(vehicle.vehicleId)} (RSSI ${formatRssi(candidate.rssi)})`);
      const session = await phone.connect(link, vehicle.vehicleId, { id, userPresent: id === COMMAND.start });
      await session.close();
      return session.firstResult;
    } catch (err) {
      await link.close('pairing attempt failed');
      if (!(err instanceof DigitalKeyError) || !/PAIRING_/.test(err.code)) throw err;
    }
  }
  return fail('No car nearby accepted that code: check the code shown in the car and try again.');
}

/** The example; `ble.noble` replaces the platform's noble (a smoke test drives it on a fake radio). */
export async function main(argv: string[] = process.argv.slice(2), ble: { noble?: NobleLike } = {}): Promise<void> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        vehicle: { type: 'string', default: join('.dk-vehicle', 'vehicle.json') },
        command: { type: 'string', default: 'unlock' },
        timeout: { type: 'string', default: '15000' },
        dir: { type: 'string', default: '.dk-phone' },
        pair: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}; usage: npm run example:phone -- [--vehicle FILE] [--command unlock|lock|trunk|start] [--timeout MS] [--dir DIR] [--pair CODE]`, 2);
  }
  const id = COMMANDS[args.command];
  if (id === undefined) fail(`Unknown command "${args.command}": use one of ${Object.keys(COMMAND).join(', ')}.`, 2);
  const timeoutMs = Number(args.timeout);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fail('"--timeout" must be a positive number of milliseconds.', 2);

  // Bluetooth first: without it nothing below is worth doing, and no store is left locked.
  const noble = ble.noble ?? loadNoble();
  const crypto = createNodeProvider();
  const vault = await openFileVault(resolve(args.dir));
  try {
    const phone = new Phone({ crypto, signer: await phoneSigner(vault, crypto), store: new PhoneStore(vault) });
    console.log(`phone key ${toHex(phone.publicKey)}`);
    const startedMs = Date.now();
    let result: CommandResult;
    if (args.pair !== undefined) {
      result = await pairAndRun(phone, noble, args.pair, id, timeoutMs);
    } else {
      const file = resolve(args.vehicle);
      if (!existsSync(file)) fail(`No vehicle file at ${file}: pass --vehicle FILE (the vehicle.json the vehicle module wrote, or a share bundle) or pair with --pair CODE.`, 2);
      const vehicleId = await importVehicle(phone, file);
      const vehicle = await phone.store.getVehicle(vehicleId);
      const { link, rssi } = await openVehicleLink({ noble, crypto, vehicles: vehicle ? [vehicle] : [], timeoutMs });
      console.log(`connected (RSSI ${formatRssi(rssi)}, ATT MTU ${link.mtu})`);
      result = await phone.command(link, vehicleId, { id, userPresent: id === COMMAND.start });
    }
    console.log(`${args.command}: ${result.code} in ${Date.now() - startedMs} ms`);
  } finally {
    await vault.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
  () => process.exit(0),
  (err: unknown) => {
    if (err instanceof DigitalKeyError && err.code === 'REJECTED') {
      fail('The car refused this phone’s key: enroll it with "npm run example:vehicle -- --enroll <the phone key printed above>" or pair with --pair CODE.');
    }
    const maybe = err instanceof DigitalKeyError && err.mayHaveSucceeded ? ' (the command may have run: check the car)' : '';
    fail(err instanceof DigitalKeyError ? `${err.message}${maybe}` : `unexpected failure: ${(err as Error)?.message ?? String(err)}`);
  },
  );
}
