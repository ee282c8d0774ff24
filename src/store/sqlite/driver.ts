/**
 * The small synchronous SQLite driver interface the vehicle store runs on, and the lazy loaders
 * of its two implementations: `node:sqlite` (`DatabaseSync`, built into Node 22.13+, no native
 * code) and `better-sqlite3` (a native addon; 12.x on Node 20). Both already satisfy
 * {@link SqliteDatabase} structurally; the loaders only normalise options and errors.
 *
 * Why synchronous: the vehicle's reads (a key, a ticket, a revoked id) are synchronous lookups
 * on the handshake's critical path, and both drivers answer them in microseconds without an
 * event-loop turn. Node-only (node:module).
 */
import { createRequire } from 'node:module';
import { StoreError } from '../../errors.js';

/** A value SQLite binds or returns. BLOBs come back as Uint8Array (a Buffer for better-sqlite3). */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** A result row: column name to value. */
export type SqlRow = Record<string, SqlValue>;

/** A prepared statement (node:sqlite `StatementSync`, better-sqlite3 `Statement`). */
export interface SqliteStatement {
  /** Runs a statement that returns no rows. */
  run(...params: SqlValue[]): { changes: number | bigint };
  /** The first row, or undefined. */
  get(...params: SqlValue[]): unknown;
  /** Every row. */
  all(...params: SqlValue[]): unknown[];
}

/** An open database connection (node:sqlite `DatabaseSync`, better-sqlite3 `Database`). */
export interface SqliteDatabase {
  /** Runs one or more statements with no parameters and no result. */
  exec(sql: string): unknown;
  /** Compiles a statement once, for many runs. */
  prepare(sql: string): SqliteStatement;
  /** Closes the connection (releases the file lock). */
  close(): unknown;
}

/** The drivers this module can load. */
export type SqliteDriverName = 'node:sqlite' | 'better-sqlite3';

/** Which driver to use: a name, `auto` (better-sqlite3 if installed, else node:sqlite), or a function that opens a file. */
export type SqliteDriverChoice = SqliteDriverName | 'auto' | ((file: string) => SqliteDatabase);

/** The sentence shown when no driver can be loaded. */
export const NO_SQLITE_DRIVER =
  'No SQLite driver is available: run on Node 22.13 or later (node:sqlite is built in) or run "npm install better-sqlite3@12" (an optional peer dependency of ble-digital-key).';

const requireCjs = createRequire(import.meta.url);

/** better-sqlite3's constructor, as far as we use it (documented API). */
type BetterSqlite3Ctor = new (file: string, options?: { timeout?: number; fileMustExist?: boolean }) => SqliteDatabase;

/** node:sqlite's module, as far as we use it (documented API, Node 22.13+). */
interface NodeSqliteModule {
  DatabaseSync: new (file: string, options?: { open?: boolean; timeout?: number; enableForeignKeyConstraints?: boolean }) => SqliteDatabase;
}

/** node:sqlite, or null on a Node without it (Node 20). Never throws. */
export function loadNodeSqlite(): NodeSqliteModule | null {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  try {
    const mod = typeof get === 'function' ? get.call(process, 'node:sqlite') : undefined;
    return mod !== undefined && mod !== null && typeof (mod as NodeSqliteModule).DatabaseSync === 'function' ? (mod as NodeSqliteModule) : null;
  } catch {
    return null;
  }
}

/** better-sqlite3, or null when it is not installed or its native part does not load. */
export function loadBetterSqlite3(): { ctor: BetterSqlite3Ctor | null; error?: unknown } {
  try {
    const mod = requireCjs('better-sqlite3') as BetterSqlite3Ctor | { default: BetterSqlite3Ctor };
    return { ctor: typeof mod === 'function' ? mod : mod.default };
  } catch (error) {
    return { ctor: null, error };
  }
}

/**
 * Opens `file` with the chosen driver. `timeout: 0` on both: a store held by another process
 * must fail at once with STORE_LOCKED, not wait. Throws StoreError `STORE_UNAVAILABLE` with
 * {@link NO_SQLITE_DRIVER} when the driver cannot be loaded.
 */
export function openSqliteDatabase(file: string, choice: SqliteDriverChoice = 'auto'): { db: SqliteDatabase; driver: string } {
  if (typeof choice === 'function') return { db: choice(file), driver: 'custom' };
  if (choice === 'better-sqlite3' || choice === 'auto') {
    const { ctor, error } = loadBetterSqlite3();
    if (ctor) return { db: new ctor(file, { timeout: 0 }), driver: 'better-sqlite3' };
    if (choice === 'better-sqlite3') throw new StoreError('STORE_UNAVAILABLE', explainBetterSqlite3(error), { cause: error });
  }
  const nodeSqlite = loadNodeSqlite();
  if (nodeSqlite) return { db: new nodeSqlite.DatabaseSync(file, { timeout: 0 }), driver: 'node:sqlite' };
  throw new StoreError('STORE_UNAVAILABLE', NO_SQLITE_DRIVER);
}

function explainBetterSqlite3(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/Cannot find module 'better-sqlite3'/.test(text)) return NO_SQLITE_DRIVER;
  return `better-sqlite3 is installed but its native part does not load (${text.split('\n')[0]}): run "npm rebuild better-sqlite3" (needs python3, make and a C++ compiler) or use Node 22.13+ (node:sqlite).`;
}

/** SQLite primary result codes we act on, by number (node:sqlite reports `errcode`). */
const PRIMARY_CODES: Record<number, string> = {
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
};

/**
 * The primary SQLite result code of a driver error (`SQLITE_BUSY`, …), or undefined if it is
 * not an SQLite error. better-sqlite3 puts the extended name in `code` (`SQLITE_IOERR_FSYNC`);
 * node:sqlite puts `ERR_SQLITE_ERROR` in `code` and the extended number in `errcode`.
 */
export function sqliteCode(e: unknown): string | undefined {
  const err = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; errcode?: unknown };
  if (typeof err.errcode === 'number') return PRIMARY_CODES[err.errcode & 0xff] ?? `SQLITE_${err.errcode & 0xff}`;
  if (typeof err.code === 'string' && err.code.startsWith('SQLITE_')) {
    const m = /^SQLITE_[A-Z]+/.exec(err.code);
    return m?.[0];
  }
  return undefined;
}
