/**
 * What only the SQLite store has: the lock, file modes, fail-closed opens (damaged pages, a
 * foreign or garbage file, a newer schema), the rollback guard, the bounded audit, the driver
 * fallback, and a vehicle running full and fast unlocks on it across a restart, on virtual time
 * (the store commits synchronously, so no real I/O escapes the virtual clock).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, openSync, closeSync, readSync, writeSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { NO_SQLITE_DRIVER, openSqliteDatabase, openSqliteVehicleStore, SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite/index.js';
import { loadNodeSqlite } from '../../src/store/sqlite/driver.js';
import { createNobleProvider } from '../../src/crypto/noble.js';
import { createSoftwareKeyAgreement } from '../../src/crypto/key-agreement.js';
import { createSoftwareSigner } from '../../src/crypto/signer.js';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { createMockLinkPair, VirtualClock } from '../../src/transport/mock/index.js';
import { Vehicle } from '../../src/vehicle/vehicle.js';
import { Phone } from '../../src/phone/phone.js';
import { PhoneStore } from '../../src/phone/store.js';
import type { ConnectOptions } from '../../src/phone/phone.js';
import { COMMAND } from '../../src/protocol/constants.js';
import { keyRecord, ticket } from './vehicle-store-suite.js';
import { seededRandom, T0 } from '../helpers/world.js';

const root = mkdtempSync(join(tmpdir(), 'dk-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `d${n++}`);

async function rejects(p: Promise<unknown>, code: string): Promise<StoreError> {
  const e = await p.then(() => null, (err: unknown) => err);
  expect(e, `expected ${code}`).toBeInstanceOf(StoreError);
  expect((e as StoreError).code, (e as Error).message).toBe(code);
  return e as StoreError;
}

/** A store with some rows in every big table, closed. */
async function filled(dir: string): Promise<void> {
  const s = await openSqliteVehicleStore(dir);
  for (let i = 1; i <= 200; i++) void s.putKey(keyRecord(i));
  for (let i = 1; i <= 200; i++) void s.putTicket(ticket(i, i));
  await s.revoke({ keys: [], grants: Array.from({ length: 300 }, (_, i) => ({ grantId: Uint8Array.of(i >> 8, i & 255), keepUntil: i })) });
  await s.close();
}

describe('SQLite store: one holder at a time', () => {
  it('a second open in this process fails with STORE_LOCKED until the first closes', async () => {
    const dir = freshDir();
    const a = await openSqliteVehicleStore(dir);
    const e = await rejects(openSqliteVehicleStore(dir), 'STORE_LOCKED');
    expect(e.retryable).toBe(true);
    await a.close();
    await (await openSqliteVehicleStore(dir)).close();
  });

  it('another process cannot open it while this one holds it, and can once it is closed', async () => {
    const dir = freshDir();
    const a = await openSqliteVehicleStore(dir);
    const script = `import { openSqliteVehicleStore } from './src/store/sqlite/index.ts';
      try { const s = await openSqliteVehicleStore(${JSON.stringify(dir)}); await s.close(); console.log('opened'); } catch (e) { console.log(e.code); }`;
    const other = () => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
    expect(other().stdout.trim()).toBe('STORE_LOCKED');
    await a.close();
    expect(other().stdout.trim()).toBe('opened');
  }, 30_000);
});

describe('SQLite store: files only the owner can read', () => {
  it('creates the directory 0700 and the database 0600, WAL included', async () => {
    const dir = freshDir();
    const s = await openSqliteVehicleStore(dir);
    await s.putKey(keyRecord(1));
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect([f, statSync(join(dir, f)).mode & 0o777]).toEqual([f, 0o600]);
    expect(readdirSync(dir)).toContain('vehicle.db');
    await s.close();
  });

  it('refuses a directory open to group or others, and tightens a loose database file', async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    await rejects(openSqliteVehicleStore(dir), 'STORE_INSECURE');
    chmodSync(dir, 0o700);
    writeFileSync(join(dir, 'car.sqlite'), '', { mode: 0o644 });
    chmodSync(join(dir, 'car.sqlite'), 0o644);
    const s = await openSqliteVehicleStore(join(dir, 'car.sqlite'));
    expect(statSync(join(dir, 'car.sqlite')).mode & 0o777).toBe(0o600);
    await s.close();
  });
});

describe('SQLite store: fails closed', () => {
  it('a file that is not a database is STORE_CORRUPT', async () => {
    const dir = freshDir();
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(join(dir, 'vehicle.db'), Buffer.alloc(8192, 0x5a), { mode: 0o600 });
    await rejects(openSqliteVehicleStore(dir), 'STORE_CORRUPT');
  });

  it('damaged b-tree pages are STORE_CORRUPT at open (quick_check), never an empty store', async () => {
    for (const page of [2, 3, 5, 8]) {
      const dir = freshDir();
      await filled(dir);
      const file = join(dir, 'vehicle.db');
      const fd = openSync(file, 'r+');
      writeSync(fd, Buffer.alloc(64, 0xa5), 0, 64, (page - 1) * 4096); // the page header and cell pointers
      closeSync(fd);
      await rejects(openSqliteVehicleStore(dir), 'STORE_CORRUPT');
    }
  });

  it('a truncated database is STORE_CORRUPT', async () => {
    const dir = freshDir();
    await filled(dir);
    const file = join(dir, 'vehicle.db');
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    const keep = Buffer.alloc(Math.floor(size / 2));
    readSync(fd, keep, 0, keep.length, 0);
    closeSync(fd);
    writeFileSync(file, keep);
    await rejects(openSqliteVehicleStore(dir), 'STORE_CORRUPT');
  });

  it('a foreign SQLite database is refused, a newer schema is STORE_VERSION', async () => {
    const foreign = freshDir();
    mkdirSync(foreign, { mode: 0o700 });
    const { db } = openSqliteDatabase(join(foreign, 'vehicle.db'));
    db.exec('CREATE TABLE songs (title TEXT)');
    db.close();
    await rejects(openSqliteVehicleStore(foreign), 'STORE_CORRUPT');

    const newer = freshDir();
    await (await openSqliteVehicleStore(newer)).close();
    const h = openSqliteDatabase(join(newer, 'vehicle.db')).db;
    h.exec(`PRAGMA user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    h.close();
    await rejects(openSqliteVehicleStore(newer), 'STORE_VERSION');
  });

  it('a row that does not decode is STORE_CORRUPT when read', async () => {
    const dir = freshDir();
    const s = await openSqliteVehicleStore(dir);
    await s.putKey(keyRecord(1));
    await s.close();
    const h = openSqliteDatabase(join(dir, 'vehicle.db')).db;
    h.exec(`UPDATE keys SET record = '{"role":"admin"}'`);
    h.close();
    const again = await openSqliteVehicleStore(dir);
    expect(() => again.getKey(keyRecord(1).keyId)).toThrow(expect.objectContaining({ code: 'STORE_CORRUPT' }));
    await again.close();
  });
});

describe('SQLite store: state never goes back', () => {
  it('the generation grows by one per commit; an older copy is STORE_ROLLBACK in this process, and below minGeneration anywhere', async () => {
    const dir = freshDir();
    const s = await openSqliteVehicleStore(dir);
    const g0 = s.generation;
    await s.putKey(keyRecord(1));
    await Promise.all([s.putKey(keyRecord(2)), s.putTicket(ticket(2, 2))]); // one group commit
    expect(s.generation).toBe(g0 + 2);
    await s.close();
    const copy = join(root, `old-${n++}.db`);
    copyFileSync(join(dir, 'vehicle.db'), copy);
    const t = await openSqliteVehicleStore(dir);
    await t.putKey(keyRecord(3));
    const g = t.generation;
    await t.close();
    copyFileSync(copy, join(dir, 'vehicle.db'));
    await rejects(openSqliteVehicleStore(dir), 'STORE_ROLLBACK');
    const other = freshDir();
    mkdirSync(other, { mode: 0o700 });
    copyFileSync(copy, join(other, 'vehicle.db'));
    await rejects(openSqliteVehicleStore(other, { minGeneration: g }), 'STORE_ROLLBACK');
    await (await openSqliteVehicleStore(other, { minGeneration: g - 1 })).close();
  });
});

describe('SQLite store: audit is bounded', () => {
  it('keeps the newest auditMaxRows records', async () => {
    const s = await openSqliteVehicleStore(freshDir(), { auditMaxRows: 10 });
    for (let i = 0; i < 25; i++) await s.appendAudit({ timeMs: i, outcome: 'OK' });
    expect((await s.readAudit()).map((e) => e.timeMs)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    await s.close();
  });

  it('refuses bad options', async () => {
    await expect(openSqliteVehicleStore(freshDir(), { auditMaxRows: 0 })).rejects.toMatchObject({ code: 'STORE_BAD_OPTION' });
    await expect(openSqliteVehicleStore(freshDir(), { minGeneration: -1 })).rejects.toMatchObject({ code: 'STORE_BAD_OPTION' });
  });
});

describe('SQLite store: drivers', () => {
  it('uses node:sqlite where Node has it and says what to install where it does not', async () => {
    if (loadNodeSqlite()) {
      const s = await openSqliteVehicleStore(freshDir(), { driver: 'node:sqlite' });
      expect(s.driver).toBe('node:sqlite');
      await s.close();
    } else {
      // Node 20: no node:sqlite; asking for it gives the one sentence.
      const e = await rejects(openSqliteVehicleStore(freshDir(), { driver: 'node:sqlite' }), 'STORE_UNAVAILABLE');
      expect(e.message).toBe(NO_SQLITE_DRIVER);
    }
    const auto = await openSqliteVehicleStore(freshDir());
    expect(auto.driver).toBe('better-sqlite3');
    await auto.close();
  });
});

/**
 * A phone for a vehicle on virtual time: `enrol` pairs it (as an owner) with a vehicle, and
 * `connect` runs one unlock on a fresh mock link to it and returns the closed session.
 */
function phoneRig(seed: number) {
  const crypto = createNobleProvider({ randomBytes: seededRandom(seed) });
  const clock = new VirtualClock(T0);
  const identityKey = createSoftwareKeyAgreement(crypto);
  const phone = new Phone({ crypto, clock, signer: createSoftwareSigner(crypto), store: new PhoneStore(createMemoryVault()) });
  const enrol = async (vehicle: Vehicle) => {
    await phone.addVehicle({ ...vehicle.peer, name: 'car' });
    await vehicle.enrollOwner(phone.publicKey);
  };
  const connect = async (vehicle: Vehicle, options: ConnectOptions = {}) => {
    const pair = createMockLinkPair({ clock });
    const served = vehicle.serve(pair.vehicle);
    const s = await clock.runUntilSettled(phone.connect(pair.phone, vehicle.identity.vehicleId, { id: COMMAND.unlock }, options));
    await clock.runUntilSettled(s.close());
    await clock.runUntilSettled(served);
    return s;
  };
  return { crypto, clock, identityKey, phone, enrol, connect };
}

describe('SQLite store: a vehicle on it', () => {
  it('full and fast unlocks, a revocation and a restart, on virtual time', async () => {
    const dir = freshDir();
    const { crypto, clock, identityKey, phone, enrol, connect: unlock } = phoneRig(10);
    const handlers = { [COMMAND.unlock]: () => undefined };
    const open = async () => Vehicle.create({ crypto, clock, identityKey, handlers, store: await openSqliteVehicleStore(dir) });
    let vehicle = await open();
    await enrol(vehicle);
    const connect = async () => {
      const s = await unlock(vehicle);
      return `${s.path} ${s.firstResult.code}`;
    };
    expect(await connect()).toBe('full OK');
    expect(await connect()).toBe('resume OK');
    await vehicle.config.store.close();
    vehicle = await open();
    expect(vehicle.config.store.ticketCount).toBe(1);
    expect(await connect()).toBe('resume OK');
    const ok = await vehicle.readAudit({ keyId: Buffer.from(phone.keyId).toString('hex'), outcome: 'OK' });
    expect(ok.map((e) => e.path)).toEqual(['full', 'resume', 'resume']); // the audit survived the restart too
    await vehicle.revokeKey(phone.keyId);
    expect(vehicle.config.store.getRevokedKey(phone.keyId) !== undefined).toBe(true);
    expect(vehicle.config.store.ticketCount).toBe(0);
    await vehicle.config.store.close();
  });
});

/** What a crash right now would leave: a copy of the database and its WAL, opened raw. */
function onDisk(dir: string): { tickets: string[]; pendingRequests: number; auditRows: number } {
  const copy = join(root, `disk-${n++}`);
  mkdirSync(copy, { mode: 0o700 });
  for (const f of readdirSync(dir).filter((name) => name.startsWith('vehicle.db'))) copyFileSync(join(dir, f), join(copy, f));
  const { db } = openSqliteDatabase(join(copy, 'vehicle.db'));
  try {
    const tickets = (db.prepare('SELECT ticket_id FROM tickets').all() as Array<{ ticket_id: Uint8Array }>).map((r) => Buffer.from(r.ticket_id).toString('hex'));
    const pendingRequests = (db.prepare('SELECT count(*) AS n FROM requests WHERE status = -1').get() as { n: number }).n;
    const auditRows = (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    return { tickets, pendingRequests, auditRows };
  } finally {
    db.close();
  }
}

describe('SQLite store: deferred writes share the next commit', () => {
  it('a take is applied at once and becomes durable with the pending request that follows it: one commit', async () => {
    const dir = freshDir();
    const s = await openSqliteVehicleStore(dir, { deferredCommitMs: 60_000 });
    await s.putKey(keyRecord(1));
    await s.putTicket(ticket(1, 1));
    await s.sync();
    const g0 = s.generation;
    const taken = await s.takeTicket(ticket(1, 1).ticketId);
    expect(taken?.keyId).toEqual(keyRecord(1).keyId);
    expect(await s.takeTicket(ticket(1, 1).ticketId)).toBeNull(); // a copy presented meanwhile gets nothing
    expect(s.generation).toBe(g0); // not committed yet
    expect(onDisk(dir).tickets).toHaveLength(1); // a crash now leaves the ticket: nothing ran with it
    await s.putRequest({ keyId: keyRecord(1).keyId, requestId: new Uint8Array(16).fill(7), command: 1, status: -1, timeMs: T0 });
    expect(s.generation).toBe(g0 + 1); // take and pending mark: one fsync
    expect(onDisk(dir)).toMatchObject({ tickets: [], pendingRequests: 1 });
    await s.close();
  });

  it('deferred writes alone are committed by sync(), by close(), or deferredCommitMs later', async () => {
    const dir = freshDir();
    const s = await openSqliteVehicleStore(dir, { deferredCommitMs: 20 });
    const g0 = s.generation;
    await s.appendAudit({ timeMs: 1, outcome: 'OK' });
    await s.appendAudit({ timeMs: 2, outcome: 'OK' });
    expect((await s.readAudit()).length).toBe(2); // visible at once
    expect(onDisk(dir).auditRows).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 60)); // real time: the backstop timer
    expect(s.generation).toBe(g0 + 1); // both in one commit
    expect(onDisk(dir).auditRows).toBe(2);
    await s.appendAudit({ timeMs: 3, outcome: 'OK' });
    await s.sync();
    expect(onDisk(dir).auditRows).toBe(3);
    await s.appendAudit({ timeMs: 4, outcome: 'OK' });
    await s.close();
    const t = await openSqliteVehicleStore(dir);
    expect((await t.readAudit()).map((e) => e.timeMs)).toEqual([1, 2, 3, 4]);
    await t.close();
  });

  it('deferredCommitMs 0 commits every write on its own; out-of-range values are refused', async () => {
    const s = await openSqliteVehicleStore(freshDir(), { deferredCommitMs: 0 });
    const g0 = s.generation;
    await s.appendAudit({ timeMs: 1, outcome: 'OK' });
    await Promise.resolve();
    await s.sync();
    expect(s.generation).toBe(g0 + 1);
    await s.close();
    await expect(openSqliteVehicleStore(freshDir(), { deferredCommitMs: -1 })).rejects.toMatchObject({ code: 'STORE_BAD_OPTION' });
    await expect(openSqliteVehicleStore(freshDir(), { deferredCommitMs: 1.5 })).rejects.toMatchObject({ code: 'STORE_BAD_OPTION' });
  });

  it.each(['fast', 'resume'] as const)('on a vehicle, the used ticket is on disk before the handler runs, in the same single commit as the pending request (%s path)', async (path) => {
    const dir = freshDir();
    const { crypto, clock, identityKey, enrol, connect: unlock } = phoneRig(11);
    const store = await openSqliteVehicleStore(dir, { deferredCommitMs: 60_000 });
    const seen: Array<{ tickets: string[]; pendingRequests: number; commits: number }> = [];
    let g0 = 0;
    const handlers = {
      [COMMAND.unlock]: () => {
        seen.push({ ...onDisk(dir), commits: store.generation - g0 });
      },
    };
    const vehicle = await Vehicle.create({ crypto, clock, identityKey, handlers, store });
    await enrol(vehicle);
    const connect = async () => (await unlock(vehicle, { resume: path === 'fast' ? 'off' : 'auto' })).path;
    expect(await connect()).toBe('full');
    await store.sync();
    const before = onDisk(dir).tickets;
    expect(before).toHaveLength(1);
    g0 = store.generation;
    expect(await connect()).toBe(path);
    const inHandler = seen[1]!;
    expect(inHandler.tickets).not.toContain(before[0]); // a crash in the handler cannot replay the ticket
    expect(inHandler.pendingRequests).toBe(1);
    expect(inHandler.commits).toBe(1); // take + pending request: one fsync on the critical path
    await vehicle.close();
  });
});
