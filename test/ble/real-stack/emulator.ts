/**
 * BlueZ's controller emulator (`btvirt -s`) for the real-stack tests: where set-up.sh put it,
 * starting it (with the AF_ALG emulation preloaded) and stopping it.
 *
 * btvirt's socket paths are fixed (/tmp/bt-server-*); the preload library moves them into a
 * fresh directory per emulator (BT_VIRT_DIR), so test runs from several checkouts on one machine
 * do not meet. Within a run the scenarios share one radio and run in sequence from one test
 * file (real-stack.test.ts), which owns the emulator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(HERE, '../../..');
/** Where setup.sh puts btvirt and the preload library. */
export const CACHE_DIR = process.env.BT_VIRT_CACHE ?? join(ROOT, '.cache/real-stack');
/** The running emulator's socket directory. */
let serverDir: string | null = null;

/**
 * The running emulator's socket for a controller type: `bredrle` (what h4-socket.cjs uses, via
 * BT_VIRT_SERVER) or `le` (LE only: it lacks Read RSSI).
 */
export function serverSocket(kind: 'bredrle' | 'le' = 'bredrle'): string {
  if (serverDir === null) throw new Error('the emulator is not running');
  return join(serverDir, `bt-server-${kind}`);
}

/** Files the emulator needs. */
export const EMULATOR_FILES = { btvirt: join(CACHE_DIR, 'btvirt'), preload: join(CACHE_DIR, 'afalg-preload.so') };

/** Null when the emulator is ready to start, else what is missing and how to enable it (one line). */
export function emulatorMissing(): string | null {
  if (process.platform !== 'linux') return 'BlueZ\'s btvirt runs on Linux only.';
  const missing = Object.values(EMULATOR_FILES).filter((f) => !existsSync(f));
  if (missing.length === 0) return null;
  return 'no BlueZ controller emulator: run "bash test/ble/real-stack/setup.sh" once to enable them.';
}

/** Resolves once something accepts connections on `path`, rejects after `timeoutMs`. */
async function waitListening(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((done) => {
      const s = connect(path);
      s.once('connect', () => {
        s.destroy();
        done(true);
      });
      s.once('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`btvirt did not open ${path} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A running btvirt. */
export interface Emulator {
  /** Kills btvirt (every emulated controller goes with it). */
  stop(): Promise<void>;
}

/**
 * Starts `btvirt -s` with its sockets in a fresh directory, waits for the BR/EDR+LE one and
 * points BT_VIRT_SERVER at it (for this process and the examples it spawns).
 */
export async function startEmulator(): Promise<Emulator> {
  const dir = mkdtempSync(join(tmpdir(), 'btvirt-'));
  serverDir = dir;
  const child: ChildProcess = spawn(EMULATOR_FILES.btvirt, ['-s'], {
    env: { ...process.env, LD_PRELOAD: EMULATOR_FILES.preload, BT_VIRT_DIR: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await Promise.race([
      waitListening(serverSocket(), 5_000),
      exited.then(() => {
        throw new Error(`btvirt exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  process.env.BT_VIRT_SERVER = serverSocket();
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      delete process.env.BT_VIRT_SERVER;
      serverDir = null;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
