/**
 * The protocol state changes the SQLite crash child makes, step k after step k - 1, and a
 * canonical snapshot of a store to compare against the reference (the vault store on the
 * memory vault, which replays the same steps in the parent): each step is one VehicleStore
 * call, so one transaction, and its content is derived from k, so a torn or mixed state shows.
 */
import { toHex } from '../../src/crypto/bytes.js';
import type { Vault } from '../../src/store/vault.js';
import { decodeTicket, type VehicleStore } from '../../src/vehicle/store.js';
import { parseRecord } from '../../src/store/json-record.js';

/** Key slots the steps cycle through. */
const SLOTS = 40;
/** The crash child acknowledges (syncs) after every this many steps. */
export const SYNC_EVERY = 3;
/** Audit rows the SQLite store keeps in the crash test (small, so trimming runs all the time). */
export const CRASH_AUDIT_ROWS = 60;

const fill = (k: number, tag: number, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  let x = (Math.imul(k, 2654435761) ^ Math.imul(tag, 40503) ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
};
const keyId = (slot: number) => fill(slot, 1, 16);
const ticketId = (k: number) => fill(k, 2, 16);

/** Applies step k (k ≥ 1) to `store`. */
export async function applyStep(store: VehicleStore, k: number): Promise<void> {
  const slot = k % SLOTS;
  switch (k % 8) {
    case 0:
    case 5:
      return store.putKey({ keyId: keyId(slot), publicKey: fill(k, 3, 33), role: 'friend', name: `key of step ${k}`, commands: [1, k % 7], suspended: k % 3 === 0, canShare: false, chainDepth: 1, usesLeft: k, createdAt: k });
    case 1:
      return store.putTicket({ ticketId: ticketId(k), keyId: keyId(slot), sealedSecret: fill(k, 4, 20 + (k % 60)), expiresAt: k * 10, renewalsLeft: k % 5 });
    case 2:
      await store.takeTicket(ticketId(k - 1)); // the ticket filed one step ago (single use)
      return;
    case 3:
      return store.revoke({ keys: [{ keyId: keyId((k * 7) % SLOTS), keepUntil: k + 400, revokedAt: 1 }], grants: [{ grantId: fill(k, 5, 16), keepUntil: k + 300 }] });
    case 4:
      return store.putRequest({ keyId: keyId(slot), requestId: fill(k % 23, 6, 1 + (k % 16)), command: k % 250, status: k % 3, data: fill(k, 7, k % 40), timeMs: k });
    case 6:
      return store.appendAudit({ timeMs: k, outcome: k % 3 ? 'OK' : 'REJECTED', keyId: toHex(keyId(slot)), command: k % 250, path: 'fast' });
    default:
      if (k % 64 === 7) {
        await store.pruneRevocations(k);
        return;
      }
      return store.raiseTimeFloor(k * 1000);
  }
}

/** Everything a store holds that the steps touch, in a canonical JSON form. */
export async function snapshot(store: VehicleStore, upTo: number, tickets: Array<Record<string, unknown>>): Promise<string> {
  const keys = store.listKeys().map((k) => JSON.stringify({ ...k, keyId: toHex(k.keyId), publicKey: toHex(k.publicKey) })).sort();
  const revokedKeys = Array.from({ length: SLOTS }, (_, s) => s).filter((s) => store.getRevokedKey(keyId(s)) !== undefined);
  const revokedGrants: number[] = [];
  const requests: string[] = [];
  for (let k = 1; k <= upTo; k++) {
    if (k % 8 === 3 && store.isGrantRevoked(fill(k, 5, 16))) revokedGrants.push(k);
    if (k % 8 === 4) {
      const r = store.getRequest(keyId(k % SLOTS), fill(k % 23, 6, 1 + (k % 16)));
      if (r && r.timeMs === k) requests.push(`${k}:${r.command}:${r.status}:${toHex(r.data ?? new Uint8Array(0))}`);
    }
  }
  const audit = (await store.readAudit({ limit: CRASH_AUDIT_ROWS })).map((e) => JSON.stringify(e));
  return JSON.stringify({
    counts: [store.keyCount, store.ticketCount, store.revokedCount],
    floor: store.timeFloor,
    keys,
    tickets,
    revokedKeys,
    revokedGrants,
    requests,
    audit,
  });
}

/** The tickets of the reference store, from its memory vault, in the SQLite dump's form. */
export async function vaultTickets(vault: Vault): Promise<Array<Record<string, unknown>>> {
  const out = [];
  for (const name of await vault.list('t.')) {
    const t = parseRecord((await vault.get(name))!, 'crash', name, decodeTicket);
    out.push({ keyId: toHex(t.keyId), ticketId: toHex(t.ticketId), sealedSecret: toHex(t.sealedSecret), expiresAt: t.expiresAt, renewalsLeft: t.renewalsLeft });
  }
  return out.sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
}
