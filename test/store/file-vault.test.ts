import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { StoreError, UsageError } from '../../src/errors.js';
import { openFileVault, type FileVaultOptions } from '../../src/store/file-vault.js';
import { expectCode, vaultBehaviour } from './vault-suite.js';

let root = '';
let counter = 0;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'dk-vault-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory path (not created) for one vault. */
const freshDir = () => path.join(root, `v${counter++}`);
const bytes = (...xs: number[]) => Uint8Array.from(xs);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const STATE = 'state';
const seg = (name: string, seq: number) => `log.${name}.${seq.toString(16).padStart(16, '0')}`;
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

vaultBehaviour('file vault', (options) => openFileVault(freshDir(), options));

/** Opens, runs `fill`, closes; returns the directory. */
async function prepared(fill: (v: Awaited<ReturnType<typeof openFileVault>>) => Promise<void>, options?: FileVaultOptions): Promise<string> {
  const dir = freshDir();
  const v = await openFileVault(dir, options);
  await fill(v);
  await v.close();
  return dir;
}

/** Expects opening (and, if it opens, reading log `log`) to fail with STORE_CORRUPT naming `file`. */
async function expectCorrupt(dir: string, file: string, log?: string, options?: FileVaultOptions): Promise<void> {
  const attempt = (async () => {
    const v = await openFileVault(dir, options);
    try {
      if (log !== undefined) await v.readLog(log);
    } finally {
      await v.close();
    }
  })();
  const e = await expectCode(attempt, StoreError, 'STORE_CORRUPT');
  expect(e.message).toContain(path.join(dir, file));
}

/** A state file with a valid checksum around arbitrary header fields and payload. */
function craftState(generation: bigint, payload: Uint8Array, version = 1, reserved = [0, 0, 0]): Uint8Array {
  const header = new Uint8Array(20);
  header.set([0x44, 0x4b, 0x56, 0x53, version, ...reserved]);
  const dv = new DataView(header.buffer);
  dv.setBigUint64(8, generation);
  dv.setUint32(16, payload.length);
  const body = Buffer.concat([header, payload]);
  return Buffer.concat([body, sha256(body)]);
}

/** Start time of `pid` in clock ticks since boot, as the lock records it. */
function startTicks(pid: number): string {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[19]!;
}

const HOSTNAME = readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
const BOOT_ID = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** A live process we can point a lock at, and a way to end it. */
async function liveProcess(): Promise<{ child: ChildProcess; pid: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const closed = new Promise((resolve) => child.once('close', resolve));
  return { child, pid: child.pid!, stop: async () => { child.kill('SIGKILL'); await closed; } };
}

/** The pid of a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return child.pid!;
}

function lockJson(fields: Partial<{ pid: number; hostname: string; bootId: string; startTicks: string; nonce: string }>): string {
  return JSON.stringify({ pid: 1, hostname: HOSTNAME, bootId: BOOT_ID, startTicks: '', nonce: 'feed', ...fields });
}

describe('file vault: persistence and format', () => {
  it('persists entries and logs across reopen; the generation grows by one per commit', async () => {
    const dir = freshDir();
    const v = await openFileVault(dir);
    expect(v.generation).toBe(1);
    await v.putMany([['a', bytes(1)], ['b', bytes(2)]]);
    await v.delete('missing'); // changes nothing, writes nothing
    expect(v.generation).toBe(2);
    await v.delete('b');
    await v.appendLog('audit', bytes(7));
    expect(v.generation).toBe(3);
    await v.close();
    const w = await openFileVault(dir);
    expect(w.generation).toBe(3);
    expect(await w.list()).toEqual(['a']);
    expect(await w.get('a')).toEqual(bytes(1));
    expect(await w.readLog('audit')).toEqual([bytes(7)]);
    await w.close();
  });

  it('persists rotated logs and keeps rotating after reopen', async () => {
    const options = { logSegmentMaxBytes: 200, logKeepSegments: 2 };
    const record = (i: number) => new Uint8Array(10).fill(i);
    const dir = await prepared(async (v) => {
      for (let i = 1; i <= 10; i++) await v.appendLog('audit', record(i));
    }, options);
    const v = await openFileVault(dir, options);
    expect((await v.readLog('audit')).map((r) => r[0])).toEqual([4, 5, 6, 7, 8, 9, 10]);
    for (let i = 11; i <= 20; i++) await v.appendLog('audit', record(i));
    expect((await v.readLog('audit')).map((r) => r[0])).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
    await v.close();
    expect((await readdir(dir)).filter((n) => n.startsWith('log.')).sort()).toEqual([seg('audit', 5), seg('audit', 6), seg('audit', 7)]);
  });

  it('writes the worked examples of docs/STORAGE.md byte for byte', async () => {
    const dir = await prepared(async (v) => {
      await v.put('k', bytes(1, 2, 3));
      await v.appendLog('audit', bytes(0xaa, 0xbb));
    });
    const state = hex(await readFile(path.join(dir, STATE)));
    const log = hex(await readFile(path.join(dir, seg('audit', 1))));
    expect(state).toBe(
      '444b5653010000000000000000000002' + '0000000d00000001016b000000030102' +
        '0312c031d5af2757ec05f01b11c83664' + '5a46ae2be1e3b0194b7c348d14338e5c' + '6b',
    );
    expect(log).toBe(
      '444b4c47010000000000000000000001' + 'f594d7ab5c42f7b76f56c10a2c0693ec' + '73e925357eb6ed3c271e1b5520a92e9c' +
        '000000029b8ddf1eaabbcd4a0046a2eb' + '7b9fcefac60f1e8486adc54f9f9bcb1e' + '7260321fe0804651459b',
    );
    // The spec carries the same bytes (docs/STORAGE.md §Worked examples).
    const doc = (await readFile(path.resolve(import.meta.dirname, '../../docs/STORAGE.md'), 'utf8')).replace(/\s+/g, '');
    expect(doc).toContain(state);
    expect(doc).toContain(log);
  });

  it('accepts a custom checksum (a keyed HMAC) and refuses the vault under another key', async () => {
    const mac = (key: string) => (b: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(b).digest());
    const dir = await prepared(async (v) => {
      await v.put('a', bytes(1));
      await v.appendLog('audit', bytes(2));
    }, { sha256: mac('device key') });
    const v = await openFileVault(dir, { sha256: mac('device key') });
    expect(await v.get('a')).toEqual(bytes(1));
    expect(await v.readLog('audit')).toEqual([bytes(2)]);
    await v.close();
    await expectCorrupt(dir, STATE, undefined, { sha256: mac('attacker key') });
  });

  it.each([
    ['not a function', 'sha256'],
    ['wrong length', (b: Uint8Array) => sha256(b).subarray(0, 16)],
    ['not bytes', () => 'digest'],
  ])('rejects a bad sha256 option (%s)', async (_why, fn) => {
    await expectCode(openFileVault(freshDir(), { sha256: fn as never }), UsageError, 'STORE_BAD_OPTION');
  });

  it.each([[''], [42], [null]])('rejects a bad directory argument (%j)', async (dir) => {
    await expectCode(openFileVault(dir as never), UsageError, 'STORE_BAD_OPTION');
  });
});

describe('file vault: corruption fails closed', () => {
  it('a flipped bit or byte anywhere in the state file is STORE_CORRUPT naming the file', async () => {
    const dir = await prepared((v) => v.putMany([['a', bytes(1, 2)], ['bb', bytes(3)]]));
    const file = path.join(dir, STATE);
    const good = await readFile(file);
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0xff]) {
        const bad = Buffer.from(good);
        bad[i]! ^= mask;
        await writeFile(file, bad);
        await expectCorrupt(dir, STATE);
      }
    }
    await writeFile(file, good);
    const v = await openFileVault(dir);
    expect(await v.get('bb')).toEqual(bytes(3));
    await v.close();
  });

  it('a state file truncated at any length, or with bytes appended, is STORE_CORRUPT', async () => {
    const dir = await prepared((v) => v.put('a', bytes(1, 2, 3)));
    const file = path.join(dir, STATE);
    const good = await readFile(file);
    for (let n = 0; n < good.length; n++) {
      await writeFile(file, good.subarray(0, n));
      await expectCorrupt(dir, STATE);
    }
    await writeFile(file, Buffer.concat([good, Buffer.of(0)]));
    await expectCorrupt(dir, STATE);
  });

  it.each([
    ['names out of order', [0, 0, 0, 2, 1, 0x62, 0, 0, 0, 0, 1, 0x61, 0, 0, 0, 0]],
    ['a repeated name', [0, 0, 0, 2, 1, 0x61, 0, 0, 0, 0, 1, 0x61, 0, 0, 0, 0]],
    ['an invalid name', [0, 0, 0, 1, 1, 0x41, 0, 0, 0, 0]],
    ['a zero-length name', [0, 0, 0, 1, 0, 0, 0, 0, 0]],
    ['a value running past the end', [0, 0, 0, 1, 1, 0x61, 0, 0, 0, 9, 1]],
    ['trailing bytes', [0, 0, 0, 0, 7]],
    ['more entries than bytes', [0, 0, 0, 3]],
  ])('a checksum-valid state with %s is STORE_CORRUPT', async (_why, payload) => {
    const dir = await prepared(async () => undefined);
    await writeFile(path.join(dir, STATE), craftState(5n, Uint8Array.from(payload)));
    await expectCorrupt(dir, STATE);
  });

  it.each([
    ['generation 0', craftState(0n, bytes(0, 0, 0, 0))],
    ['generation beyond 2^53', craftState(2n ** 60n, bytes(0, 0, 0, 0))],
    ['non-zero reserved bytes', craftState(3n, bytes(0, 0, 0, 0), 1, [0, 1, 0])],
  ])('a checksum-valid state with %s is STORE_CORRUPT', async (_why, file) => {
    const dir = await prepared(async () => undefined);
    await writeFile(path.join(dir, STATE), file);
    await expectCorrupt(dir, STATE);
  });

  it('a checksum-valid state of another format version is STORE_VERSION', async () => {
    const dir = await prepared(async () => undefined);
    await writeFile(path.join(dir, STATE), craftState(3n, bytes(0, 0, 0, 0), 2));
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_VERSION');
    expect(e.message).toContain(path.join(dir, STATE));
  });

  it('a state path that is not a regular file is STORE_CORRUPT', async () => {
    const dir = await prepared(async () => undefined);
    await rm(path.join(dir, STATE));
    await mkdir(path.join(dir, STATE));
    await expectCorrupt(dir, STATE);
  });

  it('a missing state file next to log segments is STORE_CORRUPT, never an empty vault', async () => {
    const dir = await prepared((v) => v.appendLog('audit', bytes(1)));
    await rm(path.join(dir, STATE));
    await expectCorrupt(dir, STATE);
  });

  it('a flipped bit or byte anywhere in a log segment is STORE_CORRUPT naming the segment', async () => {
    const dir = await prepared(async (v) => {
      for (const r of [bytes(1), bytes(2, 2), bytes(3, 3, 3)]) await v.appendLog('audit', r);
    });
    const file = path.join(dir, seg('audit', 1));
    const good = await readFile(file);
    for (let i = 0; i < good.length; i++) {
      for (const mask of [0x01, 0xff]) {
        const bad = Buffer.from(good);
        bad[i]! ^= mask;
        await writeFile(file, bad);
        await expectCorrupt(dir, seg('audit', 1), 'audit');
      }
    }
  });

  it('a corrupt segment also stops appends to that log', async () => {
    const dir = await prepared(async (v) => {
      await v.appendLog('audit', bytes(1, 2, 3));
      await v.appendLog('audit', bytes(4));
    });
    const file = path.join(dir, seg('audit', 1));
    const bad = await readFile(file);
    bad[48 + 9]! ^= 1; // payload of the first record: damage mid-log, not a torn tail
    await writeFile(file, bad);
    const v = await openFileVault(dir);
    await expectCode(v.appendLog('audit', bytes(5)), StoreError, 'STORE_CORRUPT');
    await v.close();
  });

  it('a gap in the segment sequence is STORE_CORRUPT at open', async () => {
    const dir = await prepared(async (v) => {
      for (let i = 0; i < 12; i++) await v.appendLog('audit', new Uint8Array(10).fill(i));
    }, { logSegmentMaxBytes: 200, logKeepSegments: 5 });
    await rm(path.join(dir, seg('audit', 2)));
    await expectCorrupt(dir, seg('audit', 3));
  });

  it('a segment with a truncated header is STORE_CORRUPT even as the last segment', async () => {
    const dir = await prepared((v) => v.appendLog('audit', bytes(1)));
    await truncate(path.join(dir, seg('audit', 1)), 47);
    await expectCorrupt(dir, seg('audit', 1), 'audit');
  });
});

describe('file vault: torn log tails', () => {
  const records = [bytes(1), bytes(2, 2), new Uint8Array(50).fill(3)];
  const tailStart = 48 + (40 + 1) + (40 + 2);

  async function threeRecords(): Promise<{ dir: string; file: string; good: Buffer }> {
    const dir = await prepared(async (v) => {
      for (const r of records) await v.appendLog('audit', r);
    });
    const file = path.join(dir, seg('audit', 1));
    return { dir, file, good: await readFile(file) };
  }

  async function readAudit(dir: string): Promise<Uint8Array[]> {
    const v = await openFileVault(dir);
    try {
      return await v.readLog('audit');
    } finally {
      await v.close();
    }
  }

  it('drops a last record cut at any byte, and the next append continues cleanly', async () => {
    const { dir, file, good } = await threeRecords();
    expect(good.length).toBe(tailStart + 40 + 50);
    for (let cut = tailStart + 1; cut < good.length; cut++) {
      await writeFile(file, good.subarray(0, cut));
      expect(await readAudit(dir)).toEqual(records.slice(0, 2));
    }
    // Before appending, the torn tail is cut off, so the new record is not buried after it.
    const v = await openFileVault(dir);
    await v.appendLog('audit', bytes(4));
    expect(await v.readLog('audit')).toEqual([...records.slice(0, 2), bytes(4)]);
    await v.close();
    expect((await stat(file)).size).toBe(tailStart + 40 + 1);
    expect(await readAudit(dir)).toEqual([...records.slice(0, 2), bytes(4)]);
  });

  it('drops a zero-filled tail (an unwritten extent after power loss)', async () => {
    const { dir, file, good } = await threeRecords();
    for (const zeros of [1, 7, 8, 40, 41, 200]) {
      await writeFile(file, Buffer.concat([good, Buffer.alloc(zeros)]));
      expect(await readAudit(dir)).toEqual(records);
    }
    await writeFile(file, Buffer.concat([good.subarray(0, tailStart), Buffer.alloc(good.length - tailStart)]));
    expect(await readAudit(dir)).toEqual(records.slice(0, 2));
  });

  it('drops a complete last record whose checksum never reached the disk', async () => {
    const { dir, file, good } = await threeRecords();
    const bad = Buffer.from(good);
    bad.fill(0, bad.length - 32);
    await writeFile(file, bad);
    expect(await readAudit(dir)).toEqual(records.slice(0, 2));
  });

  it('treats non-zero garbage after the last record as corruption, not a torn tail', async () => {
    const { dir, file, good } = await threeRecords();
    await writeFile(file, Buffer.concat([good, Buffer.alloc(20, 0x55)]));
    await expectCorrupt(dir, seg('audit', 1), 'audit');
  });

  it('treats a torn record in a rotated segment as corruption', async () => {
    const dir = await prepared(async (v) => {
      for (let i = 0; i < 5; i++) await v.appendLog('audit', new Uint8Array(10).fill(i));
    }, { logSegmentMaxBytes: 200, logKeepSegments: 2 });
    const first = path.join(dir, seg('audit', 1));
    await truncate(first, (await stat(first)).size - 5);
    await expectCorrupt(dir, seg('audit', 1), 'audit');
  });
});

describe('file vault: crash leftovers and rollback', () => {
  it('ignores and deletes leftover temp files; they are never the committed state', async () => {
    const dir = await prepared((v) => v.put('a', bytes(1)));
    const dead = await deadPid();
    await writeFile(path.join(dir, '.tmp-0123456789abcdef'), craftState(99n, bytes(0, 0, 0, 0)));
    await writeFile(path.join(dir, '.tmp-torn'), Buffer.of(0x44, 0x4b));
    await writeFile(path.join(dir, `.lock-${dead}-abcd`), lockJson({ pid: dead }));
    await writeFile(path.join(dir, `.stale-${dead}-abcd`), lockJson({ pid: dead }));
    await writeFile(path.join(dir, 'NOTES'), 'not ours');
    const v = await openFileVault(dir);
    expect(await v.get('a')).toEqual(bytes(1));
    expect(v.generation).toBe(2);
    await v.close();
    expect((await readdir(dir)).sort()).toEqual(['NOTES', STATE]);
  });

  it('refuses a state file older than one this process has seen (STORE_ROLLBACK)', async () => {
    const dir = freshDir();
    const v = await openFileVault(dir);
    await v.put('ticket', bytes(1));
    const old = await readFile(path.join(dir, STATE));
    await v.delete('ticket'); // the single-use ticket is spent
    await v.close();
    await writeFile(path.join(dir, STATE), old); // an attacker restores the older copy
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_ROLLBACK');
    expect(e.message).toContain(path.join(dir, STATE));
  });

  it('refuses a deleted state file in a process that saw a later generation', async () => {
    const dir = await prepared((v) => v.put('a', bytes(1)));
    await rm(path.join(dir, STATE));
    await expectCode(openFileVault(dir), StoreError, 'STORE_ROLLBACK');
  });

  it('refuses a generation below minGeneration (a hardware counter)', async () => {
    const dir = await prepared((v) => v.put('a', bytes(1)));
    await expectCode(openFileVault(dir, { minGeneration: 3 }), StoreError, 'STORE_ROLLBACK');
    const v = await openFileVault(dir, { minGeneration: 2 });
    await v.close();
    await expectCode(openFileVault(dir, { minGeneration: -1 }), UsageError, 'STORE_BAD_OPTION');
  });

  it('poisons the vault when a commit may or may not have reached the disk', async () => {
    const dir = freshDir();
    const v = await openFileVault(dir);
    await v.put('a', bytes(1));
    await rm(path.join(dir, STATE));
    await mkdir(path.join(dir, STATE)); // rename over a directory fails after the temp file is written
    const e = (await expectCode(v.put('a', bytes(2)), StoreError, 'STORE_IO')) as StoreError;
    expect(e.mayHaveSucceeded).toBe(true);
    const again = (await expectCode(v.get('a'), StoreError, 'STORE_IO')) as StoreError;
    expect(again.message).toContain('reopened');
    await v.close();
    await expect(stat(path.join(dir, 'LOCK'))).rejects.toThrow();
  });
});

describe('file vault: lock', () => {
  it('holds LOCK (0600, our pid) while open and removes it on close', async () => {
    const dir = freshDir();
    const v = await openFileVault(dir);
    const lock = JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
    expect(lock).toMatchObject({ pid: process.pid, hostname: HOSTNAME, bootId: BOOT_ID, startTicks: startTicks(process.pid) });
    expect((await stat(path.join(dir, 'LOCK'))).mode & 0o777).toBe(0o600);
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_LOCKED');
    expect(e.message).toContain(`pid ${process.pid}`);
    await v.close();
    expect(await readdir(dir)).toEqual([STATE]);
    const w = await openFileVault(dir);
    await w.close();
  });

  it('is STORE_LOCKED while another live process holds it, and taken over once it dies', async () => {
    const dir = await prepared(async (v) => v.put('a', bytes(1)));
    const holder = await liveProcess();
    try {
      await writeFile(path.join(dir, 'LOCK'), lockJson({ pid: holder.pid, startTicks: startTicks(holder.pid) }));
      const e = await expectCode(openFileVault(dir), StoreError, 'STORE_LOCKED');
      expect(e.message).toContain(`pid ${holder.pid}`);
    } finally {
      await holder.stop();
    }
    const v = await openFileVault(dir);
    expect(await v.get('a')).toEqual(bytes(1));
    expect(JSON.parse(await readFile(path.join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await v.close();
  });

  it('takes over a lock whose pid now belongs to a process started at another time (pid reuse)', async () => {
    const dir = await prepared(async () => undefined);
    const holder = await liveProcess();
    try {
      await writeFile(path.join(dir, 'LOCK'), lockJson({ pid: holder.pid, startTicks: '1' }));
      const v = await openFileVault(dir);
      await v.close();
    } finally {
      await holder.stop();
    }
  });

  it('takes over a lock from a previous boot even if its pid is alive now', async () => {
    const dir = await prepared(async () => undefined);
    const holder = await liveProcess();
    try {
      await writeFile(path.join(dir, 'LOCK'), lockJson({ pid: holder.pid, startTicks: startTicks(holder.pid), bootId: 'another-boot' }));
      const v = await openFileVault(dir);
      await v.close();
    } finally {
      await holder.stop();
    }
  });

  it('never judges a lock from another host, even with a dead pid', async () => {
    const dir = await prepared(async () => undefined);
    await writeFile(path.join(dir, 'LOCK'), lockJson({ pid: await deadPid(), hostname: 'other-host' }));
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_LOCKED');
    expect(e.message).toContain('other-host');
  });

  it.each([
    ['empty', ''],
    ['not JSON', 'pid=12'],
    ['pid 0', lockJson({ pid: 0 })],
    ['negative pid', lockJson({ pid: -1 })],
    ['missing fields', JSON.stringify({ pid: 5 })],
  ])('is STORE_LOCKED on an unreadable lock (%s), never silently taken', async (_why, content) => {
    const dir = await prepared(async () => undefined);
    await writeFile(path.join(dir, 'LOCK'), content);
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_LOCKED');
    expect(e.message).toContain('remove it by hand');
  });

  it('does not remove a lock that is no longer ours on close', async () => {
    const dir = freshDir();
    const v = await openFileVault(dir);
    const other = lockJson({ pid: process.pid, nonce: 'someone-else' });
    await writeFile(path.join(dir, 'LOCK'), other);
    await v.close();
    expect(await readFile(path.join(dir, 'LOCK'), 'utf8')).toBe(other);
  });
});

describe('file vault: permissions', () => {
  it('creates missing directories 0700 and every file 0600', async () => {
    const dir = path.join(freshDir(), 'nested', 'vault');
    const v = await openFileVault(dir);
    await v.put('a', bytes(1));
    await v.appendLog('audit', bytes(1));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(dir)) expect((await stat(path.join(dir, name))).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).sort()).toEqual(['LOCK', seg('audit', 1), STATE]);
    await v.close();
  });

  it.each([0o755, 0o750, 0o701, 0o707])('refuses an existing directory with mode %o', async (mode) => {
    const dir = freshDir();
    await mkdir(dir);
    await chmod(dir, mode);
    const e = await expectCode(openFileVault(dir), StoreError, 'STORE_INSECURE');
    expect(e.message).toContain(dir);
    expect(await readdir(dir)).toEqual([]);
  });

  it('initialises an existing empty 0700 directory (e.g. made by an installer)', async () => {
    const dir = freshDir();
    await mkdir(dir, { mode: 0o700 });
    const v = await openFileVault(dir);
    expect(await v.list()).toEqual([]);
    await v.close();
  });

  it('refuses a path that is a file', async () => {
    const file = freshDir();
    await writeFile(file, 'x');
    await expectCode(openFileVault(file), StoreError, 'STORE_IO');
  });
});
