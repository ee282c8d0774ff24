/**
 * The once-only move of a `dkey` store from the file vault to SQLite (src/cli/migrate.ts), on
 * real file-vault stores written by a real vehicle: it copies everything, keeps the old files
 * byte for byte as a backup, runs once, finishes a run interrupted after the copy, ignores a
 * dead run's temporary database, and changes nothing when the file vault is damaged.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDaemonStore } from '../../src/cli/store.js';
import { migrateLegacyStore, migrationNotice } from '../../src/cli/migrate.js';
import { fromHex } from '../../src/crypto/bytes.js';
import { migrateFileVaultStore } from '../../src/store/migrate-file-vault.js';
import { makeLegacyStore } from './legacy-store.js';

const work = mkdtempSync(join(tmpdir(), 'dkey-migrate-'));
let n = 0;
const fresh = () => join(work, `s${n++}`);

/** Every file under `dir` with its bytes. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (statSync(join(dir, name)).isFile()) out[name] = readFileSync(join(dir, name)).toString('hex');
  }
  return out;
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dkey moves a file-vault store to SQLite once', () => {
  it('copies everything, keeps the old files as a backup, and the store opens with the same keys', async () => {
    const dir = fresh();
    const legacy = await makeLegacyStore(dir, `${dir}-home`);
    const vaultBytes = snapshot(join(dir, 'vault'));
    const notices: string[] = [];
    const store = await openDaemonStore(dir, { notice: (line) => notices.push(line) });
    try {
      expect(store.listKeys().map((k) => k.name)).toEqual(['Legacy owner']);
      expect(store.getRevokedKey(fromHex(legacy.friendKeyId))).toBeDefined();
      expect(store.ticketCount).toBe(1);
      expect((await store.readAudit({ limit: 100 })).map((e) => e.outcome)).toContain('INITIALISED');
    } finally {
      await store.close();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^Moved the file-vault store .*\/vault to SQLite \(.*\/vehicle\.db\): 1 key\(s\), 1 ticket\(s\), 1 revocation\(s\), \d+ audit record\(s\); the old files are kept in .*\/file-vault-backup\.$/);
    expect(existsSync(join(dir, 'vault'))).toBe(false);
    expect(snapshot(join(dir, 'file-vault-backup'))).toEqual(vaultBytes);
    expect(statSync(join(dir, 'vehicle.db')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['file-vault-backup', 'identity-key', 'vehicle.db']);
    // Once: the next open finds only the SQLite store and says nothing.
    expect(await migrateLegacyStore(dir)).toBeNull();
    await (await openDaemonStore(dir, { notice: (line) => notices.push(line) })).close();
    expect(notices).toHaveLength(1);
  }, 30_000);

  it('finishes a run interrupted after the copy: the database stays, the file vault becomes the backup', async () => {
    const dir = fresh();
    await makeLegacyStore(dir, `${dir}-home`);
    // The state a crash between link(2) and the rename leaves: both stores, the copy complete.
    await migrateFileVaultStore(join(dir, 'vault'), join(dir, 'vehicle.db'));
    const db = readFileSync(join(dir, 'vehicle.db'));
    const m = await migrateLegacyStore(dir);
    expect(m).toMatchObject({ report: null, backup: join(dir, 'file-vault-backup') });
    expect(migrationNotice(dir, m!)).toMatch(/copied by an earlier or concurrent run\); the old files are kept in/);
    expect(readFileSync(join(dir, 'vehicle.db')).equals(db)).toBe(true);
    expect(existsSync(join(dir, 'vault'))).toBe(false);
  }, 30_000);

  it('removes the temporary database of a run that died mid-copy, and never takes a free backup name twice', async () => {
    const dir = fresh();
    await makeLegacyStore(dir, `${dir}-home`);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(join(dir, `.migrating-${dead}.db`), 'half a database', { mode: 0o600 });
    writeFileSync(join(dir, `.migrating-${dead}.db-wal`), 'half a WAL', { mode: 0o600 });
    // A live process's temporary database is left alone (here: our parent's pid).
    writeFileSync(join(dir, `.migrating-${process.ppid}.db`), 'in progress', { mode: 0o600 });
    writeFileSync(join(dir, 'file-vault-backup'), 'someone else\'s file');
    const m = await migrateLegacyStore(dir);
    expect(m?.report?.keys).toBe(1);
    expect(m?.backup).toBe(join(dir, 'file-vault-backup-2'));
    expect(readdirSync(dir).sort()).toEqual([`.migrating-${process.ppid}.db`, 'file-vault-backup', 'file-vault-backup-2', 'identity-key', 'vehicle.db']);
  }, 30_000);

  it('changes nothing when the file vault is damaged: STORE_CORRUPT, no database, no backup', async () => {
    const dir = fresh();
    await makeLegacyStore(dir, `${dir}-home`);
    const state = join(dir, 'vault', 'state');
    const bytes = readFileSync(state);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(state, bytes);
    const before = snapshot(dir);
    await expect(openDaemonStore(dir, { notice: () => undefined })).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['identity-key', 'vault']);
  }, 30_000);
});
