/**
 * Where the SQLite store lives and who may read it: a directory only the owner can enter (0700)
 * holding the database and its WAL, both 0600 (docs/STORAGE.md §SQLite files). Node-only.
 */
import { chmodSync, closeSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { StoreError } from '../../errors.js';

/** Database file name used when a directory is given. */
export const SQLITE_DEFAULT_FILE = 'vehicle.db';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const FILE_PATTERN = /\.(db|sqlite|sqlite3)$/;

/** The resolved location of a store. */
export interface SqliteLocation {
  /** Absolute directory holding the database, its WAL and nothing else of ours. */
  dir: string;
  /** Absolute path of the database file. */
  file: string;
}

/**
 * A path ending in `.db`, `.sqlite` or `.sqlite3` names the database file; anything else names
 * its directory (the file is then `vehicle.db`).
 */
export function resolveLocation(location: string): SqliteLocation {
  const abs = path.resolve(location);
  return FILE_PATTERN.test(abs) ? { dir: path.dirname(abs), file: abs } : { dir: abs, file: path.join(abs, SQLITE_DEFAULT_FILE) };
}

/**
 * Creates the directory (0700) and the database file (0600) if missing; refuses a directory that
 * group or others can access (STORE_INSECURE, as the file vault does) and tightens a database
 * file that is looser than 0600 (SQLite gives its WAL the database file's mode). Returns the
 * real path of the file, the key of the in-process rollback guard.
 */
export function prepareLocation(loc: SqliteLocation): string {
  try {
    mkdirSync(loc.dir, { recursive: true, mode: DIR_MODE });
    const dirStat = statSync(loc.dir);
    if (!dirStat.isDirectory()) throw new StoreError('STORE_INSECURE', `${loc.dir} is not a directory`);
    if ((dirStat.mode & 0o077) !== 0) {
      throw new StoreError('STORE_INSECURE', `store directory ${loc.dir} is accessible to group or others (mode ${(dirStat.mode & 0o777).toString(8)}); chmod 700 it`);
    }
    closeSync(openSync(loc.file, 'a', FILE_MODE));
    const fileStat = statSync(loc.file);
    if (!fileStat.isFile()) throw new StoreError('STORE_INSECURE', `${loc.file} is not a regular file`);
    if ((fileStat.mode & 0o077) !== 0) chmodSync(loc.file, FILE_MODE);
    return realpathSync(loc.file);
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError('STORE_IO', `cannot prepare the store at ${loc.file}: ${(e as Error).message}`, { cause: e });
  }
}
