/**
 * The SQLite vehicle store's schema and its migrations (docs/STORAGE.md §SQLite schema).
 *
 * `PRAGMA user_version` is the schema version: migration i takes version i to i + 1 inside one
 * transaction, so a crash mid-migration leaves the old version. `PRAGMA application_id` marks
 * the file as ours, so a foreign SQLite file is refused instead of being "migrated".
 */

/** "DKSQ": written in the database header, checked at every open. */
export const SQLITE_APPLICATION_ID = 0x444b5351;

/** Migrations in order; `MIGRATIONS[i]` upgrades user_version i to i + 1. */
export const MIGRATIONS: readonly string[] = [
  `
  -- meta: generation (rollback guard, +1 per commit), time_floor (ms), schema (mirror of user_version)
  CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO meta (name, value) VALUES ('generation', 1), ('time_floor', 0), ('schema', 1);

  -- identity: public parts only; the private key sits behind the key-agreement handle
  CREATE TABLE identity (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    vehicle_id BLOB NOT NULL, public_key BLOB NOT NULL,
    advertising_secret BLOB NOT NULL, ticket_seal_public_key BLOB NOT NULL);
  CREATE TABLE pairing (id INTEGER PRIMARY KEY CHECK (id = 1), record BLOB NOT NULL);

  -- keys: the record as JSON (the same layout as the vault store: src/vehicle/store.ts), so one
  -- strict decoder checks both; uses_left (grant use limits) travels inside the record and is
  -- rewritten in the same transaction as the command that spends it
  CREATE TABLE keys (key_id BLOB PRIMARY KEY, record TEXT NOT NULL) WITHOUT ROWID;

  -- tickets: one per key, found by ticket id (the fast path's lookup)
  CREATE TABLE tickets (
    key_id BLOB PRIMARY KEY, ticket_id BLOB NOT NULL UNIQUE,
    sealed_secret BLOB NOT NULL, expires_at INTEGER NOT NULL, renewals_left INTEGER NOT NULL) WITHOUT ROWID;

  -- revocations: kept until keep_until, pruned by the expiry index
  CREATE TABLE revoked_grants (grant_id BLOB PRIMARY KEY, keep_until INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX revoked_grants_expiry ON revoked_grants (keep_until);
  CREATE TABLE revoked_keys (key_id BLOB PRIMARY KEY, keep_until INTEGER NOT NULL, revoked_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX revoked_keys_expiry ON revoked_keys (keep_until);

  -- request digests (exactly-once retries): the newest 4 per (key, command), 64 per key, by seq
  CREATE TABLE requests (
    seq INTEGER PRIMARY KEY, key_id BLOB NOT NULL, request_id BLOB NOT NULL,
    command INTEGER NOT NULL, status INTEGER NOT NULL, data BLOB, time_ms INTEGER NOT NULL,
    UNIQUE (key_id, request_id));
  CREATE INDEX requests_by_key ON requests (key_id, seq);

  -- audit: bounded (newest N rows by seq), queryable by time, key and outcome
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, key_id TEXT, outcome TEXT NOT NULL, record TEXT NOT NULL);
  CREATE INDEX audit_by_time ON audit (time_ms);
  CREATE INDEX audit_by_key ON audit (key_id, seq);
  CREATE INDEX audit_by_outcome ON audit (outcome, seq);
  `,
];

/** The schema version this library writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** Tables a valid store of the current version has. */
export const SQLITE_TABLES = ['audit', 'identity', 'keys', 'meta', 'pairing', 'requests', 'revoked_grants', 'revoked_keys', 'tickets'] as const;
