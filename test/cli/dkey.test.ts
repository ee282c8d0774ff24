/**
 * `dkey` end to end, every command a separate process, phones and the key-module daemon talking
 * over the loopback unix socket: init → serve → pair (code from `dkey vehicle pair`) → phone
 * pair → unlock → share → friend accept → friend unlock → owner revokes the friend → friend
 * refused → audit shows each step; then the bad cases (wrong code, unknown vehicle, corrupt or
 * foreign-owned store, daemon not running, --ble with no adapter), each one sentence on stderr
 * and a non-zero exit with nothing lost from the store, a clean SIGTERM shutdown, and the once-only
 * move of a file-vault store to the SQLite store.
 *
 * The CLI is compiled once with tsc (a process through tsx costs ~0.7 s; compiled, ~0.2 s);
 * one test runs the real bin/dkey.js launcher from source.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLegacyStore } from './legacy-store.js';

const ROOT = resolve(__dirname, '../..');
// Inside node_modules so the compiled CLI resolves commander and @noble from the repo.
const BUILD = join(ROOT, 'node_modules', '.cache', 'dkey-cli-test');
const ENTRY = join(BUILD, 'entry.mjs');
const work = mkdtempSync(join(tmpdir(), 'dkey-e2e-'));
const STORE = join(work, 'car');
const SOCKET = join(work, 'car.sock');
const HANDLER_LOG = join(work, 'handler.log');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one dkey command in its own process. */
function dkey(args: string[], entry = ENTRY): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [entry, ...args], { cwd: work, env: { ...process.env, DKEY_TEST_LOG: HANDLER_LOG }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

/** Runs dkey --json and parses stdout; fails the test on a non-zero exit. */
async function json<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await dkey([...args, '--json']);
  expect(r.stderr, `stderr of ${args.join(' ')}`).toBe('');
  expect(r.code, `exit code of ${args.join(' ')}`).toBe(0);
  return JSON.parse(r.stdout) as T;
}

/** A failure: exit `code` and exactly one sentence on stderr, no stack. */
function expectOneSentence(r: Run, code: number, pattern?: RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^[A-Z"].*[.!?]$/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  if (pattern) expect(lines[0]).toMatch(pattern);
}

/** Starts the daemon; resolves once it printed its ready line. */
function startDaemon(args: string[], store = STORE, socket = SOCKET): Promise<{ child: ChildProcess; lines: string[]; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [ENTRY, 'vehicle', 'serve', '--store', store, '--socket', socket, '--json', ...args], {
    cwd: work,
    env: { ...process.env, DKEY_TEST_LOG: HANDLER_LOG },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolveReady, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        if (buf.slice(0, nl).includes('"ready"')) resolveReady({ child, lines, exited });
        buf = buf.slice(nl + 1);
      }
    });
    void exited.then((code) => reject(new Error(`daemon exited with ${code}: ${stderr}`)));
  });
}

/** Every file of a directory with its bytes, to show a failed command changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    try {
      out[name] = readFileSync(join(dir, name)).toString('hex');
    } catch {
      // a directory or a socket
    }
  }
  return out;
}

let daemon: Awaited<ReturnType<typeof startDaemon>> | null = null;

beforeAll(async () => {
  rmSync(BUILD, { recursive: true, force: true });
  await new Promise<void>((done, fail) =>
    execFile(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD, '--declaration', 'false', '--sourceMap', 'false'], (e, out) =>
      e ? fail(new Error(`tsc failed: ${out}`)) : done(),
    ),
  );
  writeFileSync(ENTRY, "import { main } from './cli/main.js';\nprocess.exitCode = await main(process.argv.slice(2));\n");
  // The command handler: unlock/lock succeed and answer, trunk fails, start overruns its deadline.
  const handler = join(work, 'handler.sh');
  writeFileSync(
    handler,
    '#!/bin/sh\ninput=$(cat)\necho "$input" >> "$DKEY_TEST_LOG"\ncase "$input" in\n  *\'"command":"trunk"\'*) exit 7 ;;\n  *\'"command":"start"\'*) sleep 5 ;;\nesac\necho "done"\n',
  );
  chmodSync(handler, 0o755);
}, 120_000);

afterAll(async () => {
  if (daemon) {
    daemon.child.kill('SIGKILL');
    await daemon.exited.catch(() => undefined);
  }
  rmSync(work, { recursive: true, force: true });
});

describe('dkey end to end over the loopback socket', () => {
  let ownerKey = '';
  let friendKey = '';
  let friendPublic = '';
  let vehicleId = '';

  it('init makes the identity; serve starts the daemon with a 0600 control socket', async () => {
    const init = await json<{ vehicleId: string; fingerprint: string; created: boolean }>(['vehicle', 'init', '--store', STORE]);
    expect(init.created).toBe(true);
    expect(init.vehicleId).toMatch(/^[0-9a-f]{32}$/);
    expect(init.fingerprint).toMatch(/^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/);
    vehicleId = init.vehicleId;
    expect((await json<{ created: boolean }>(['vehicle', 'init', '--store', STORE])).created).toBe(false);
    daemon = await startDaemon(['--on-command', join(work, 'handler.sh'), '--handler-timeout', '500']);
    expect(statSync(join(STORE, 'control.sock')).mode & 0o777).toBe(0o600);
    // The SQLite store: 0600 files (the WAL too, while the daemon runs) in a 0700 directory.
    expect(statSync(STORE).mode & 0o777).toBe(0o700);
    expect(readdirSync(STORE).sort()).toEqual(['control.sock', 'identity-key', 'vehicle.db', 'vehicle.db-wal']);
    for (const f of ['vehicle.db', 'vehicle.db-wal']) expect(statSync(join(STORE, f)).mode & 0o777, f).toBe(0o600);
  });

  it('pairs the owner with the code from dkey vehicle pair, then unlocks (handler output comes back)', async () => {
    const window = await json<{ code: string }>(['vehicle', 'pair', '--store', STORE, '--ttl', '60']);
    expect(window.code).toMatch(/^\d{8}$/);
    const owner = await json<{ keyId: string; publicKey: string }>(['phone', 'init', '--home', 'alice']);
    ownerKey = owner.keyId;
    expect(statSync(join(work, 'alice', 'device-key')).mode & 0o777).toBe(0o600);
    const paired = await json<{ vehicleId: string }>(['phone', 'pair', '--home', 'alice', '--socket', SOCKET, '--code', window.code, '--name', 'Alice']);
    expect(paired.vehicleId).toBe(vehicleId);
    const unlock = await json<{ code: string; data: string }>(['phone', 'unlock', '--home', 'alice', '--socket', SOCKET]);
    expect(unlock.code).toBe('OK');
    expect(Buffer.from(unlock.data, 'hex').toString()).toBe('done\n');
    const handled = readFileSync(HANDLER_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(handled.at(-1)).toMatchObject({ command: 'unlock', commandId: 1, keyId: ownerKey, keyName: 'Alice', role: 'owner', path: 'full', userPresent: true, argument: null });
  });

  it('maps the handler outcome: non-zero exit is HANDLER_FAILED, past the deadline HANDLER_TIMEOUT', async () => {
    // A handler that failed may already have actuated: the outcome is unknown (exit 6).
    expectOneSentence(await dkey(['phone', 'trunk', '--home', 'alice', '--socket', SOCKET]), 6, /HANDLER_FAILED.*may have run/);
    expectOneSentence(await dkey(['phone', 'start', '--home', 'alice', '--socket', SOCKET]), 6, /HANDLER_TIMEOUT.*may have run/);
  });

  it('shares with a friend, who accepts and unlocks; the owner revokes the friend, who is then refused', async () => {
    const friend = await json<{ keyId: string; publicKey: string }>(['phone', 'init', '--home', 'bob']);
    friendKey = friend.keyId;
    friendPublic = friend.publicKey;
    const shared = await json<{ text: string; commands: string[] }>(['phone', 'share', '--home', 'alice', '--to', friendPublic, '--commands', 'unlock,lock', '--until', '2d', '--name', 'Bob']);
    expect(shared.commands).toEqual(['unlock', 'lock']);
    const inspected = await json<{ kind: string; fields: { grants: Array<{ commands: string[]; name: string }> } }>(['inspect', shared.text]);
    expect(inspected.kind).toBe('ShareBundle');
    expect(inspected.fields.grants[0]).toMatchObject({ commands: ['unlock', 'lock'], name: 'Bob' });
    expect((await json<{ vehicleId: string }>(['phone', 'accept', '--home', 'bob', shared.text])).vehicleId).toBe(vehicleId);
    expect((await json<{ code: string }>(['phone', 'unlock', '--home', 'bob', '--socket', SOCKET])).code).toBe('OK');
    const keys = await json<Array<{ keyId: string; role: string; name: string }>>(['vehicle', 'keys', '--store', STORE]);
    expect(keys.map((k) => [k.keyId, k.role, k.name])).toEqual([
      [ownerKey, 'owner', 'Alice'],
      [friendKey, 'friend', 'Bob'],
    ]);
    expect((await json<{ revoked: string }>(['phone', 'revoke', '--home', 'alice', '--socket', SOCKET, friendKey.slice(0, 6)])).revoked).toBe(friendKey);
    expectOneSentence(await dkey(['phone', 'unlock', '--home', 'bob', '--socket', SOCKET]), 3, /refused this key/);
  });

  it('audit shows each step, from the daemon and over the air', async () => {
    const audit = await json<Array<{ outcome: string; keyId?: string; commandName?: string; path?: string }>>(['vehicle', 'audit', '--store', STORE]);
    // A refusal of a revoked key names no key (the vehicle no longer knows it): '-' then.
    const steps = audit.map((e) => `${e.outcome} ${e.commandName ?? '-'} ${e.keyId === ownerKey ? 'owner' : e.keyId === friendKey ? 'friend' : '-'}`.replace(/^REJECTED - friend$/, 'REJECTED - -'));
    const expected = ['INITIALISED - -', 'ENROLLED - owner', 'OK unlock owner', 'HANDLER_FAILED trunk owner', 'HANDLER_TIMEOUT start owner', 'OK unlock friend', 'REVOKED - friend', 'OK revokeKey owner', 'REJECTED - -'];
    let at = 0;
    for (const step of steps) if (step === expected[at]) at++;
    expect(at, `audit ${JSON.stringify(steps)}`).toBe(expected.length);
    const overTheAir = await json<Array<{ outcome: string }>>(['phone', 'audit', '--home', 'alice', '--socket', SOCKET]);
    expect(overTheAir.map((e) => e.outcome)).toContain('REVOKED');
  });

  it('suspends and resumes a key through the control socket', async () => {
    await json(['vehicle', 'suspend', '--store', STORE, ownerKey]);
    expectOneSentence(await dkey(['phone', 'lock', '--home', 'alice', '--socket', SOCKET]), 3, /KEY_SUSPENDED|refused/);
    await json(['vehicle', 'resume', '--store', STORE, ownerKey]);
    expect((await json<{ code: string }>(['phone', 'lock', '--home', 'alice', '--socket', SOCKET])).code).toBe('OK');
  });

  it('refuses a wrong pairing code, in one sentence, and enrolls nothing', async () => {
    await json(['vehicle', 'pair', '--store', STORE]);
    await json(['phone', 'init', '--home', 'eve']);
    expectOneSentence(await dkey(['phone', 'pair', '--home', 'eve', '--socket', SOCKET, '--code', '12345678']), 3, /code/);
    expect(await json<unknown[]>(['vehicle', 'keys', '--store', STORE])).toHaveLength(1);
  });

  it('refuses an unknown vehicle and bad flags, in one sentence', async () => {
    // Independent processes: run them side by side to keep the suite short.
    const cases: Array<[string[], RegExp | undefined]> = [
      [['phone', 'unlock', '--home', 'alice', '--socket', SOCKET, '--vehicle', 'deadbeef'], /not paired/],
      [['phone', 'unlock', '--home', 'eve', '--socket', SOCKET], /no car yet/],
      [['phone', 'unlock', '--home', 'bob'], /--socket|--ble/],
      [['vehicle', 'frobnicate'], /See --help/],
      [['vehicle', 'reset', '--store', STORE], /--confirm/],
      [['inspect', 'not-a-message!'], undefined],
    ];
    const runs = await Promise.all(cases.map(([args]) => dkey(args)));
    runs.forEach((r, i) => expectOneSentence(r, 2, cases[i]![1]));
  });

  it('shuts down cleanly on SIGTERM and releases the store', async () => {
    daemon!.child.kill('SIGTERM');
    expect(await daemon!.exited).toBe(0);
    expect(daemon!.lines.some((l) => l.includes('"stopping":"SIGTERM"'))).toBe(true);
    daemon = null;
    // The store lock is released: admin commands now run on the store directly.
    expect(await json<unknown[]>(['vehicle', 'keys', '--store', STORE])).toHaveLength(1);
  });

  it('says the daemon is not running, in one sentence, with nothing lost', async () => {
    const before = snapshot(STORE);
    const [unlock, pair] = await Promise.all([dkey(['phone', 'unlock', '--home', 'alice', '--socket', SOCKET]), dkey(['vehicle', 'pair', '--store', STORE])]);
    expectOneSentence(unlock, 4, /no key module is listening/i);
    expectOneSentence(pair, 4, /daemon/);
    expectOneSentence(await dkey(['vehicle', 'audit', '--store', STORE, '--follow']), 4, /daemon/);
    expect(snapshot(STORE)).toEqual(before);
  });

  it('serve --ble with no adapter fails in one sentence before touching the store', async () => {
    const before = snapshot(STORE);
    expectOneSentence(await dkey(['vehicle', 'serve', '--store', STORE, '--ble']), 4, /Bluetooth|bleno/);
    expect(snapshot(STORE)).toEqual(before);
  });

  it('refuses a corrupt store and a foreign-owned one, in one sentence, changing nothing', async () => {
    const corrupt = join(work, 'corrupt');
    cpSync(STORE, corrupt, { recursive: true, filter: (src) => !src.endsWith('.sock') });
    // Flash damage in the database file: the header of its second page (a B-tree page) flipped.
    const db = join(corrupt, 'vehicle.db');
    const bytes = readFileSync(db);
    for (let i = 4096; i < 4096 + 8; i++) bytes[i]! ^= 0xff;
    writeFileSync(db, bytes);
    const before = snapshot(corrupt);
    expectOneSentence(await dkey(['vehicle', 'keys', '--store', corrupt]), 5, /vehicle\.db is corrupt: .*refusing to use it/);
    expectOneSentence(await dkey(['vehicle', 'serve', '--store', corrupt, '--socket', join(work, 'c.sock')]), 5, /corrupt/);
    expectOneSentence(await dkey(['vehicle', 'init', '--store', corrupt]), 5, /corrupt/);
    expect(snapshot(corrupt)).toEqual(before);
    expectOneSentence(await dkey(['vehicle', 'keys', '--store', join(work, 'nowhere')]), 5, /vehicle init/);

    if (process.getuid?.() !== 0) {
      console.log('skipping the foreign-owner case: it needs root to chown (CI runs as root)');
      return;
    }
    const foreign = join(work, 'foreign');
    cpSync(STORE, foreign, { recursive: true, filter: (src) => !src.endsWith('.sock') });
    chownSync(foreign, 4242, 4242);
    expectOneSentence(await dkey(['vehicle', 'keys', '--store', foreign]), 5, /belongs to user id 4242/);
    // Our directory, someone else's database file: refused too (root could open it).
    chownSync(foreign, 0, 0);
    chownSync(join(foreign, 'vehicle.db'), 4242, 4242);
    expectOneSentence(await dkey(['vehicle', 'keys', '--store', foreign]), 5, /vehicle\.db belongs to user id 4242/);
    chmodSync(join(work, 'bob'), 0o755);
    expectOneSentence(await dkey(['phone', 'cars', '--home', 'bob']), 5, /chmod 700/);
  });

  it('moves a file-vault store (what dkey wrote before SQLite) to SQLite once; the car keeps working on it', async () => {
    const dir = join(work, 'legacy');
    const legacy = await makeLegacyStore(dir, join(work, 'legacy-phone'));
    const vaultBytes = snapshot(join(dir, 'vault'));
    const first = await dkey(['vehicle', 'keys', '--store', dir, '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/^Moved the file-vault store .*\/vault to SQLite \(.*\/vehicle\.db\): 1 key\(s\), 1 ticket\(s\), 1 revocation\(s\), \d+ audit record\(s\); the old files are kept in .*\/file-vault-backup\.\n$/);
    expect((JSON.parse(first.stdout) as Array<{ keyId: string }>).map((k) => k.keyId)).toEqual([legacy.ownerKeyId]);
    expect(existsSync(join(dir, 'vault'))).toBe(false);
    expect(snapshot(join(dir, 'file-vault-backup'))).toEqual(vaultBytes);
    expect(statSync(join(dir, 'vehicle.db')).mode & 0o777).toBe(0o600);
    // Once: the next command says nothing more.
    expect(await json<unknown[]>(['vehicle', 'keys', '--store', dir])).toHaveLength(1);
    const car = await startDaemon([], dir, join(work, 'legacy.sock'));
    try {
      expect((await json<{ code: string; vehicleId: string }>(['phone', 'unlock', '--home', 'legacy-phone', '--socket', join(work, 'legacy.sock')])).vehicleId).toBe(legacy.vehicleId);
      const audit = await json<Array<{ outcome: string; path?: string }>>(['vehicle', 'audit', '--store', dir]);
      expect(audit[0]).toMatchObject({ outcome: 'INITIALISED' });
      // The ticket filed on the file vault skips the full handshake (resumed, or the challenged fast path).
      expect(audit.at(-1)).toMatchObject({ outcome: 'OK', path: expect.stringMatching(/^(fast|resume)$/) });
    } finally {
      car.child.kill('SIGTERM');
      expect(await car.exited).toBe(0);
    }

    // A damaged file vault is not migrated: one sentence, nothing changed.
    const damaged = join(work, 'legacy-damaged');
    await makeLegacyStore(damaged, join(work, 'legacy-damaged-phone'));
    const state = join(damaged, 'vault', 'state');
    const bytes = readFileSync(state);
    bytes[bytes.length - 5]! ^= 0xff;
    writeFileSync(state, bytes);
    const before = snapshot(damaged);
    expectOneSentence(await dkey(['vehicle', 'serve', '--store', damaged, '--socket', join(work, 'd.sock')]), 5, /corrupt|damaged|checksum/i);
    expect(snapshot(damaged)).toEqual(before);
  }, 60_000);

  it('the real launcher runs from a clone through tsx, with --help and exit codes on every command', async () => {
    const r = await dkey(['vehicle', 'pair', '--help'], join(ROOT, 'bin', 'dkey.js'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--ttl <seconds>/);
    expect(r.stdout).toMatch(/Exit codes:/);
    expect(r.stdout).toMatch(/--json/);
    const keys = await dkey(['vehicle', 'keys', '--store', STORE, '--json'], join(ROOT, 'bin', 'dkey.js'));
    expect(keys.code, keys.stderr).toBe(0);
    expect(JSON.parse(keys.stdout)).toHaveLength(1);
  });

  it('doctor reports each check with a one-sentence fix', async () => {
    mkdirSync(join(work, 'open'), { mode: 0o755 });
    chmodSync(join(work, 'open'), 0o755);
    const r = await dkey(['doctor', '--store', join(work, 'open'), '--json']);
    const checks = JSON.parse(r.stdout) as Array<{ name: string; ok: boolean; detail: string }>;
    expect(checks.map((c) => c.name)).toEqual(['node', '@abandonware/noble', '@abandonware/bleno', 'permissions', 'bluetoothd', 'sqlite', 'store']);
    expect(checks.find((c) => c.name === 'sqlite')).toMatchObject({ ok: true, detail: 'better-sqlite3 loads' });
    expect(checks.find((c) => c.name === 'store')).toMatchObject({ ok: false, detail: expect.stringMatching(/chmod 700/) });
    expect(r.code).toBe(5);
  });
});
