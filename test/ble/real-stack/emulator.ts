/**
 * BlueZ's controller emulator (`btvirt -s`) for the real-stack tests: where set-up.sh put it,
 * starting it (with the AF_ALG emulation preloaded) and stopping it.
 *
 * btvirt's socket paths are fixed (/tmp/bt-server-*), so there is one per machine: the
 * real-stack scenarios all run from one test file (real-stack.test.ts), which owns it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const ROOT = resolve(HERE, '../../..');
/** Where setup.sh puts btvirt and the preload library. */
export const CACHE_DIR = process.env.BT_VIRT_CACHE ?? join(ROOT, '.cache/real-stack');
/** The BR/EDR+LE controller socket (the LE-only one lacks Read RSSI). */
export const SERVER = '/tmp/bt-server-bredrle';

/** Files the emulator needs. */
export const EMULATOR_FILES = { btvirt: join(CACHE_DIR, 'btvirt'), preload: join(CACHE_DIR, 'afalg-preload.so') };

/** Null when the emulator is ready to start, else the one line saying how to enable it. */
export function emulatorMissing(): string | null {
  if (process.platform !== 'linux') return 'real-stack BLE tests skipped: BlueZ\'s btvirt runs on Linux only.';
  const missing = Object.values(EMULATOR_FILES).filter((f) => !existsSync(f));
  if (missing.length === 0) return null;
  return 'real-stack BLE tests skipped (no BlueZ controller emulator): run "bash test/ble/real-stack/setup.sh" once to enable them.';
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

/** Starts `btvirt -s` and waits for its BR/EDR+LE socket. */
export async function startEmulator(): Promise<Emulator> {
  const child: ChildProcess = spawn(EMULATOR_FILES.btvirt, ['-s'], {
    env: { ...process.env, LD_PRELOAD: EMULATOR_FILES.preload },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await Promise.race([
      waitListening(SERVER, 5_000),
      exited.then(() => {
        throw new Error(`btvirt exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
