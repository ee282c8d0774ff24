/**
 * `ble-digital-key/store/sqlite`: the durable vehicle store on SQLite (docs/STORAGE.md §SQLite),
 * over node:sqlite (Node 22.13+) or better-sqlite3 (an optional peer dependency), plus the
 * one-shot migration from a file-vault store. Node-only.
 */
export { openSqliteVehicleStore, SqliteVehicleStore, SQLITE_AUDIT_DEFAULT_MAX_ROWS, type SqliteStoreOptions } from './store.js';
export { NO_SQLITE_DRIVER, openSqliteDatabase, sqliteCode, type SqliteDatabase, type SqliteDriverChoice, type SqliteDriverName, type SqliteStatement, type SqlRow, type SqlValue } from './driver.js';
export { SQLITE_DEFAULT_FILE, resolveLocation } from './files.js';
export { SQLITE_APPLICATION_ID, SQLITE_SCHEMA_VERSION } from './schema.js';
export { migrateFileVaultStore, type MigrationReport } from '../migrate-file-vault.js';
