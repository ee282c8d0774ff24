/**
 * The durable Vault for Node (the vehicle's key module, simulators, CLI tools).
 *
 * Layout of a vault directory (docs/STORAGE.md gives every byte):
 * - `state`: ONE file holding every entry, rewritten whole on each commit. putMany is atomic
 *   across names because a commit is a single rename(2) of a fully written, fsynced temp file.
 * - `log.<name>.<seq>`: append-only log segments, records length-prefixed and checksummed.
 * - `LOCK`: who holds the vault (pid, host, boot id, process start time).
 * - `.tmp-*`: uncommitted writes; a crash may leave them, open() deletes them.
 *
 * Fail closed: a torn, truncated or corrupted state file, or a log record damaged anywhere but
 * at its tail, is StoreError `STORE_CORRUPT` naming the file; the vault never resets itself to
 * empty. Node-only on purpose (node:fs, node:path, node:crypto).
 */

import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { StoreError, UsageError } from '../errors.js';
import {
  STORE_FORMAT_VERSION,
  STORE_LOCK_TAKEOVER_ATTEMPTS,
  STORE_LOG_MAX_RECORD_BYTES,
  STORE_LOG_RECORD_OVERHEAD_BYTES,
  STORE_LOG_SEGMENT_HEADER_BYTES,
  STORE_MAX_NAME_LENGTH,
  STORE_MAX_STATE_BYTES,
  STORE_MAX_VALUE_BYTES,
} from '../constants.js';
import {
  checkEntries,
  checkName,
  checkPrefix,
  compareNames,
  copyRecord,
  copyValue,
  mustRotate,
  resolveLogLimits,
  STATE_COUNT_BYTES,
  stateEntryBytes,
  type LogLimits,
  type LogOptions,
  type Vault,
} from './vault.js';

/** Options of {@link openFileVault}. */
export interface FileVaultOptions extends LogOptions {
  /**
   * The checksum function, SHA-256 by default (node:crypto). Must return 32 bytes. Pass a keyed
   * HMAC-SHA256 (key held in an HSM or keystore) to turn the integrity check into a MAC that
   * also detects deliberate tampering; see docs/STORAGE.md §Threats.
   */
  sha256?: (data: Uint8Array) => Uint8Array;
  /**
   * Lowest acceptable state generation, e.g. read from a hardware monotonic counter. A state
   * file with a lower generation is refused with STORE_ROLLBACK.
   */
  minGeneration?: number;
}

/** A Vault backed by a directory. */
export interface FileVault extends Vault {
  /** Absolute path of the vault directory. */
  readonly dir: string;
  /** Generation of the committed state file; grows by one on every commit. */
  readonly generation: number;
}

// ---------------------------------------------------------------------------------------------
// On-disk format (docs/STORAGE.md §Format)
// ---------------------------------------------------------------------------------------------

const STATE_FILE = 'state';
const LOCK_FILE = 'LOCK';
const TEMP_PREFIX = '.tmp-';
const LOCK_TEMP_PREFIX = '.lock-';
const STALE_PREFIX = '.stale-';
const STATE_MAGIC = [0x44, 0x4b, 0x56, 0x53]; // "DKVS"
const LOG_MAGIC = [0x44, 0x4b, 0x4c, 0x47]; // "DKLG"
const STATE_HEADER_BYTES = 20;
const CHECKSUM_BYTES = 32;
const RECORD_HEADER_BYTES = 8;
const RECORD_CHECK_BYTES = 4;
const SEGMENT_FILE_PATTERN = /^log\.([a-z0-9._-]{1,64})\.([0-9a-f]{16})$/;
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
/** Larger segment files are not read into memory (a log option cannot exceed 2^31 bytes). */
const MAX_SEGMENT_FILE_BYTES = 2 ** 31;

type Hash = (data: Uint8Array) => Uint8Array;

/** Highest state generation seen per vault directory in this process: the rollback guard. */
const highestGeneration = new Map<string, number>();

function corrupt(file: string, what: string): StoreError {
  return new StoreError('STORE_CORRUPT', `vault file ${file} is corrupt: ${what}; refusing to use it (restore it or remove the vault deliberately)`);
}

function ioError(op: string, file: string, cause: unknown, mayHaveSucceeded: boolean): StoreError {
  const code = (cause as { code?: unknown } | null)?.code;
  return new StoreError('STORE_IO', `${op} failed for ${file}${typeof code === 'string' ? ` (${code})` : ''}`, {
    cause,
    retryable: !mayHaveSucceeded,
    mayHaveSucceeded,
  });
}

function errno(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function asBytes(buf: Uint8Array): Uint8Array {
  // A Buffer's slice() is a view; a plain Uint8Array's slice() copies. Work on plain arrays only.
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Reads a u64 that we wrote from a safe integer; anything larger is damage. */
function readU64(b: Uint8Array, off: number): number | null {
  const v = view(b).getBigUint64(off);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? null : Number(v);
}

/** Encodes the state file: header, payload (sorted entries), SHA-256 over both. */
function encodeState(entries: Map<string, Uint8Array>, generation: number, sha256: Hash): Uint8Array {
  const names = [...entries.keys()].sort(compareNames);
  const parts: Uint8Array[] = [u32(names.length)];
  for (const name of names) {
    const value = entries.get(name)!;
    parts.push(Uint8Array.of(name.length), new TextEncoder().encode(name), u32(value.length), value);
  }
  const payload = concat(parts);
  const header = concat([Uint8Array.from(STATE_MAGIC), Uint8Array.of(STORE_FORMAT_VERSION, 0, 0, 0), u64(generation), u32(payload.length)]);
  const body = concat([header, payload]);
  return concat([body, sha256(body)]);
}

/** Decodes and verifies a state file. Every deviation is STORE_CORRUPT naming `file`. */
function decodeState(bytes: Uint8Array, file: string, sha256: Hash): { generation: number; entries: Map<string, Uint8Array> } {
  if (bytes.length < STATE_HEADER_BYTES + STATE_COUNT_BYTES + CHECKSUM_BYTES) throw corrupt(file, `truncated (${bytes.length} bytes)`);
  if (!equalBytes(bytes.subarray(0, 4), Uint8Array.from(STATE_MAGIC))) throw corrupt(file, 'bad magic');
  const payloadLength = view(bytes).getUint32(16);
  if (STATE_HEADER_BYTES + payloadLength + CHECKSUM_BYTES !== bytes.length) {
    throw corrupt(file, `length field says ${payloadLength} payload bytes but the file has ${bytes.length} bytes (torn or truncated)`);
  }
  const bodyEnd = STATE_HEADER_BYTES + payloadLength;
  if (!equalBytes(sha256(bytes.subarray(0, bodyEnd)), bytes.subarray(bodyEnd))) throw corrupt(file, 'checksum mismatch');
  // Checked after the checksum: a version byte damaged by a crash is corruption, not a future format.
  if (bytes[4] !== STORE_FORMAT_VERSION) {
    throw new StoreError('STORE_VERSION', `vault file ${file} has format version ${bytes[4]}; this library reads version ${STORE_FORMAT_VERSION}`);
  }
  if (!allZero(bytes, 5, 8)) throw corrupt(file, 'reserved header bytes are not zero');
  const generation = readU64(bytes, 8);
  if (generation === null || generation < 1) throw corrupt(file, 'generation out of range');
  return { generation, entries: decodePayload(bytes.subarray(STATE_HEADER_BYTES, bodyEnd), file) };
}

/** Strict payload parse: names valid and strictly ascending, lengths in range, no trailing bytes. */
function decodePayload(p: Uint8Array, file: string): Map<string, Uint8Array> {
  const dv = view(p);
  const count = dv.getUint32(0);
  const entries = new Map<string, Uint8Array>();
  let off = STATE_COUNT_BYTES;
  let previous = '';
  for (let i = 0; i < count; i++) {
    if (off + 1 > p.length) throw corrupt(file, `entry ${i} truncated`);
    const nameLength = p[off]!;
    if (nameLength < 1 || nameLength > STORE_MAX_NAME_LENGTH || off + 1 + nameLength + 4 > p.length) throw corrupt(file, `entry ${i} name length`);
    const name = String.fromCharCode(...p.subarray(off + 1, off + 1 + nameLength));
    if (!/^[a-z0-9._-]+$/.test(name) || (i > 0 && compareNames(previous, name) >= 0)) throw corrupt(file, `entry ${i} name invalid or out of order`);
    off += 1 + nameLength;
    const valueLength = dv.getUint32(off);
    off += 4;
    if (valueLength > STORE_MAX_VALUE_BYTES || off + valueLength > p.length) throw corrupt(file, `entry ${i} value length`);
    entries.set(name, p.slice(off, off + valueLength));
    off += valueLength;
    previous = name;
  }
  if (off !== p.length) throw corrupt(file, 'trailing bytes after the last entry');
  return entries;
}

function segmentFileName(name: string, seq: number): string {
  return `log.${name}.${seq.toString(16).padStart(16, '0')}`;
}

/** Log segment header: magic, version, 3 reserved, seq u64, SHA-256 of those 16 bytes. */
function encodeSegmentHeader(seq: number, sha256: Hash): Uint8Array {
  const head = concat([Uint8Array.from(LOG_MAGIC), Uint8Array.of(STORE_FORMAT_VERSION, 0, 0, 0), u64(seq)]);
  return concat([head, sha256(head)]);
}

/**
 * One record: length L (u32), header check (first 4 bytes of SHA-256(seq ‖ L)), payload,
 * SHA-256(seq ‖ L ‖ check ‖ payload). The header check makes the length trustworthy on its own,
 * so a damaged length is told apart from a record whose tail never reached the disk.
 */
function encodeRecord(seq: number, record: Uint8Array, sha256: Hash): Uint8Array {
  const head = concat([u32(record.length), recordHeaderCheck(seq, record.length, sha256)]);
  return concat([head, record, sha256(concat([u64(seq), head, record]))]);
}

function recordHeaderCheck(seq: number, length: number, sha256: Hash): Uint8Array {
  return sha256(concat([u64(seq), u32(length)])).subarray(0, RECORD_CHECK_BYTES);
}

/** A parsed segment: its records and where the valid prefix ends. */
interface ParsedSegment {
  records: Uint8Array[];
  goodBytes: number;
  torn: boolean;
}

/**
 * Parses a log segment. Only the tail may be torn, and only in the shapes a crash leaves
 * (docs/STORAGE.md §Logs): fewer than 8 bytes of a record header; a zero-filled remainder; a
 * record whose verified header promises more bytes than the file has; or a complete record
 * whose checksum field is all zeros and ends the file. Anything else is STORE_CORRUPT: dropping
 * damage in the middle of a log would silently lose audit records.
 */
function parseSegment(bytes: Uint8Array, seq: number, file: string, sha256: Hash, isLast: boolean): ParsedSegment {
  if (bytes.length < STORE_LOG_SEGMENT_HEADER_BYTES) throw corrupt(file, 'segment header truncated');
  const expected = encodeSegmentHeader(seq, sha256);
  if (!equalBytes(bytes.subarray(0, STORE_LOG_SEGMENT_HEADER_BYTES), expected)) {
    const version = bytes[4];
    if (equalBytes(bytes.subarray(0, 4), Uint8Array.from(LOG_MAGIC)) && version !== STORE_FORMAT_VERSION && equalBytes(sha256(bytes.subarray(0, 16)), bytes.subarray(16, 48))) {
      throw new StoreError('STORE_VERSION', `vault file ${file} has format version ${version}; this library reads version ${STORE_FORMAT_VERSION}`);
    }
    throw corrupt(file, 'segment header mismatch');
  }
  const records: Uint8Array[] = [];
  let off = STORE_LOG_SEGMENT_HEADER_BYTES;
  const torn = (what: string): ParsedSegment => {
    if (!isLast) throw corrupt(file, `${what} at offset ${off} in a rotated segment`);
    return { records, goodBytes: off, torn: true };
  };
  while (off < bytes.length) {
    if (bytes.length - off < RECORD_HEADER_BYTES) return torn('partial record header');
    const length = view(bytes).getUint32(off);
    const check = bytes.subarray(off + 4, off + RECORD_HEADER_BYTES);
    if (!equalBytes(check, recordHeaderCheck(seq, length, sha256))) {
      if (allZero(bytes, off, bytes.length)) return torn('zero-filled tail');
      throw corrupt(file, `record header at offset ${off} fails its check`);
    }
    if (length > STORE_LOG_MAX_RECORD_BYTES) throw corrupt(file, `record at offset ${off} too long`);
    const end = off + RECORD_HEADER_BYTES + length + CHECKSUM_BYTES;
    if (end > bytes.length) return torn('partial record');
    const sum = bytes.subarray(end - CHECKSUM_BYTES, end);
    if (!equalBytes(sum, sha256(concat([u64(seq), bytes.subarray(off, end - CHECKSUM_BYTES)])))) {
      if (end === bytes.length && allZero(sum, 0, CHECKSUM_BYTES)) return torn('unwritten record checksum');
      throw corrupt(file, `record at offset ${off} fails its checksum`);
    }
    records.push(bytes.slice(off + RECORD_HEADER_BYTES, end - CHECKSUM_BYTES));
    off = end;
  }
  return { records, goodBytes: off, torn: false };
}

// ---------------------------------------------------------------------------------------------
// Files: atomic replace, directory fsync
// ---------------------------------------------------------------------------------------------

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Writes `bytes` to a new temp file in `dir` (mode 0600) and fsyncs it. The temp file is never
 * the committed state: only the rename in {@link commitFile} makes it so.
 */
async function writeTemp(dir: string, bytes: Uint8Array): Promise<string> {
  const tmp = path.join(dir, `${TEMP_PREFIX}${randomHex(8)}`);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', FILE_MODE);
    await fh.writeFile(bytes);
    await fh.sync();
    await fh.close();
    return tmp;
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw ioError('writing a temp file', tmp, e, false);
  }
}

/** rename(2) is atomic; the directory fsync makes the new name durable (POSIX rename + fsync). */
async function commitFile(dir: string, tmp: string, target: string): Promise<void> {
  try {
    await fsp.rename(tmp, target);
    await fsyncDir(dir);
  } catch (e) {
    throw ioError('committing', target, e, true);
  }
}

async function readChecked(file: string, maxBytes: number): Promise<Uint8Array> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw corrupt(file, 'not a regular file');
    if (st.size > maxBytes) throw corrupt(file, `${st.size} bytes exceeds the ${maxBytes}-byte limit`);
    return asBytes(await fsp.readFile(file));
  } catch (e) {
    if (e instanceof StoreError) throw e;
    if (errno(e) === 'ENOENT') throw corrupt(file, 'file missing');
    throw ioError('reading', file, e, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Lock (docs/STORAGE.md §Lock)
// ---------------------------------------------------------------------------------------------

/** What the LOCK file records about its holder. */
interface LockHolder {
  pid: number;
  hostname: string;
  bootId: string;
  startTicks: string;
  nonce: string;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Process start time in clock ticks since boot (/proc/<pid>/stat field 22), '' if unknown. */
function processStartTicks(pid: number): string {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : '';
}

function selfHolder(nonce: string): LockHolder {
  return {
    pid: process.pid,
    hostname: readText('/proc/sys/kernel/hostname') || readText('/etc/hostname'),
    bootId: readText('/proc/sys/kernel/random/boot_id'),
    startTicks: processStartTicks(process.pid),
    nonce,
  };
}

function parseHolder(bytes: Uint8Array): LockHolder | null {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
    const ok =
      Number.isSafeInteger(v.pid) && (v.pid as number) > 0 &&
      typeof v.hostname === 'string' && typeof v.bootId === 'string' &&
      typeof v.startTicks === 'string' && typeof v.nonce === 'string';
    return ok ? { pid: v.pid as number, hostname: v.hostname as string, bootId: v.bootId as string, startTicks: v.startTicks as string, nonce: v.nonce as string } : null;
  } catch {
    return null;
  }
}

/** Signal 0 probes for existence: ESRCH means no such process, EPERM means it exists. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) !== 'ESRCH';
  }
}

/**
 * The stale-lock rule. A lock is stale only when we can prove its holder is gone: same host
 * (a lock from another host, e.g. over a network mount, is never judged), and either a
 * different boot, or the pid is dead, or the pid now belongs to a process that started at a
 * different time (pid reuse). When in doubt the lock is live.
 */
function isStale(holder: LockHolder, self: LockHolder): boolean {
  if (holder.hostname !== self.hostname) return false;
  if (holder.bootId !== '' && self.bootId !== '' && holder.bootId !== self.bootId) return true;
  if (holder.pid === self.pid) return false;
  if (!pidAlive(holder.pid)) return true;
  const ticks = processStartTicks(holder.pid);
  return holder.startTicks !== '' && ticks !== '' && ticks !== holder.startTicks;
}

function lockedError(file: string, why: string): StoreError {
  return new StoreError('STORE_LOCKED', `vault lock ${file} ${why}`, { retryable: true });
}

/**
 * Takes the vault lock. The holder record is written and fsynced to a private temp file first,
 * then link(2)ed to LOCK: link fails with EEXIST like O_EXCL does, but the lock appears with its
 * content already complete, so a reader never sees an empty or half-written LOCK.
 */
async function acquireLock(dir: string): Promise<LockHolder> {
  const self = selfHolder(randomHex(16));
  const lockFile = path.join(dir, LOCK_FILE);
  const tmp = path.join(dir, `${LOCK_TEMP_PREFIX}${self.pid}-${self.nonce}`);
  const content = new TextEncoder().encode(`${JSON.stringify(self)}\n`);
  try {
    const fh = await fsp.open(tmp, 'wx', FILE_MODE);
    try {
      await fh.writeFile(content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    for (let attempt = 0; attempt < STORE_LOCK_TAKEOVER_ATTEMPTS; attempt++) {
      try {
        await fsp.link(tmp, lockFile);
        await fsyncDir(dir);
        return self;
      } catch (e) {
        if (errno(e) !== 'EEXIST') throw e;
      }
      await takeOverIfStale(dir, lockFile, self);
    }
    throw lockedError(lockFile, 'is contended: another process keeps taking it');
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw ioError('locking', lockFile, e, false);
  } finally {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
  }
}

/**
 * Removes LOCK if its holder is provably gone; throws STORE_LOCKED if it is (or may be) alive.
 * The stale file is first renamed to a private name and compared with what we judged: if
 * another process replaced LOCK in between, we put its lock back and give up.
 */
async function takeOverIfStale(dir: string, lockFile: string, self: LockHolder): Promise<void> {
  let seen: Uint8Array;
  try {
    seen = asBytes(await fsp.readFile(lockFile));
  } catch (e) {
    if (errno(e) === 'ENOENT') return; // released meanwhile: retry the link
    throw e;
  }
  const holder = parseHolder(seen);
  if (holder === null) throw lockedError(lockFile, 'is unreadable; if no process uses this vault, remove it by hand');
  if (!isStale(holder, self)) {
    throw lockedError(lockFile, `is held by pid ${holder.pid} on ${holder.hostname || 'this host'}`);
  }
  const stolen = path.join(dir, `${STALE_PREFIX}${self.pid}-${self.nonce}`);
  try {
    await fsp.rename(lockFile, stolen);
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    throw e;
  }
  const moved = asBytes(await fsp.readFile(stolen));
  if (!equalBytes(moved, seen)) {
    await fsp.link(stolen, lockFile).catch(() => undefined);
    await fsp.rm(stolen, { force: true });
    throw lockedError(lockFile, 'was taken by another process while we removed a stale lock');
  }
  await fsp.rm(stolen, { force: true });
}

/** Removes LOCK if it is still ours (same nonce). */
async function releaseLock(dir: string, self: LockHolder): Promise<void> {
  const lockFile = path.join(dir, LOCK_FILE);
  try {
    const holder = parseHolder(asBytes(await fsp.readFile(lockFile)));
    if (holder?.nonce !== self.nonce) return;
    await fsp.rm(lockFile);
    await fsyncDir(dir);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw ioError('unlocking', lockFile, e, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

/**
 * Opens (creating if needed) the file vault in `dir` and takes its lock.
 *
 * Creates `dir` with mode 0700; an existing directory readable or writable by group or others
 * is refused (StoreError `STORE_INSECURE`). Deletes leftover temp files, verifies the state
 * file and the names of all log segments. Throws StoreError `STORE_LOCKED` if a live process
 * holds the vault, `STORE_CORRUPT` naming the file if anything is damaged, `STORE_ROLLBACK` if
 * the state generation is lower than one this process already saw (or than `minGeneration`).
 */
export async function openFileVault(dir: string, options: FileVaultOptions = {}): Promise<FileVault> {
  if (typeof dir !== 'string' || dir.length === 0) throw new UsageError('STORE_BAD_OPTION', '"dir" must be a non-empty path');
  const sha256 = checkHash(options.sha256);
  const limits = resolveLogLimits(options);
  const minGeneration = options.minGeneration ?? 0;
  if (!Number.isSafeInteger(minGeneration) || minGeneration < 0) {
    throw new UsageError('STORE_BAD_OPTION', '"minGeneration" must be a non-negative safe integer');
  }
  const root = await prepareDir(path.resolve(dir));
  const lock = await acquireLock(root);
  try {
    const files = await scanDir(root);
    const loaded = await loadState(root, files, sha256);
    const floor = Math.max(minGeneration, highestGeneration.get(root) ?? 0);
    if (loaded.generation < floor) {
      throw new StoreError('STORE_ROLLBACK', `vault file ${path.join(root, STATE_FILE)} has generation ${loaded.generation}, lower than ${floor} already seen: an older copy was restored`);
    }
    highestGeneration.set(root, loaded.generation);
    return new FileVaultImpl(root, lock, sha256, limits, loaded.generation, loaded.entries, files.logs);
  } catch (e) {
    await releaseLock(root, lock).catch(() => undefined);
    throw e;
  }
}

function checkHash(fn: unknown): Hash {
  if (fn === undefined) return (b) => new Uint8Array(createHash('sha256').update(b).digest());
  if (typeof fn !== 'function') throw new UsageError('STORE_BAD_OPTION', '"sha256" must be a function');
  const probe: unknown = fn(new Uint8Array(0));
  if (!(probe instanceof Uint8Array) || probe.length !== CHECKSUM_BYTES) {
    throw new UsageError('STORE_BAD_OPTION', '"sha256" must return 32 bytes');
  }
  return (b) => {
    const out: unknown = (fn as Hash)(b);
    if (!(out instanceof Uint8Array) || out.length !== CHECKSUM_BYTES) throw new UsageError('STORE_BAD_OPTION', '"sha256" must return 32 bytes');
    return out;
  };
}

/** Creates the directory 0700 if missing, refuses one that others can read, returns its real path. */
async function prepareDir(dir: string): Promise<string> {
  try {
    const created = await fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });
    if (created !== undefined) await fsp.chmod(dir, DIR_MODE); // the umask may have cleared bits; it never adds any
    const real = await fsp.realpath(dir);
    const st = await fsp.stat(real);
    if (!st.isDirectory()) throw new StoreError('STORE_IO', `vault path ${real} is not a directory`);
    if ((st.mode & 0o077) !== 0) {
      throw new StoreError('STORE_INSECURE', `vault directory ${real} has mode ${(st.mode & 0o777).toString(8)}; it must not be accessible to group or others (chmod 700)`);
    }
    return real;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw ioError('creating the vault directory', dir, e, false);
  }
}

/** What open() found in the directory. */
interface DirScan {
  hasState: boolean;
  logs: Map<string, number[]>;
}

/**
 * Lists the directory (we hold the lock), deletes crash leftovers, and checks that each log's
 * segment numbers are contiguous: rotation deletes oldest first, so a gap is damage.
 */
async function scanDir(dir: string): Promise<DirScan> {
  const names = await fsp.readdir(dir);
  const logs = new Map<string, number[]>();
  let removed = false;
  for (const name of names) {
    if (name.startsWith(TEMP_PREFIX)) {
      await fsp.rm(path.join(dir, name), { force: true }); // an uncommitted write: never the state
      removed = true;
    } else if (name.startsWith(LOCK_TEMP_PREFIX) || name.startsWith(STALE_PREFIX)) {
      const pid = Number(name.slice(name.indexOf('-') + 1).split('-')[0]);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
        await fsp.rm(path.join(dir, name), { force: true });
        removed = true;
      }
    } else {
      const m = SEGMENT_FILE_PATTERN.exec(name);
      if (m !== null) {
        const seqs = logs.get(m[1]!) ?? [];
        seqs.push(Number.parseInt(m[2]!, 16));
        logs.set(m[1]!, seqs);
      }
    }
  }
  if (removed) await fsyncDir(dir);
  for (const [name, seqs] of logs) {
    seqs.sort((a, b) => a - b);
    for (let i = 0; i < seqs.length; i++) {
      if (seqs[i]! < 1 || seqs[i]! > Number.MAX_SAFE_INTEGER || (i > 0 && seqs[i] !== seqs[i - 1]! + 1)) {
        throw corrupt(path.join(dir, segmentFileName(name, seqs[i]!)), `log "${name}" segments are not contiguous`);
      }
    }
  }
  return { hasState: names.includes(STATE_FILE), logs };
}

/**
 * Reads the state file. A directory with neither a state file nor log segments is a new vault
 * and gets an empty state at generation 1. A missing state file next to existing logs is
 * damage: commits only ever rename over the state file, never delete it.
 */
async function loadState(dir: string, scan: DirScan, sha256: Hash): Promise<{ generation: number; entries: Map<string, Uint8Array> }> {
  const file = path.join(dir, STATE_FILE);
  if (scan.hasState) {
    return decodeState(await readChecked(file, STATE_HEADER_BYTES + STORE_MAX_STATE_BYTES + CHECKSUM_BYTES), file, sha256);
  }
  if (scan.logs.size > 0) throw corrupt(file, 'file missing while log segments exist');
  const entries = new Map<string, Uint8Array>();
  await commitFile(dir, await writeTemp(dir, encodeState(entries, 1, sha256)), file);
  return { generation: 1, entries };
}

// ---------------------------------------------------------------------------------------------
// The vault
// ---------------------------------------------------------------------------------------------

/** Per-log bookkeeping. `loaded` is false until the segments have been parsed in this process. */
interface LogState {
  seqs: number[];
  loaded: boolean;
  activeBytes: number;
  activeRecords: number;
}

class FileVaultImpl implements FileVault {
  readonly dir: string;
  #generation: number;
  readonly #lock: LockHolder;
  readonly #sha256: Hash;
  readonly #limits: LogLimits;
  readonly #entries: Map<string, Uint8Array>;
  readonly #logs = new Map<string, LogState>();
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Set when a commit may or may not have reached the disk: in-memory state is then unknown. */
  #failure: StoreError | null = null;

  constructor(dir: string, lock: LockHolder, sha256: Hash, limits: LogLimits, generation: number, entries: Map<string, Uint8Array>, logs: Map<string, number[]>) {
    this.dir = dir;
    this.#lock = lock;
    this.#sha256 = sha256;
    this.#limits = limits;
    this.#generation = generation;
    this.#entries = entries;
    for (const [name, seqs] of logs) this.#logs.set(name, { seqs, loaded: false, activeBytes: 0, activeRecords: 0 });
  }

  get generation(): number {
    return this.#generation;
  }

  async get(name: string): Promise<Uint8Array | null> {
    checkName(name);
    return this.#run(async () => this.#entries.get(name)?.slice() ?? null);
  }

  async put(name: string, value: Uint8Array): Promise<void> {
    // null deletes in putMany, but put is for values only.
    return this.putMany([[name, copyValue(value)]]);
  }

  async putMany(entries: Array<[string, Uint8Array | null]>): Promise<void> {
    const batch = checkEntries(entries);
    return this.#run(() => this.#commit(batch));
  }

  async delete(name: string): Promise<void> {
    return this.putMany([[name, null]]);
  }

  async list(prefix?: string): Promise<string[]> {
    const p = checkPrefix(prefix);
    return this.#run(async () => [...this.#entries.keys()].filter((n) => n.startsWith(p)).sort(compareNames));
  }

  async appendLog(name: string, record: Uint8Array): Promise<void> {
    checkName(name);
    const copy = copyRecord(record, this.#limits);
    return this.#run(() => this.#append(name, copy));
  }

  async readLog(name: string): Promise<Uint8Array[]> {
    checkName(name);
    return this.#run(() => this.#readLog(name));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    await releaseLock(this.dir, this.#lock);
  }

  /** Runs `op` after every earlier operation: calls apply in call order. */
  #run<T>(op: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('STORE_CLOSED', `vault ${this.dir} is closed`));
    const next = this.#queue.then(() => {
      if (this.#failure !== null) {
        throw new StoreError('STORE_IO', `vault ${this.dir} failed earlier and must be reopened`, { cause: this.#failure });
      }
      return op();
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Marks the vault failed when the disk may hold something other than our in-memory view. */
  #poison(e: unknown): never {
    if (e instanceof StoreError && e.mayHaveSucceeded) this.#failure = e;
    throw e;
  }

  /** Commits the next state: whole new state file, temp + fsync + rename + directory fsync. */
  async #commit(batch: Array<[string, Uint8Array | null]>): Promise<void> {
    const next = new Map(this.#entries);
    for (const [name, value] of batch) {
      if (value === null) next.delete(name);
      else next.set(name, value);
    }
    if (batch.every(([n, v]) => v === null && !this.#entries.has(n))) return; // nothing changes
    let size = STATE_COUNT_BYTES;
    for (const [name, value] of next) size += stateEntryBytes(name, value);
    if (size > STORE_MAX_STATE_BYTES) throw new StoreError('STORE_FULL', `vault ${this.dir} state would exceed ${STORE_MAX_STATE_BYTES} bytes`);
    const generation = this.#generation + 1;
    const tmp = await writeTemp(this.dir, encodeState(next, generation, this.#sha256));
    await commitFile(this.dir, tmp, path.join(this.dir, STATE_FILE)).catch((e: unknown) => this.#poison(e));
    this.#entries.clear();
    for (const [name, value] of next) this.#entries.set(name, value);
    this.#generation = generation;
    highestGeneration.set(this.dir, generation);
  }

  /** Parses every segment of a log; a torn tail in the active segment is reported, not repaired. */
  async #parseLog(name: string, st: LogState): Promise<ParsedSegment[]> {
    const parsed: ParsedSegment[] = [];
    for (const [i, seq] of st.seqs.entries()) {
      const file = path.join(this.dir, segmentFileName(name, seq));
      parsed.push(parseSegment(await readChecked(file, MAX_SEGMENT_FILE_BYTES), seq, file, this.#sha256, i === st.seqs.length - 1));
    }
    return parsed;
  }

  async #readLog(name: string): Promise<Uint8Array[]> {
    const st = this.#logs.get(name);
    if (st === undefined) return [];
    return (await this.#parseLog(name, st)).flatMap((p) => p.records);
  }

  /**
   * Before the first append in this process, parses the log and cuts a torn tail: appending
   * after it would bury the damage mid-file, where it must be treated as corruption.
   */
  async #loadLog(name: string, st: LogState): Promise<void> {
    const parsed = await this.#parseLog(name, st);
    const last = parsed[parsed.length - 1];
    if (last !== undefined) {
      if (last.torn) {
        const file = path.join(this.dir, segmentFileName(name, st.seqs[st.seqs.length - 1]!));
        try {
          await fsp.truncate(file, last.goodBytes);
          const fh = await fsp.open(file, 'r+');
          await fh.sync().finally(() => fh.close());
        } catch (e) {
          throw ioError('cutting a torn log tail', file, e, false);
        }
      }
      st.activeBytes = last.goodBytes;
      st.activeRecords = last.records.length;
    }
    st.loaded = true;
  }

  async #append(name: string, record: Uint8Array): Promise<void> {
    let st = this.#logs.get(name);
    if (st === undefined) {
      st = { seqs: [], loaded: true, activeBytes: 0, activeRecords: 0 };
      this.#logs.set(name, st);
    }
    if (!st.loaded) await this.#loadLog(name, st);
    if (st.seqs.length === 0 || mustRotate(st.activeBytes, st.activeRecords, record.length, this.#limits)) {
      await this.#startSegment(name, st);
    }
    const seq = st.seqs[st.seqs.length - 1]!;
    const file = path.join(this.dir, segmentFileName(name, seq));
    const bytes = encodeRecord(seq, record, this.#sha256);
    try {
      const fh = await fsp.open(file, 'a');
      try {
        await fh.writeFile(bytes);
        await fh.datasync();
      } finally {
        await fh.close();
      }
    } catch (e) {
      this.#poison(ioError('appending to', file, e, true));
    }
    st.activeBytes += STORE_LOG_RECORD_OVERHEAD_BYTES + record.length;
    st.activeRecords += 1;
  }

  /** Creates the next segment atomically (header only), then drops segments beyond the keep count. */
  async #startSegment(name: string, st: LogState): Promise<void> {
    const seq = (st.seqs[st.seqs.length - 1] ?? 0) + 1;
    const file = path.join(this.dir, segmentFileName(name, seq));
    const tmp = await writeTemp(this.dir, encodeSegmentHeader(seq, this.#sha256));
    await commitFile(this.dir, tmp, file).catch((e: unknown) => this.#poison(e));
    st.seqs.push(seq);
    st.activeBytes = STORE_LOG_SEGMENT_HEADER_BYTES;
    st.activeRecords = 0;
    // Oldest first, so a crash part-way leaves a contiguous run of segments.
    while (st.seqs.length > this.#limits.keepSegments + 1) {
      const old = path.join(this.dir, segmentFileName(name, st.seqs[0]!));
      try {
        await fsp.rm(old, { force: true });
      } catch (e) {
        this.#poison(ioError('removing an old log segment', old, e, true));
      }
      st.seqs.shift();
    }
    await fsyncDir(this.dir).catch((e: unknown) => this.#poison(ioError('syncing', this.dir, e, true)));
  }
}
