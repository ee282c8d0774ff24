/**
 * The behaviour every Vault implementation must share, run against the memory vault and the
 * file vault alike (one conformance suite, many implementations).
 */

import { describe, expect, it } from 'vitest';
import { StoreError, UsageError } from '../../src/errors.js';
import { STORE_LOG_MAX_RECORD_BYTES, STORE_MAX_VALUE_BYTES } from '../../src/constants.js';
import type { LogOptions, Vault } from '../../src/store/vault.js';

/** Opens a fresh, empty vault with the given log options. */
export type VaultFactory = (options?: LogOptions) => Promise<Vault>;

const bytes = (...xs: number[]) => Uint8Array.from(xs);

/** Awaits `p` and checks it rejected with `type` and `code`. */
export async function expectCode(p: Promise<unknown>, type: new (...a: never[]) => Error, code: string): Promise<Error> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(type);
  expect((e as { code?: string }).code).toBe(code);
  return e as Error;
}

/** Names that must be refused, and why. */
export const BAD_NAMES: Array<[string, unknown]> = [
  ['empty', ''],
  ['upper case', 'Key'],
  ['space', 'a b'],
  ['slash', 'a/b'],
  ['path traversal', '../state'],
  ['backslash', 'a\\b'],
  ['NUL', 'a\u0000b'],
  ['non-ASCII', 'clé'],
  ['65 characters', 'a'.repeat(65)],
  ['number', 42],
  ['null', null],
  ['undefined', undefined],
  ['object', { toString: () => 'a' }],
];

/** Values that must be refused by put. */
export const BAD_VALUES: Array<[string, unknown]> = [
  ['string', 'abc'],
  ['number', 1],
  ['null', null],
  ['plain array', [1, 2, 3]],
  ['ArrayBuffer', new ArrayBuffer(4)],
  ['DataView', new DataView(new ArrayBuffer(4))],
  ['Uint16Array', new Uint16Array(2)],
];

/** Registers the shared suite for one implementation. */
export function vaultBehaviour(label: string, open: VaultFactory): void {
  describe(`${label}: entries`, () => {
    it('returns null for a missing name and round-trips values, empty included', async () => {
      const v = await open();
      expect(await v.get('missing')).toBeNull();
      await v.put('a', bytes(1, 2, 3));
      await v.put('empty', new Uint8Array(0));
      expect(await v.get('a')).toEqual(bytes(1, 2, 3));
      expect(await v.get('empty')).toEqual(new Uint8Array(0));
      await v.put('a', bytes(9));
      expect(await v.get('a')).toEqual(bytes(9));
      await v.close();
    });

    it('copies values in and out', async () => {
      const v = await open();
      const input = bytes(1, 2, 3);
      await v.put('a', input);
      input[0] = 99;
      const out = (await v.get('a'))!;
      out[1] = 99;
      expect(await v.get('a')).toEqual(bytes(1, 2, 3));
      await v.close();
    });

    it('accepts a Buffer or a subarray view and returns a plain, exact Uint8Array', async () => {
      const v = await open();
      await v.put('buf', Buffer.from([4, 5]));
      const backing = bytes(0, 1, 2, 3, 4);
      await v.put('view', backing.subarray(1, 3));
      const got = (await v.get('buf'))!;
      expect(Buffer.isBuffer(got)).toBe(false);
      expect(got).toEqual(bytes(4, 5));
      expect(await v.get('view')).toEqual(bytes(1, 2));
      await v.close();
    });

    it('putMany applies sets and deletes together', async () => {
      const v = await open();
      await v.putMany([['a', bytes(1)], ['b', bytes(2)], ['c', bytes(3)]]);
      await v.putMany([['a', null], ['b', bytes(22)], ['d', bytes(4)]]);
      expect(await v.list()).toEqual(['b', 'c', 'd']);
      expect(await v.get('b')).toEqual(bytes(22));
      await v.putMany([]);
      expect(await v.list()).toEqual(['b', 'c', 'd']);
      await v.close();
    });

    it('putMany with one bad entry applies nothing', async () => {
      const v = await open();
      await v.put('a', bytes(1));
      await expectCode(v.putMany([['a', bytes(2)], ['b', 'oops' as unknown as Uint8Array]]), UsageError, 'STORE_BAD_VALUE');
      await expectCode(v.putMany([['a', bytes(2)], ['B', bytes(1)]]), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.putMany([['a', bytes(2)], ['a', null]]), UsageError, 'STORE_DUPLICATE_NAME');
      expect(await v.get('a')).toEqual(bytes(1));
      expect(await v.list()).toEqual(['a']);
      await v.close();
    });

    it('rejects malformed putMany batches', async () => {
      const v = await open();
      for (const batch of [null, 'a', {}, [['a']], [['a', bytes(1), 'x']], ['a'], [null]]) {
        await expectCode(v.putMany(batch as never), UsageError, 'STORE_BAD_VALUE');
      }
      await v.close();
    });

    it('delete removes a name and is a no-op for a missing one', async () => {
      const v = await open();
      await v.put('a', bytes(1));
      await v.delete('a');
      await v.delete('a');
      await v.delete('never');
      expect(await v.get('a')).toBeNull();
      expect(await v.list()).toEqual([]);
      await v.close();
    });

    it('lists names in byte order, filtered by prefix', async () => {
      const v = await open();
      const names = ['key.b', 'key.a', 'ticket.9', 'ticket.10', 'key-', 'a', '0', '_', '.'];
      await v.putMany(names.map((n) => [n, bytes(1)] as [string, Uint8Array]));
      expect(await v.list()).toEqual([...names].sort());
      expect(await v.list('')).toEqual([...names].sort());
      expect(await v.list('key.')).toEqual(['key.a', 'key.b']);
      expect(await v.list('ticket.1')).toEqual(['ticket.10']);
      expect(await v.list('zzz')).toEqual([]);
      await expectCode(v.list('Key'), UsageError, 'STORE_BAD_NAME');
      await v.close();
    });

    it('accepts every allowed character and 64-character names', async () => {
      const v = await open();
      const names = ['abcdefghijklmnopqrstuvwxyz0123456789._-', 'x'.repeat(64), '.', '..', '-'];
      for (const n of names) await v.put(n, bytes(n.length));
      for (const n of names) expect(await v.get(n)).toEqual(bytes(n.length));
      await v.close();
    });

    it.each(BAD_NAMES)('rejects a bad name (%s) on every operation', async (_why, name) => {
      const v = await open();
      const n = name as string;
      await expectCode(v.get(n), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.put(n, bytes(1)), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.putMany([[n, bytes(1)]]), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.delete(n), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.appendLog(n, bytes(1)), UsageError, 'STORE_BAD_NAME');
      await expectCode(v.readLog(n), UsageError, 'STORE_BAD_NAME');
      expect(await v.list()).toEqual([]);
      await v.close();
    });

    it.each(BAD_VALUES)('rejects a bad value (%s)', async (_why, value) => {
      const v = await open();
      await expectCode(v.put('a', value as Uint8Array), UsageError, 'STORE_BAD_VALUE');
      await expectCode(v.appendLog('a', value as Uint8Array), UsageError, 'STORE_BAD_VALUE');
      expect(await v.get('a')).toBeNull();
      await v.close();
    });

    it('enforces the value and state size limits without changing anything', async () => {
      const v = await open();
      await v.put('keep', bytes(7));
      await expectCode(v.put('big', new Uint8Array(STORE_MAX_VALUE_BYTES + 1)), UsageError, 'STORE_VALUE_TOO_LARGE');
      await v.put('max', new Uint8Array(STORE_MAX_VALUE_BYTES));
      const sixteen = Array.from({ length: 16 }, (_, i) => [`v${i}`, new Uint8Array(STORE_MAX_VALUE_BYTES)] as [string, Uint8Array]);
      await expectCode(v.putMany(sixteen), StoreError, 'STORE_FULL');
      expect(await v.list()).toEqual(['keep', 'max']);
      await v.close();
    });

    it('applies operations in call order even when not awaited', async () => {
      const v = await open();
      const ops = [v.put('a', bytes(1)), v.get('a'), v.put('a', bytes(2)), v.get('a'), v.delete('a'), v.get('a')];
      const results = await Promise.all(ops);
      expect(results[1]).toEqual(bytes(1));
      expect(results[3]).toEqual(bytes(2));
      expect(results[5]).toBeNull();
      await v.close();
    });

    it('refuses every operation after close; close is idempotent', async () => {
      const v = await open();
      await v.put('a', bytes(1));
      await v.close();
      await v.close();
      await expectCode(v.get('a'), StoreError, 'STORE_CLOSED');
      await expectCode(v.put('a', bytes(1)), StoreError, 'STORE_CLOSED');
      await expectCode(v.putMany([]), StoreError, 'STORE_CLOSED');
      await expectCode(v.delete('a'), StoreError, 'STORE_CLOSED');
      await expectCode(v.list(), StoreError, 'STORE_CLOSED');
      await expectCode(v.appendLog('log', bytes(1)), StoreError, 'STORE_CLOSED');
      await expectCode(v.readLog('log'), StoreError, 'STORE_CLOSED');
    });
  });

  describe(`${label}: logs`, () => {
    it('appends and reads records in order, copies in and out, empty record included', async () => {
      const v = await open();
      expect(await v.readLog('audit')).toEqual([]);
      const r = bytes(1, 2);
      await v.appendLog('audit', r);
      r[0] = 9;
      await v.appendLog('audit', new Uint8Array(0));
      await v.appendLog('audit', bytes(3));
      const got = await v.readLog('audit');
      expect(got).toEqual([bytes(1, 2), new Uint8Array(0), bytes(3)]);
      got[0]![0] = 9;
      expect((await v.readLog('audit'))[0]).toEqual(bytes(1, 2));
      await v.close();
    });

    it('keeps logs and entries in separate namespaces', async () => {
      const v = await open();
      await v.put('audit', bytes(1));
      await v.appendLog('audit', bytes(2));
      await v.appendLog('other', bytes(3));
      expect(await v.get('audit')).toEqual(bytes(1));
      expect(await v.readLog('audit')).toEqual([bytes(2)]);
      expect(await v.readLog('other')).toEqual([bytes(3)]);
      expect(await v.list()).toEqual(['audit']);
      await v.close();
    });

    it('rotates at the size cap and keeps exactly N rotated segments plus the active one', async () => {
      // 48-byte segment header + 3 records of 40 + 10 bytes = 198 ≤ 200: three records a segment.
      const v = await open({ logSegmentMaxBytes: 200, logKeepSegments: 2 });
      const record = (i: number) => new Uint8Array(10).fill(i);
      for (let i = 1; i <= 20; i++) await v.appendLog('audit', record(i));
      // Segments [1-3] … [16-18] [19-20]: the active one and two rotated ones survive.
      expect(await v.readLog('audit')).toEqual([13, 14, 15, 16, 17, 18, 19, 20].map(record));
      await v.close();
    });

    it('keeps only the active segment when logKeepSegments is 0', async () => {
      const v = await open({ logSegmentMaxBytes: 200, logKeepSegments: 0 });
      for (let i = 1; i <= 7; i++) await v.appendLog('audit', new Uint8Array(10).fill(i));
      expect((await v.readLog('audit')).map((r) => r[0])).toEqual([7]);
      await v.close();
    });

    it('refuses a record that cannot fit one segment, and oversized options', async () => {
      const v = await open({ logSegmentMaxBytes: 200, logKeepSegments: 1 });
      await v.appendLog('audit', new Uint8Array(200 - 48 - 40));
      await expectCode(v.appendLog('audit', new Uint8Array(200 - 48 - 40 + 1)), UsageError, 'STORE_VALUE_TOO_LARGE');
      expect(await v.readLog('audit')).toHaveLength(1);
      await v.close();
      const big = await open();
      await expectCode(big.appendLog('audit', new Uint8Array(STORE_LOG_MAX_RECORD_BYTES + 1)), UsageError, 'STORE_VALUE_TOO_LARGE');
      await big.close();
    });

    it.each([
      [{ logSegmentMaxBytes: 88 }],
      [{ logSegmentMaxBytes: 1.5e3 + 0.5 }],
      [{ logSegmentMaxBytes: 2 ** 31 + 1 }],
      [{ logKeepSegments: -1 }],
      [{ logKeepSegments: 1001 }],
      [{ logKeepSegments: Number.NaN }],
    ])('rejects log options %j', async (options) => {
      await expectCode(open(options as LogOptions), UsageError, 'STORE_BAD_OPTION');
    });
  });
}
