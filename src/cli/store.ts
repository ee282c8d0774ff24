/**
 * The daemon's durable store behind one function, so the backend can change in one place: the
 * SQLite store (src/store/sqlite, docs/STORAGE.md) in DIR/vehicle.db, files 0600 in DIR 0700.
 * A DIR still holding the file vault `dkey` used before (DIR/vault) is migrated once, the old
 * files kept as a backup (./migrate.ts). The identity key stays apart, in DIR/identity-key.
 *
 * Before opening, the directory must belong to the user running `dkey`: a store another
 * account owns (or can write) could feed this module keys, so it is refused, not repaired.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openSoftwareKeyAgreement, type SoftwareKeyAgreement } from '../crypto/key-agreement.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { openFileVault } from '../store/file-vault.js';
import { openSqliteVehicleStore } from '../store/sqlite/store.js';
import type { VehicleStore } from '../vehicle/store.js';
import { CliError, EXIT } from './errors.js';
import { DB_FILE, LEGACY_DIR, migrateLegacyStore, migrationNotice } from './migrate.js';

/** The vault directory inside a phone home. */
export function vaultDir(dir: string): string {
  return path.join(path.resolve(dir), 'vault');
}

/** Default control socket of a store directory. */
export function defaultControlPath(dir: string): string {
  return path.join(path.resolve(dir), 'control.sock');
}

/**
 * Checks that `dir` exists (or creates it 0700 when `create`), is a directory owned by this
 * user and closed to group and others.
 */
export function checkOwnDir(dir: string, what: string, create: boolean): void {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    if (!create) throw new CliError(EXIT.store, `there is no ${what} at ${abs}: create it first with "dkey ${what === 'vehicle store' ? 'vehicle init --store' : 'phone init --home'} ${dir}"`);
    fs.mkdirSync(abs, { recursive: true, mode: 0o700 });
    fs.chmodSync(abs, 0o700);
    return;
  }
  if (!st.isDirectory()) throw new CliError(EXIT.store, `the ${what} path ${abs} is not a directory`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new CliError(EXIT.store, `the ${what} ${abs} belongs to user id ${st.uid}, not to you (${uid}): run dkey as its owner`);
  }
  if ((st.mode & 0o077) !== 0) throw new CliError(EXIT.store, `the ${what} ${abs} is open to other users (mode ${(st.mode & 0o777).toString(8)}): run "chmod 700 ${abs}"`);
}

/** The SQLite database of a store directory. */
export function storeFile(dir: string): string {
  return path.join(path.resolve(dir), DB_FILE);
}

/** Whether `dir` holds a vehicle store: the SQLite database, or a file vault still to migrate. */
export function hasStore(dir: string): boolean {
  return fs.existsSync(storeFile(dir)) || fs.existsSync(path.join(path.resolve(dir), LEGACY_DIR));
}

/**
 * Opens the vehicle store of a key module in `dir`. `create` makes the directory on first use
 * (`dkey vehicle init`); otherwise a missing store is an error naming the command that makes it.
 * A file-vault store is migrated first; `notice` hears the one line saying so (default stderr).
 */
export async function openDaemonStore(dir: string, options: { create?: boolean; notice?: (line: string) => void } = {}): Promise<VehicleStore> {
  checkOwnDir(dir, 'vehicle store', options.create === true);
  const abs = path.resolve(dir);
  const migrated = await migrateLegacyStore(abs);
  if (migrated) (options.notice ?? ((line) => void process.stderr.write(`${line}\n`)))(migrationNotice(abs, migrated));
  const file = storeFile(dir);
  if (options.create !== true && !fs.existsSync(file)) {
    throw new CliError(EXIT.store, `there is no vehicle store in ${abs}: create it first with "dkey vehicle init --store ${dir}"`);
  }
  checkOwnFiles(file);
  return openSqliteVehicleStore(file);
}

/** The database and its WAL, if present, must be ours too (root could open anyone's). */
function checkOwnFiles(file: string): void {
  const uid = process.getuid?.();
  for (const f of [file, `${file}-wal`]) {
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      continue;
    }
    if (uid !== undefined && st.uid !== uid) throw new CliError(EXIT.store, `the store file ${f} belongs to user id ${st.uid}, not to you (${uid}): run dkey as its owner`);
  }
}

/**
 * Opens the vehicle's identity key, kept in its own vault (DIR/identity-key) apart from the
 * store, so a copy of the store alone cannot impersonate the car (docs/STORAGE.md). Created on
 * first use. `close` releases that vault's lock.
 */
export async function openDaemonIdentityKey(dir: string, crypto: CryptoProvider): Promise<{ key: SoftwareKeyAgreement; close(): Promise<void> }> {
  const vault = await openFileVault(path.join(path.resolve(dir), 'identity-key'));
  try {
    return { key: await openSoftwareKeyAgreement(crypto, vault), close: () => vault.close() };
  } catch (e) {
    await vault.close().catch(() => undefined);
    throw e;
  }
}
