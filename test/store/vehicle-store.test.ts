/**
 * The VehicleStore conformance suite on every implementation: the vault store over the memory
 * vault and over the file vault, and the SQLite store (better-sqlite3 here; node:sqlite where
 * the Node version has it).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll } from 'vitest';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { openFileVault } from '../../src/store/file-vault.js';
import { openVehicleStore } from '../../src/vehicle/store.js';
import { openSqliteVehicleStore } from '../../src/store/sqlite/index.js';
import { loadNodeSqlite } from '../../src/store/sqlite/driver.js';
import { vehicleStoreBehaviour } from './vehicle-store-suite.js';

const root = mkdtempSync(join(tmpdir(), 'dk-store-suite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${n++}`);

vehicleStoreBehaviour('vault store on the memory vault', async () => ({ store: await openVehicleStore(createMemoryVault()) }));

vehicleStoreBehaviour('vault store on the file vault', async () => {
  const dir = freshDir();
  return { store: await openVehicleStore(await openFileVault(dir)), reopen: async () => openVehicleStore(await openFileVault(dir)) };
});

vehicleStoreBehaviour('SQLite store (better-sqlite3)', async () => {
  const dir = freshDir();
  return { store: await openSqliteVehicleStore(dir, { driver: 'better-sqlite3' }), reopen: () => openSqliteVehicleStore(dir, { driver: 'better-sqlite3' }) };
});

vehicleStoreBehaviour('SQLite store (better-sqlite3, macrotask group commits)', async () => {
  const dir = freshDir();
  return { store: await openSqliteVehicleStore(dir, { commitBatching: 'macrotask' }), reopen: () => openSqliteVehicleStore(dir) };
});

// node:sqlite exists from Node 22.13; on Node 20 (this project's CI) it is absent and the
// driver test in sqlite-store.test.ts checks the fallback instead.
if (loadNodeSqlite()) {
  vehicleStoreBehaviour('SQLite store (node:sqlite)', async () => {
    const dir = freshDir();
    return { store: await openSqliteVehicleStore(dir, { driver: 'node:sqlite' }), reopen: () => openSqliteVehicleStore(dir, { driver: 'node:sqlite' }) };
  });
}
