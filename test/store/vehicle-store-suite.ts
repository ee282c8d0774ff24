/**
 * The behaviour every VehicleStore implementation must share (src/vehicle/store.ts), written
 * against the interface only and run on the vault store over the memory vault and the file
 * vault, and on the SQLite store (one conformance suite, every implementation).
 */
import { describe, expect, it } from 'vitest';
import { REQUEST_MEMORY_PER_COMMAND, REQUEST_MEMORY_PER_KEY, type KeyRecord, type TicketRecord, type VehicleStore } from '../../src/vehicle/store.js';

/** A fresh empty store; `reopen` (durable stores only) opens it again after the test closed it. */
export interface StoreUnderTest {
  store: VehicleStore;
  reopen?: () => Promise<VehicleStore>;
}

/** Opens a fresh empty store. */
export type StoreFactory = () => Promise<StoreUnderTest>;

const id = (n: number, len = 16) => new Uint8Array(len).fill(n);

/** A key record whose fields all differ from the defaults. */
export function keyRecord(n: number, extra: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: id(n),
    publicKey: id(n, 33),
    role: n % 2 ? 'owner' : 'friend',
    name: `key ${n} — ünïcode`,
    commands: n % 2 ? null : [1, 2],
    suspended: false,
    canShare: n % 2 === 1,
    chainDepth: n % 3,
    createdAt: 1_700_000_000_000 + n,
    ...extra,
  };
}

/** A ticket for key n. */
export function ticket(n: number, t: number): TicketRecord {
  return { ticketId: id(100 + t), keyId: id(n), sealedSecret: id(t, 60), expiresAt: 1_800_000_000_000 + t, renewalsLeft: t % 5 };
}

/** Known deviations of an implementation, each asserted as failing until it is fixed. */
export interface KnownGaps {
  /**
   * Two concurrent takeTicket calls of one ticket both return it: VaultVehicleStore drops the
   * ticket from its maps only after the vault delete resolves (reported to the store's owner).
   */
  concurrentTakeTwice?: boolean;
}

/** Registers the shared suite for one implementation. */
export function vehicleStoreBehaviour(label: string, fresh: StoreFactory, gaps: KnownGaps = {}): void {
  describe(`${label}: VehicleStore conformance`, () => {
    it('starts empty', async () => {
      const { store } = await fresh();
      expect(store.getIdentity()).toBeNull();
      expect(store.getPairingRecord()).toBeNull();
      expect([store.keyCount, store.ticketCount, store.revokedCount, store.timeFloor]).toEqual([0, 0, 0, 0]);
      expect(store.getKey(id(1))).toBeUndefined();
      expect(store.listKeys()).toEqual([]);
      expect(await store.takeTicket(id(1))).toBeNull();
      expect(store.isGrantRevoked(id(1))).toBe(false);
      expect(store.getRevokedKey(id(1)) !== undefined).toBe(false);
      expect(store.getRequest(id(1), id(2, 4))).toBeUndefined();
      expect(await store.readAudit()).toEqual([]);
      await store.close();
    });

    it('stores the identity and the pairing record, and clears the pairing record', async () => {
      const { store } = await fresh();
      const identity = { vehicleId: id(1), publicKey: id(2, 33), advertisingSecret: id(3, 32), ticketSealPublicKey: id(4, 33) };
      await store.setIdentity(identity);
      expect(store.getIdentity()).toEqual(identity);
      await store.setPairingRecord(Uint8Array.of(9, 8, 7));
      expect(store.getPairingRecord()).toEqual(Uint8Array.of(9, 8, 7));
      await store.setPairingRecord(null);
      expect(store.getPairingRecord()).toBeNull();
      await store.close();
    });

    it('adds, replaces and lists keys; the count follows', async () => {
      const { store } = await fresh();
      await store.putKey(keyRecord(1));
      await store.putKey(keyRecord(2, { usesLeft: 3, notBefore: 5, notAfter: 6, grantId: id(7), issuerKeyId: id(1), chainGrantIds: ['0a0b'], chainIssuerIds: ['0c'] }));
      expect(store.keyCount).toBe(2);
      expect(store.getKey(id(2))).toEqual(keyRecord(2, { usesLeft: 3, notBefore: 5, notAfter: 6, grantId: id(7), issuerKeyId: id(1), chainGrantIds: ['0a0b'], chainIssuerIds: ['0c'] }));
      await store.putKey(keyRecord(2, { usesLeft: 2, suspended: true }));
      expect(store.keyCount).toBe(2);
      expect(store.getKey(id(2))).toMatchObject({ usesLeft: 2, suspended: true });
      expect(store.listKeys().map((k) => k.keyId[0]).sort()).toEqual([1, 2]);
      await store.close();
    });

    it('tickets are single use, one per key, found by ticket id', async () => {
      const { store } = await fresh();
      await store.putKey(keyRecord(1));
      await store.putKey(keyRecord(2));
      await store.putTicket(ticket(1, 1));
      await store.putTicket(ticket(2, 2));
      expect(store.ticketCount).toBe(2);
      await store.putTicket(ticket(1, 3)); // replaces key 1's ticket 1
      expect(store.ticketCount).toBe(2);
      expect(await store.takeTicket(ticket(1, 1).ticketId)).toBeNull();
      expect(await store.takeTicket(ticket(1, 3).ticketId)).toEqual(ticket(1, 3));
      expect(await store.takeTicket(ticket(1, 3).ticketId)).toBeNull();
      expect(store.ticketCount).toBe(1);
      await store.close();
    });

    (gaps.concurrentTakeTwice ? it.fails : it)('two concurrent takes of one ticket: exactly one gets it', async () => {
      const { store } = await fresh();
      await store.putKey(keyRecord(2));
      await store.putTicket(ticket(2, 2));
      const both = await Promise.all([store.takeTicket(ticket(2, 2).ticketId), store.takeTicket(ticket(2, 2).ticketId)]);
      await store.close();
      expect(both.filter((t) => t !== null)).toHaveLength(1);
    });

    it('revoke removes keys with their tickets and request ids in one change and remembers the ids', async () => {
      const { store } = await fresh();
      for (const n of [1, 2, 3]) {
        await store.putKey(keyRecord(n));
        await store.putTicket(ticket(n, n));
        await store.putRequest({ keyId: id(n), requestId: id(n, 4), command: 1, status: 0, timeMs: n });
      }
      await store.revoke({ keys: [{ keyId: id(1), keepUntil: 100, revokedAt: 1 }, { keyId: id(2), keepUntil: 200, revokedAt: 1 }], grants: [{ grantId: id(50), keepUntil: 300 }] });
      expect([store.keyCount, store.ticketCount, store.revokedCount]).toEqual([1, 1, 3]);
      expect(store.getKey(id(1))).toBeUndefined();
      expect(await store.takeTicket(ticket(2, 2).ticketId)).toBeNull();
      expect(store.getRequest(id(1), id(1, 4))).toBeUndefined();
      expect(store.getRequest(id(3), id(3, 4))).toBeDefined();
      expect([store.getRevokedKey(id(1)) !== undefined, store.getRevokedKey(id(2)) !== undefined, store.getRevokedKey(id(3)) !== undefined]).toEqual([true, true, false]);
      expect([store.isGrantRevoked(id(50)), store.isGrantRevoked(id(51))]).toEqual([true, false]);
      // Revoking again counts nothing twice; an empty change is a no-op.
      await store.revoke({ keys: [{ keyId: id(1), keepUntil: 100, revokedAt: 1 }], grants: [{ grantId: id(50), keepUntil: 300 }] });
      await store.revoke({ keys: [], grants: [] });
      expect(store.revokedCount).toBe(3);
      await store.close();
    });

    it('prunes revocations of both kinds strictly before the cut', async () => {
      const { store } = await fresh();
      await store.revoke({ keys: [{ keyId: id(1), keepUntil: 100, revokedAt: 1 }, { keyId: id(2), keepUntil: 200, revokedAt: 1 }], grants: [{ grantId: id(3), keepUntil: 99 }, { grantId: id(4), keepUntil: 201 }] });
      expect(await store.pruneRevocations(100)).toBe(1);
      expect(await store.pruneRevocations(100)).toBe(0);
      expect(await store.pruneRevocations(201)).toBe(2);
      expect([store.getRevokedKey(id(1)) !== undefined, store.getRevokedKey(id(2)) !== undefined, store.isGrantRevoked(id(4))]).toEqual([false, false, true]);
      expect(store.revokedCount).toBe(1);
      await store.close();
    });

    it('the time floor only goes up', async () => {
      const { store } = await fresh();
      await store.raiseTimeFloor(1000);
      await store.raiseTimeFloor(500);
      await store.raiseTimeFloor(1000);
      await store.raiseTimeFloor(Number.NaN);
      expect(store.timeFloor).toBe(1000);
      await store.raiseTimeFloor(1500.5);
      expect(store.timeFloor).toBe(1500.5);
      await store.close();
    });

    it('nothing is filed for a key that is not enrolled (revoked while its handler ran)', async () => {
      const { store } = await fresh();
      await store.putTicket(ticket(9, 9));
      await store.putRequest({ keyId: id(9), requestId: id(9, 4), command: 1, status: 0, timeMs: 1 });
      expect(store.ticketCount).toBe(0);
      expect(await store.takeTicket(ticket(9, 9).ticketId)).toBeNull();
      expect(store.getRequest(id(9), id(9, 4))).toBeUndefined();
      await store.close();
    });

    it(`remembers the newest ${REQUEST_MEMORY_PER_COMMAND} requests per command of a key: other commands cannot push one out`, async () => {
      const { store } = await fresh();
      await store.putKey(keyRecord(1));
      const req = (r: number, command: number) => ({ keyId: id(1), requestId: Uint8Array.of(r), command, status: 0, timeMs: r });
      await store.putRequest(req(1, 1));
      for (let r = 2; r < 40; r++) await store.putRequest(req(r, 2));
      expect(store.getRequest(id(1), Uint8Array.of(1))).toEqual(req(1, 1));
      expect(store.getRequest(id(1), Uint8Array.of(39 - REQUEST_MEMORY_PER_COMMAND))).toBeUndefined();
      expect(store.getRequest(id(1), Uint8Array.of(40 - REQUEST_MEMORY_PER_COMMAND))).toBeDefined();
      await store.close();
    });

    it(`remembers at most ${REQUEST_MEMORY_PER_KEY} request ids per key; an update becomes the newest`, async () => {
      const { store } = await fresh();
      for (const k of [1, 2, 3]) await store.putKey(keyRecord(k));
      // Each request its own command, so only the per-key bound applies.
      const req = (k: number, r: number, status = 0) => ({ keyId: id(k), requestId: Uint8Array.of(r), command: 100 + r, status, data: Uint8Array.of(r, r), timeMs: r });
      await store.putRequest(req(2, 1));
      for (let r = 1; r <= REQUEST_MEMORY_PER_KEY; r++) await store.putRequest(req(1, r));
      await store.putRequest(req(1, 1, 5)); // update: request 1 is now the newest
      await store.putRequest(req(1, 200)); // pushes out the oldest: request 2
      expect(store.getRequest(id(1), Uint8Array.of(2))).toBeUndefined();
      expect(store.getRequest(id(1), Uint8Array.of(1))).toEqual(req(1, 1, 5));
      expect(store.getRequest(id(1), Uint8Array.of(200))).toEqual(req(1, 200));
      expect(store.getRequest(id(2), Uint8Array.of(1))).toEqual(req(2, 1)); // other keys untouched
      await store.putRequest({ keyId: id(3), requestId: Uint8Array.of(1), command: 1, status: 0, timeMs: 1 });
      expect(store.getRequest(id(3), Uint8Array.of(1))).toEqual({ keyId: id(3), requestId: Uint8Array.of(1), command: 1, status: 0, timeMs: 1 });
      await store.close();
    });

    it('reads audit records oldest first, the newest that match', async () => {
      const { store } = await fresh();
      for (let i = 0; i < 30; i++) await store.appendAudit({ timeMs: 1000 + i, outcome: i % 3 ? 'OK' : 'REJECTED', ...(i % 2 ? { keyId: 'aa' } : {}), command: i, path: 'fast' });
      expect((await store.readAudit()).map((e) => e.command)).toEqual([...Array(30).keys()]);
      expect((await store.readAudit(3)).map((e) => e.command)).toEqual([27, 28, 29]);
      expect((await store.readAudit({ sinceMs: 1025 })).map((e) => e.command)).toEqual([25, 26, 27, 28, 29]);
      expect((await store.readAudit({ keyId: 'aa', limit: 2 })).map((e) => e.command)).toEqual([27, 29]);
      expect((await store.readAudit({ outcome: 'REJECTED', sinceMs: 1020 })).map((e) => e.command)).toEqual([21, 24, 27]);
      expect((await store.readAudit({ keyId: 'aa', outcome: 'REJECTED' })).map((e) => e.command)).toEqual([3, 9, 15, 21, 27]);
      expect(await store.readAudit({ keyId: 'bb' })).toEqual([]);
      await store.close();
    });

    it('writes issued together all land (none lost, counts exact)', async () => {
      const { store } = await fresh();
      await Promise.all(Array.from({ length: 50 }, (_, i) => store.putKey(keyRecord(i + 1))));
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => store.putKey(keyRecord(i + 1, { name: 'again' }))),
        ...Array.from({ length: 50 }, (_, i) => store.putTicket(ticket(i + 1, i + 1))),
        ...Array.from({ length: 20 }, (_, i) => store.appendAudit({ timeMs: i, outcome: 'OK' })),
      ]);
      expect([store.keyCount, store.ticketCount, (await store.readAudit()).length]).toEqual([50, 50, 20]);
      await store.close();
    });

    it('wipeAll erases everything but the time floor', async () => {
      const { store } = await fresh();
      await store.setIdentity({ vehicleId: id(1), publicKey: id(2, 33), advertisingSecret: id(3, 32), ticketSealPublicKey: id(4, 33) });
      await store.setPairingRecord(Uint8Array.of(1));
      await store.putKey(keyRecord(1));
      await store.putTicket(ticket(1, 1));
      await store.revoke({ keys: [{ keyId: id(2), keepUntil: 1, revokedAt: 1 }], grants: [{ grantId: id(3), keepUntil: 1 }] });
      await store.putRequest({ keyId: id(1), requestId: Uint8Array.of(1), command: 1, status: 0, timeMs: 1 });
      await store.raiseTimeFloor(777);
      await store.wipeAll();
      expect(store.getIdentity()).toBeNull();
      expect(store.getPairingRecord()).toBeNull();
      expect([store.keyCount, store.ticketCount, store.revokedCount, store.timeFloor]).toEqual([0, 0, 0, 777]);
      expect(store.getKey(id(1))).toBeUndefined();
      expect(store.getRevokedKey(id(2)) !== undefined).toBe(false);
      expect(store.getRequest(id(1), Uint8Array.of(1))).toBeUndefined();
      expect(await store.takeTicket(ticket(1, 1).ticketId)).toBeNull();
      await store.close();
    });

    it('sync() resolves once every write so far is durable; writes are visible before it; a closed store refuses it', async () => {
      const { store } = await fresh();
      await store.sync(); // nothing pending
      await store.putKey(keyRecord(1));
      const filed = store.putTicket(ticket(1, 1));
      const audited = store.appendAudit({ timeMs: 1, outcome: 'OK' });
      await Promise.all([filed, audited, store.sync()]);
      expect(store.ticketCount).toBe(1);
      const [a, b] = await Promise.all([store.takeTicket(ticket(1, 1).ticketId), store.takeTicket(ticket(1, 1).ticketId)]);
      expect([a, b].filter((t) => t !== null)).toHaveLength(1); // single use even before it is durable
      await store.sync();
      expect(store.ticketCount).toBe(0);
      expect((await store.readAudit()).map((e) => e.timeMs)).toEqual([1]);
      await store.close();
      await expect(store.sync()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    });

    it('refuses writes once closed', async () => {
      const { store } = await fresh();
      await store.close();
      await expect(store.putKey(keyRecord(1))).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      await store.close(); // idempotent
    });

    it('keeps every change across a close and reopen (durable stores)', async (ctx) => {
      const { store, reopen } = await fresh();
      if (!reopen) return ctx.skip();
      const identity = { vehicleId: id(1), publicKey: id(2, 33), advertisingSecret: id(3, 32), ticketSealPublicKey: id(4, 33) };
      await store.setIdentity(identity);
      await store.setPairingRecord(Uint8Array.of(5));
      for (const n of [1, 2, 3]) await store.putKey(keyRecord(n));
      await store.putTicket(ticket(1, 1));
      await store.putTicket(ticket(2, 2));
      await store.takeTicket(ticket(1, 1).ticketId);
      await store.revoke({ keys: [{ keyId: id(3), keepUntil: 9, revokedAt: 1 }], grants: [{ grantId: id(60), keepUntil: 9 }] });
      await store.putRequest({ keyId: id(2), requestId: Uint8Array.of(4), command: 1, status: 2, data: Uint8Array.of(3), timeMs: 4 });
      await store.raiseTimeFloor(4242);
      await store.appendAudit({ timeMs: 1, outcome: 'OK', keyId: 'ab' });
      await store.close();
      const again = await reopen();
      expect(again.getIdentity()).toEqual(identity);
      expect(again.getPairingRecord()).toEqual(Uint8Array.of(5));
      expect([again.keyCount, again.ticketCount, again.revokedCount, again.timeFloor]).toEqual([2, 1, 2, 4242]);
      expect(again.getKey(id(2))).toEqual(keyRecord(2));
      expect(await again.takeTicket(ticket(1, 1).ticketId)).toBeNull(); // a used ticket stays used
      expect(await again.takeTicket(ticket(2, 2).ticketId)).toEqual(ticket(2, 2));
      expect([again.getRevokedKey(id(3)) !== undefined, again.isGrantRevoked(id(60))]).toEqual([true, true]);
      expect(again.getRequest(id(2), Uint8Array.of(4))).toEqual({ keyId: id(2), requestId: Uint8Array.of(4), command: 1, status: 2, data: Uint8Array.of(3), timeMs: 4 });
      expect(await again.readAudit()).toEqual([{ timeMs: 1, outcome: 'OK', keyId: 'ab' }]);
      await again.close();
    });
  });
}
