/**
 * The once-only move of a key module's store from the file vault (`DIR/vault`, what `dkey`
 * wrote before it used SQLite) to the SQLite store (`DIR/vehicle.db`), run by every `dkey
 * vehicle` command that opens the store (docs/KEY-MODULE.md §Store).
 *
 * Automatic rather than a separate command: a module updated in the field must come back up on
 * its own, with no one at hand to type a migrate command; a refused start would leave the car
 * without its keys until someone does. The copy is checked by `migrateFileVaultStore` (strict
 * decode, one transaction, read back and compared) and the old files are kept as a backup.
 *
 * Crash safety: the copy is written to a temporary database and link(2)ed to `vehicle.db`, which
 * is atomic and never replaces a database another process linked first; only then is `vault`
 * renamed to the backup. A crash before the link leaves the file vault as the store (the next
 * run migrates again); a crash after it leaves both, and the next run finishes the rename.
 * Node-only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';
import { migrateFileVaultStore, type MigrationReport } from '../store/migrate-file-vault.js';

/** The database file of a store directory. */
export const DB_FILE = 'vehicle.db';
/** Where `dkey` kept the vehicle store before SQLite: a file vault. */
export const LEGACY_DIR = 'vault';
/** The name the old file vault is renamed to once migrated (a number is added if taken). */
export const BACKUP_DIR = 'file-vault-backup';

const TEMP = /^\.migrating-(\d+)\.db(-wal|-journal)?$/;

/** What {@link migrateLegacyStore} did, for the one line the CLI prints about it. */
export interface LegacyMigration {
  /** The copy's counts; null when another (concurrent or interrupted) run had copied it. */
  report: MigrationReport | null;
  /** Absolute path of the old files, kept as a backup. */
  backup: string;
}

/**
 * Migrates the file-vault store in `dir` (absolute) to SQLite if there is one; returns null when
 * `dir` holds no file-vault store. A damaged file vault is STORE_CORRUPT and nothing changes.
 */
export async function migrateLegacyStore(dir: string): Promise<LegacyMigration | null> {
  const legacy = path.join(dir, LEGACY_DIR);
  const db = path.join(dir, DB_FILE);
  if (!fs.existsSync(legacy)) return null;
  let report: MigrationReport | null = null;
  if (!fs.existsSync(db)) {
    removeStaleTemps(dir);
    const temp = path.join(dir, `.migrating-${process.pid}.db`);
    try {
      report = await migrateFileVaultStore(legacy, temp);
      // A closed SQLite store has checkpointed its WAL; one left over would not travel with the link.
      if (fs.existsSync(`${temp}-wal`)) throw new StoreError('STORE_IO', `the migrated store ${temp} kept a WAL after closing: nothing was changed, try again`);
      fs.linkSync(temp, db);
    } catch (e) {
      // EEXIST: another process finished the same migration first; its database is the store.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      report = null;
    } finally {
      removeTemp(temp);
    }
    syncDir(dir);
  }
  const backup = freeName(path.join(dir, BACKUP_DIR));
  try {
    fs.renameSync(legacy, backup);
  } catch (e) {
    // ENOENT: a concurrent run moved it already.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  syncDir(dir);
  return { report, backup };
}

/** The line printed once after a migration (stderr: stdout stays the command's own result). */
export function migrationNotice(dir: string, m: LegacyMigration): string {
  const from = path.join(dir, LEGACY_DIR);
  const counts = m.report ? `: ${m.report.keys} key(s), ${m.report.tickets} ticket(s), ${m.report.revokedKeys + m.report.revokedGrants} revocation(s), ${m.report.audit} audit record(s)` : ' (copied by an earlier or concurrent run)';
  return `Moved the file-vault store ${from} to SQLite (${path.join(dir, DB_FILE)})${counts}; the old files are kept in ${m.backup}.`;
}

/** Removes temporary databases of migrations whose process is gone (a crash mid-copy). */
function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP.exec(name);
    if (m && !alive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function removeTemp(temp: string): void {
  for (const suffix of ['', '-wal', '-journal']) fs.rmSync(temp + suffix, { force: true });
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftover from a reused pid: nobody else's
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freeName(base: string): string {
  let name = base;
  for (let i = 2; fs.existsSync(name); i++) name = `${base}-${i}`;
  return name;
}

/** Makes the directory's new entries (link, rename) durable. */
function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
