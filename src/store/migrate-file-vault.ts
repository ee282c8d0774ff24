/**
 * One-shot migration of a file-vault vehicle store (src/store/file-vault.ts +
 * VaultVehicleStore) to the SQLite store (docs/STORAGE.md §Migrating from the file vault).
 *
 * The file vault rewrites its whole state on every commit, which costs hundreds of
 * milliseconds per unlock at fleet scale; SQLite commits what changed. The migration reads the
 * old store through its own strict decoder (a damaged record is STORE_CORRUPT: nothing is
 * migrated), writes everything into a NEW SQLite store in one transaction, reads it back and
 * compares, and leaves the file vault untouched: delete it yourself once the car runs on the
 * new store. Both stores are locked for the whole run. Node-only.
 */
import { StoreError } from '../errors.js';
import { toHex } from '../crypto/bytes.js';
import { openFileVault } from './file-vault.js';
import { parseRecord } from './json-record.js';
import { openSqliteVehicleStore, type SqliteStoreOptions } from './sqlite/store.js';
import { decodeTicket, openVehicleStore, type AuditEvent, type TicketRecord } from '../vehicle/store.js';
import { existsSync, rmSync } from 'node:fs';
import { resolveLocation } from './sqlite/files.js';

/** What {@link migrateFileVaultStore} copied. */
export interface MigrationReport {
  keys: number;
  tickets: number;
  revokedKeys: number;
  revokedGrants: number;
  requests: number;
  audit: number;
  timeFloor: number;
  /** Generation of the new SQLite store after the migration commit. */
  generation: number;
}

/**
 * Copies the vehicle store in file-vault directory `fromDir` into a new SQLite store at
 * `toPath` (a directory or a `.db` file, as for openSqliteVehicleStore). Refuses (StoreError
 * `STORE_EXISTS`) if `toPath` already holds a database, so it never merges into live state.
 */
export async function migrateFileVaultStore(fromDir: string, toPath: string, options: SqliteStoreOptions = {}): Promise<MigrationReport> {
  if (existsSync(resolveLocation(toPath).file)) throw new StoreError('STORE_EXISTS', `${resolveLocation(toPath).file} already exists: migrate into a new store only`);
  const vault = await openFileVault(fromDir);
  try {
    const from = await openVehicleStore(vault); // strict load: any bad record is STORE_CORRUPT
    const tickets: TicketRecord[] = [];
    for (const name of await vault.list('t.')) tickets.push(parseRecord((await vault.get(name))!, 'vehicle', name, decodeTicket));
    const revokedKeys = await vault.list('x.');
    const revokedGrants = await vault.list('g.');
    const audit: AuditEvent[] = await from.readAudit({ limit: Number.MAX_SAFE_INTEGER });
    const to = await openSqliteVehicleStore(toPath, options);
    let done = false;
    try {
      // Every write below joins one group commit: the new store holds all of it or nothing.
      const writes: Array<Promise<unknown>> = [];
      const identity = from.getIdentity();
      if (identity) writes.push(to.setIdentity(identity));
      const pairing = from.getPairingRecord();
      if (pairing) writes.push(to.setPairingRecord(pairing));
      for (const k of from.listKeys()) writes.push(to.putKey(k));
      for (const t of tickets) writes.push(to.putTicket(t));
      const revocations = { keys: [] as Array<{ keyId: Uint8Array; keepUntil: number; revokedAt: number }>, grants: [] as Array<{ grantId: Uint8Array; keepUntil: number }> };
      for (const name of revokedKeys) revocations.keys.push(parseRecord((await vault.get(name))!, 'vehicle', name, (j) => ({ keyId: hexOf(j.keyId), keepUntil: Number(j.keepUntil), revokedAt: Number(j.revokedAt) })));
      for (const name of revokedGrants) revocations.grants.push(parseRecord((await vault.get(name))!, 'vehicle', name, (j) => ({ grantId: hexOf(j.grantId), keepUntil: Number(j.keepUntil) })));
      let requestCount = 0;
      for (const name of await vault.list('r.')) {
        const list = parseRecord((await vault.get(name))!, 'vehicle', name, (j) => j.requests as Array<Record<string, unknown>>);
        for (const r of list) {
          const rec = from.getRequest(hexOf(r.keyId), hexOf(r.requestId));
          if (rec) (writes.push(to.putRequest(rec)), requestCount++);
        }
      }
      // Revoked keys have no key, ticket or request rows: revoke() deletes nothing here.
      writes.push(to.revoke(revocations));
      writes.push(to.raiseTimeFloor(from.timeFloor));
      for (const e of audit) writes.push(to.appendAudit(e));
      await Promise.all(writes);
      verify(from, to, tickets.length);
      done = true;
      return { keys: to.keyCount, tickets: to.ticketCount, revokedKeys: revocations.keys.length, revokedGrants: revocations.grants.length, requests: requestCount, audit: audit.length, timeFloor: to.timeFloor, generation: to.generation };
    } finally {
      await to.close();
      // A failed migration leaves no half store behind: the next attempt starts clean.
      if (!done) for (const suffix of ['', '-wal', '-journal']) rmSync(resolveLocation(toPath).file + suffix, { force: true });
    }
  } finally {
    await vault.close();
  }
}

function hexOf(v: unknown): Uint8Array {
  if (typeof v !== 'string' || !/^([0-9a-f]{2})*$/.test(v)) throw new Error('hex field');
  return Uint8Array.from(v.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** Reads the new store back: every key equal, every count equal. */
function verify(from: Awaited<ReturnType<typeof openVehicleStore>>, to: Awaited<ReturnType<typeof openSqliteVehicleStore>>, tickets: number): void {
  const same = (a: unknown, b: unknown) => JSON.stringify(a, (_, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v)) === JSON.stringify(b, (_, v: unknown) => (v instanceof Uint8Array ? toHex(v) : v));
  const problems: string[] = [];
  if (to.keyCount !== from.keyCount || to.ticketCount !== tickets || to.revokedCount !== from.revokedCount) problems.push('counts differ');
  for (const k of from.listKeys()) if (!same(to.getKey(k.keyId), k)) problems.push(`key ${toHex(k.keyId)} differs`);
  if (!same(to.getIdentity(), from.getIdentity())) problems.push('identity differs');
  if (problems.length > 0) throw new StoreError('STORE_CORRUPT', `migration read-back failed: ${problems.slice(0, 3).join('; ')}`);
}
