/**
 * `npm run example:vehicle` — a car key module on real Bluetooth LE (bleno), with a durable SQLite
 * store, printing every audit event. docs/BLE.md §Running the examples.
 *
 *   npm run example:vehicle -- [--dir .dk-vehicle] [--export FILE] [--enroll PHONE_KEY_HEX]
 *                               [--pair] [--rotation-ms 300000]
 *
 * It writes FILE (default <dir>/vehicle.json): the vehicle id, public key and advertising key a
 * phone needs (give it to key holders only: the advertising key lets its holder recognise this
 * car). `--enroll` makes a phone key an owner; `--pair` opens a 5-minute pairing window and
 * prints the code a phone types (`npm run example:phone -- --pair CODE`).
 *
 * Without a Bluetooth adapter it exits with status 1 and one sentence saying what is missing.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBleno, startBlenoVehicle, type BlenoLike, type BlenoVehicleHandle } from '../src/ble/bleno.js';
import { DEFAULT_PSEUDONYM_ROTATION_MS } from '../src/ble/profile.js';
import { fromHex, toHex } from '../src/crypto/bytes.js';
import { createNodeProvider } from '../src/crypto/node.js';
import { openSoftwareKeyAgreement } from '../src/crypto/key-agreement.js';
import { DigitalKeyError } from '../src/errors.js';
import { COMMAND } from '../src/protocol/constants.js';
import { openFileVault } from '../src/store/file-vault.js';
import { openSqliteVehicleStore } from '../src/store/sqlite/index.js';
import type { AuditEvent } from '../src/vehicle/store.js';
import { Vehicle } from '../src/vehicle/vehicle.js';

const COMMAND_NAME: Record<number, string> = Object.fromEntries(Object.entries(COMMAND).map(([name, id]) => [id, name]));

/** Exits with `status` after printing one line; no stack trace. */
function fail(message: string, status = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(status);
}

/** One readable line per audit event. */
function formatAudit(e: AuditEvent): string {
  const parts = [`audit ${new Date(e.timeMs).toISOString()}`, e.outcome];
  if (e.command !== undefined) parts.push(COMMAND_NAME[e.command] ?? `command ${e.command}`);
  if (e.path !== undefined) parts.push(`path=${e.path}`);
  if (e.keyId !== undefined) parts.push(`key=${e.keyId}`);
  if (e.detail !== undefined) parts.push(`(${e.detail})`);
  return parts.join(' ');
}

/** The example; `ble.bleno` replaces the platform's bleno (a smoke test drives it on a fake radio). */
export async function main(argv: string[] = process.argv.slice(2), ble: { bleno?: BlenoLike } = {}): Promise<BlenoVehicleHandle> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string', default: '.dk-vehicle' },
        export: { type: 'string' },
        enroll: { type: 'string' },
        pair: { type: 'boolean', default: false },
        'rotation-ms': { type: 'string', default: String(DEFAULT_PSEUDONYM_ROTATION_MS) },
      },
      strict: true,
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}; usage: npm run example:vehicle -- [--dir DIR] [--export FILE] [--enroll PHONE_KEY_HEX] [--pair] [--rotation-ms MS]`, 2);
  }
  const rotationMs = Number(args['rotation-ms']);

  // Bluetooth first: without it nothing below is worth doing, and no store is left locked.
  const bleno = ble.bleno ?? loadBleno();
  const crypto = createNodeProvider();
  const dir = resolve(args.dir);
  const store = await openSqliteVehicleStore(join(dir, 'vehicle.db'));
  // The identity key lives apart from the state (a copy of the store alone cannot pose as the
  // car): here a software key in its own directory; on a real module, a TPM or secure element.
  const keyVault = await openFileVault(join(dir, 'identity-key'));
  const identityKey = await openSoftwareKeyAgreement(crypto, keyVault);
  const vehicle = await Vehicle.create({
    crypto,
    identityKey,
    store,
    handlers: Object.fromEntries(
      Object.values(COMMAND).map((id) => [id, (ctx: { keyName: string; path: string }) => console.log(`>>> ${COMMAND_NAME[id]!.toUpperCase()} for "${ctx.keyName}" (${ctx.path} path)`)]),
    ),
  });
  vehicle.onAudit((e) => console.log(formatAudit(e)));

  if (args.enroll !== undefined) {
    const key = fromHex(args.enroll.trim());
    if (!vehicle.listKeys().some((k) => toHex(k.publicKey) === toHex(crypto.validatePublicKey(key)))) await vehicle.enrollOwner(key, 'owner');
  }
  const exportPath = resolve(args.export ?? join(dir, 'vehicle.json'));
  const { vehicleId, publicKey, advertisingKey } = vehicle.peer;
  writeFileSync(exportPath, JSON.stringify({ name: 'example car', vehicleId: toHex(vehicleId), publicKey: toHex(publicKey), advertisingKey: toHex(advertisingKey) }, null, 2) + '\n', { mode: 0o600 });
  console.log(`vehicle ${toHex(vehicleId)}: ${vehicle.listKeys().length} key(s) enrolled; phone file written to ${exportPath}`);
  if (args.pair) {
    const { code, expiresAt } = vehicle.openPairingWindow({ ttlMs: 5 * 60_000 });
    console.log(`pairing window open until ${new Date(expiresAt).toISOString()}: code ${code}`);
  }

  let handle: BlenoVehicleHandle | null = null;
  const stop = async (): Promise<void> => {
    await handle?.stop();
    await vehicle.close(); // ends the sessions, then closes the store
    await keyVault.close(); // releases the identity key's vault lock
    process.exit(0);
  };
  if (ble.bleno === undefined) {
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  }

  handle = await startBlenoVehicle({ bleno, vehicle, crypto, rotationMs, onError: (e) => console.error(`ble: ${e.message}`) });
  console.log(`advertising the digital-key service, pseudonym ${toHex(handle.pseudonym)} (rotates every ${rotationMs / 1000} s); Ctrl-C to stop`);
  return handle;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    fail(err instanceof DigitalKeyError ? err.message : `unexpected failure: ${(err as Error)?.message ?? String(err)}`);
  });
}
